// biome-ignore-all lint/suspicious/noExplicitAny: rendered manifests are untyped JSON, walked by path
/**
 * deploy/: every overlay renders (test/deploy/kustomize.ts) and every manifest validates against the
 * Kubernetes OpenAPI schemas (kubernetes-models: types, required fields, enums), plus what the
 * deployment must keep: gRPC-health probes, non-root + read-only root filesystem, resources derived
 * from the server's limits, the simulated TEE only in the kind overlay, the device mounts per overlay.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEFAULT_LIMITS, MAX_LIMITS } from '../../src/engine/index.ts';
import { kustomize, type Manifest, overlays } from './kustomize.ts';

const deployDir = fileURLToPath(new URL('../../deploy/', import.meta.url));

/** kubernetes-models module for an apiVersion/kind: core v1 → v1/Kind, else group/version/Kind. */
async function validate(m: Manifest): Promise<void> {
  const path = m.apiVersion.includes('/') ? `${m.apiVersion}/${m.kind}` : `v1/${m.kind}`;
  const mod = (await import(`kubernetes-models/${path}`)) as Record<
    string,
    new (
      o: unknown,
    ) => { validate(): void }
  >;
  const Model = mod[m.kind];
  assert.ok(Model, `no schema for ${m.apiVersion} ${m.kind}`);
  new Model(m).validate();
}

const all = overlays(deployDir);
const MiB = 1024 * 1024;

function quantity(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|m)?$/.exec(q);
  assert.ok(m, `quantity ${q}`);
  const mult = { Ki: 1024, Mi: MiB, Gi: 1024 * MiB, m: 0.001 }[m[2] as 'Ki'] ?? 1;
  return Number(m[1]) * mult;
}

function deployment(ms: Manifest[]): Record<string, any> {
  const d = ms.find((m) => m.kind === 'Deployment');
  assert.ok(d);
  return d as Record<string, any>;
}

function flag(args: string[], name: string): string | undefined {
  const a = args.find((x) => x === `--${name}` || x.startsWith(`--${name}=`));
  return a === undefined ? undefined : a.includes('=') ? a.slice(a.indexOf('=') + 1) : 'true';
}

test('deploy/overlays: the expected platforms', () => {
  assert.deepEqual(all, ['aks-h100', 'aks-sev-snp', 'gke-sev-snp', 'gke-tdx', 'kind']);
});

for (const name of ['base', ...all]) {
  const dir = name === 'base' ? `${deployDir}base` : `${deployDir}overlays/${name}`;
  test(`${name}: renders and every manifest validates against the Kubernetes schemas`, async () => {
    const ms = kustomize(dir);
    const kinds = ms.map((m) => m.kind).sort();
    assert.deepEqual(kinds, [
      'Deployment',
      'HorizontalPodAutoscaler',
      'Namespace',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'Service',
      'ServiceAccount',
    ]);
    for (const m of ms) await validate(m);
    for (const m of ms) if (m.kind !== 'Namespace') assert.equal(m.metadata.namespace, 'wasmvm-tee', m.kind);

    const d = deployment(ms);
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    // probes speak gRPC health on the API port
    for (const p of ['startupProbe', 'readinessProbe', 'livenessProbe'])
      assert.equal(c[p].grpc.port, 50051, p);
    // non-root, read-only root filesystem, no capabilities, no escalation
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.ok(pod.securityContext.runAsUser > 0);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.equal(c.securityContext.privileged, false);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    // selectors match the pod template
    const labels = d.spec.template.metadata.labels;
    for (const m of ms) {
      const sel =
        m.kind === 'Service'
          ? (m.spec as any).selector
          : m.kind === 'NetworkPolicy'
            ? (m.spec as any).podSelector.matchLabels
            : m.kind === 'PodDisruptionBudget' || m.kind === 'Deployment'
              ? (m.spec as any).selector.matchLabels
              : undefined;
      if (sel)
        for (const [k, v] of Object.entries(sel)) assert.equal(labels[k], v, `${m.kind} selector ${k}`);
    }
    const hpa = ms.find((m) => m.kind === 'HorizontalPodAutoscaler') as any;
    assert.equal(hpa.spec.scaleTargetRef.name, d.metadata.name);
    assert.equal(hpa.spec.metrics[0].pods.metric.name, 'wasmvm_executions_in_flight');
    const svc = ms.find((m) => m.kind === 'Service') as any;
    assert.deepEqual(
      svc.spec.ports.map((p: any) => p.name),
      ['grpc', 'grpc-web'],
    );

    // memory limit covers every concurrent execution's guest memory + worker overhead + the server
    const args: string[] = c.args;
    const conc = Number(flag(args, 'max-concurrency'));
    const pages = Number(flag(args, 'max-memory-pages') ?? DEFAULT_LIMITS.maxMemoryPages);
    assert.ok(conc >= 1 && pages <= MAX_LIMITS.maxMemoryPages);
    const need = conc * (pages * 65536 + 64 * MiB) + 256 * MiB;
    assert.ok(
      quantity(c.resources.limits.memory) >= need,
      `memory limit ${c.resources.limits.memory} < ${need / MiB}Mi`,
    );
    assert.ok(quantity(c.resources.limits.cpu) >= conc / 2);
    // HPA target below the concurrency (scale out before executions queue)
    assert.ok(Number(hpa.spec.metrics[0].pods.target.averageValue) < conc);

    const mounts = new Set<string>(c.volumeMounts.map((v: any) => v.mountPath));
    if (name === 'kind') {
      assert.equal(flag(args, 'tee'), 'simulated');
      assert.equal(flag(args, 'require-hardware'), undefined);
      assert.match(c.image, /^localhost\/wasmvm-tee:dev$/);
    } else {
      assert.equal(flag(args, 'require-hardware'), 'true', `${name} must refuse the simulated TEE`);
      assert.equal(flag(args, 'tee'), name === 'gke-tdx' ? 'configfs-tsm' : undefined);
    }
    if (name === 'gke-sev-snp')
      for (const p of ['/sys/kernel/config/tsm', '/dev/sev-guest']) assert.ok(mounts.has(p), p);
    if (name === 'gke-tdx')
      for (const p of ['/sys/kernel/config/tsm', '/dev/tdx_guest']) assert.ok(mounts.has(p), p);
    if (name.startsWith('aks')) assert.ok(mounts.has('/dev/tpmrm0'));
    if (name === 'aks-h100') assert.equal(c.resources.limits['nvidia.com/gpu'], '1');
    else assert.equal(c.resources.limits['nvidia.com/gpu'], undefined);
    const hostPaths = pod.volumes.filter((v: any) => v.hostPath);
    const ns = ms.find((m) => m.kind === 'Namespace')!;
    // hostPath needs the privileged Pod Security level; without hostPath the namespace stays restricted
    assert.equal(
      ns.metadata.labels?.['pod-security.kubernetes.io/enforce'],
      hostPaths.length ? 'privileged' : 'restricted',
    );
  });
}

test('the renderer refuses what it does not implement and bad patches', async () => {
  const { applyJsonPatch } = await import('./kustomize.ts');
  const doc = { a: [1, 2], b: { c: 1 } };
  applyJsonPatch(doc, [
    { op: 'add', path: '/a/-', value: 3 },
    { op: 'replace', path: '/b/c', value: 2 },
    { op: 'remove', path: '/a/0' },
  ]);
  assert.deepEqual(doc, { a: [2, 3], b: { c: 2 } });
  assert.throws(() => applyJsonPatch(doc, [{ op: 'replace', path: '/b/zz', value: 1 }]), /no such member/);
  assert.throws(() => applyJsonPatch(doc, [{ op: 'remove', path: '/a/7' }]), /out of range/);
  assert.throws(() => applyJsonPatch(doc, [{ op: 'add', path: '/q/r', value: 1 }]), /does not exist/);
});
