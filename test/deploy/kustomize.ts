// biome-ignore-all lint/suspicious/noExplicitAny: rendered manifests are untyped JSON, walked by path
/**
 * A small kustomize renderer for deploy/: the subset of kustomize.config.k8s.io/v1beta1 that
 * deploy/ uses, implemented as kustomize does it, and a refusal for anything else (so that a field this
 * renderer does not know can never be silently skipped in the test):
 *   resources (files, and directories holding a kustomization.yaml), namespace, labels (pairs,
 *   includeSelectors), images (name → newName/newTag), patches (JSON 6902, inline `patch` or `path`
 *   inside the kustomization's directory, with a kind/name target).
 * Debian has no kustomize package; `kubectl apply -k` renders the same manifests.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

export type Manifest = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
};

const KNOWN = new Set(['apiVersion', 'kind', 'namespace', 'labels', 'resources', 'images', 'patches']);
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PriorityClass']);

type Op = { op: 'add' | 'replace' | 'remove' | 'test'; path: string; value?: unknown };

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new Error(`JSON pointer '${path}' must start with /`);
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** RFC 6902 add/replace/remove/test on a plain JSON value (in place). */
export function applyJsonPatch(doc: unknown, ops: Op[]): void {
  for (const op of ops) {
    const keys = pointer(op.path);
    const last = keys.pop();
    if (last === undefined) throw new Error(`patch op on the document root: ${JSON.stringify(op)}`);
    let parent: unknown = doc;
    for (const k of keys) {
      const next = Array.isArray(parent) ? parent[Number(k)] : (parent as Record<string, unknown>)?.[k];
      if (next === undefined || next === null)
        throw new Error(`patch path ${op.path}: '${k}' does not exist`);
      parent = next;
    }
    if (Array.isArray(parent)) {
      const i = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(i) || i < 0 || i > parent.length || (op.op !== 'add' && i >= parent.length))
        throw new Error(`patch path ${op.path}: index ${last} out of range`);
      if (op.op === 'add') parent.splice(i, 0, op.value);
      else if (op.op === 'replace') parent[i] = op.value;
      else if (op.op === 'remove') parent.splice(i, 1);
      else if (JSON.stringify(parent[i]) !== JSON.stringify(op.value))
        throw new Error(`patch test failed: ${op.path}`);
    } else if (parent && typeof parent === 'object') {
      const o = parent as Record<string, unknown>;
      if ((op.op === 'replace' || op.op === 'remove' || op.op === 'test') && !(last in o))
        throw new Error(`patch ${op.op} ${op.path}: no such member`);
      if (op.op === 'add' || op.op === 'replace') o[last] = op.value;
      else if (op.op === 'remove') delete o[last];
      else if (JSON.stringify(o[last]) !== JSON.stringify(op.value))
        throw new Error(`patch test failed: ${op.path}`);
    } else throw new Error(`patch path ${op.path}: parent is not a container`);
  }
}

function within(root: string, p: string): boolean {
  const r = relative(root, p);
  return r !== '' && !r.startsWith('..') && !r.startsWith(sep);
}

/** Render the kustomization in `dir` to its list of manifests, in kustomize's resource order. */
export function kustomize(dir: string): Manifest[] {
  const file = join(dir, 'kustomization.yaml');
  const k = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  for (const key of Object.keys(k))
    if (!KNOWN.has(key)) throw new Error(`${file}: field '${key}' is not supported`);
  if (k.apiVersion !== 'kustomize.config.k8s.io/v1beta1' || k.kind !== 'Kustomization')
    throw new Error(`${file}: not a kustomize.config.k8s.io/v1beta1 Kustomization`);
  const out: Manifest[] = [];
  for (const r of (k.resources ?? []) as string[]) {
    const p = resolve(dir, r);
    if (statSync(p).isDirectory()) out.push(...kustomize(p));
    else {
      if (!within(dir, p))
        throw new Error(`${file}: resource file ${r} is outside the kustomization directory`);
      for (const d of parseAllDocuments(readFileSync(p, 'utf8'))) {
        if (d.errors.length) throw new Error(`${p}: ${d.errors[0]!.message}`);
        const m = d.toJS() as Manifest | null;
        if (m) out.push(m);
      }
    }
  }
  const seen = new Set<string>();
  for (const m of out) {
    const id = `${m.kind}/${m.metadata?.namespace ?? ''}/${m.metadata?.name}`;
    if (seen.has(id)) throw new Error(`${file}: duplicate resource ${id}`);
    seen.add(id);
  }
  if (typeof k.namespace === 'string')
    for (const m of out) if (!CLUSTER_SCOPED.has(m.kind)) m.metadata.namespace = k.namespace;
  for (const l of (k.labels ?? []) as { pairs: Record<string, string>; includeSelectors?: boolean }[]) {
    for (const m of out) {
      m.metadata.labels = { ...(m.metadata.labels ?? {}), ...l.pairs };
      const spec = m.spec as Record<string, any> | undefined;
      if (m.kind === 'Deployment' && spec) {
        spec.template.metadata.labels = { ...(spec.template.metadata.labels ?? {}), ...l.pairs };
        if (l.includeSelectors)
          spec.selector.matchLabels = { ...(spec.selector.matchLabels ?? {}), ...l.pairs };
      }
      if (l.includeSelectors && spec) {
        if (m.kind === 'Service') spec.selector = { ...(spec.selector ?? {}), ...l.pairs };
        if (m.kind === 'PodDisruptionBudget' || m.kind === 'NetworkPolicy') {
          const sel = m.kind === 'NetworkPolicy' ? spec.podSelector : spec.selector;
          sel.matchLabels = { ...(sel.matchLabels ?? {}), ...l.pairs };
        }
        if (m.kind === 'Deployment') {
          for (const c of spec.template.spec.topologySpreadConstraints ?? [])
            c.labelSelector.matchLabels = { ...(c.labelSelector.matchLabels ?? {}), ...l.pairs };
        }
      }
    }
  }
  for (const img of (k.images ?? []) as { name: string; newName?: string; newTag?: string }[]) {
    for (const m of out) {
      const containers = ((m.spec as any)?.template?.spec?.containers ?? []) as { image: string }[];
      for (const c of containers) {
        const [name, tag] = c.image.split(/:(?=[^/]*$)/) as [string, string | undefined];
        if (name !== img.name) continue;
        c.image = `${img.newName ?? name}${(img.newTag ?? tag) ? `:${img.newTag ?? tag}` : ''}`;
      }
    }
  }
  for (const p of (k.patches ?? []) as {
    path?: string;
    patch?: string;
    target?: { kind?: string; name?: string };
  }[]) {
    let text: string;
    if (p.path !== undefined) {
      const pp = resolve(dir, p.path);
      if (!within(dir, pp))
        throw new Error(`${file}: patch ${p.path} is outside the kustomization directory`);
      text = readFileSync(pp, 'utf8');
    } else if (p.patch !== undefined) text = p.patch;
    else throw new Error(`${file}: a patch needs path or patch`);
    const ops = parse(text) as Op[];
    if (!Array.isArray(ops)) throw new Error(`${file}: only JSON 6902 patches (a list of ops) are supported`);
    if (!p.target?.kind) throw new Error(`${file}: a JSON 6902 patch needs a target`);
    const targets = out.filter(
      (m) => m.kind === p.target!.kind && (!p.target!.name || m.metadata.name === p.target!.name),
    );
    if (targets.length === 0)
      throw new Error(`${file}: patch target ${p.target.kind}/${p.target.name} matches nothing`);
    for (const m of targets) applyJsonPatch(m, ops);
  }
  return out;
}

/** Every overlay directory under deploy/overlays. */
export function overlays(deployDir: string): string[] {
  const d = join(deployDir, 'overlays');
  return readdirSync(d)
    .filter((n) => existsSync(join(d, n, 'kustomization.yaml')))
    .sort();
}
