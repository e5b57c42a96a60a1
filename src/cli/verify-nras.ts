/**
 * `wasmvm-tee verify --nras-response r.json --nonce HEX ...`: verify an NVIDIA NRAS detached EAT.
 * `wasmvm-tee verify --gpu-evidence evidence.json [--nonce HEX] ...`: verify GPU evidence locally
 * (nvattest file, NRAS request body, or a list of GpuEvidence objects) against the pinned NVIDIA root.
 * Exit 0 only when every check and the policy pass.
 */
import type { GpuEvidence } from '../tee/index.ts';
import {
  type Check,
  checkNrasJwks,
  collateralCheck,
  createOcspChecker,
  crossCheckNrasWithLocal,
  fetchedJwks,
  isJwks,
  type JwksSource,
  NRAS_PINNED_CA_SPKI_SHA256,
  type NvidiaPolicy,
  normalizeReferenceValues,
  parseCollateralBundle,
  parseNvidiaPolicy,
  pinnedJwks,
  type Verdict,
  validItem,
  verdict,
  verifyGpuEvidence,
  verifyNrasResponse,
  withCollateralChecks,
} from '../verify/index.ts';
import { EXIT, EXIT_TABLE } from './exit-codes.ts';
import { MAX_JSON_INPUT_BYTES, readFileBounded } from './read-bounded.ts';
import { parseArgs, reportUsage, UsageError } from './usage.ts';

export const summary = 'verify an NVIDIA NRAS response or local GPU evidence';

export const help = `Usage:
  wasmvm-tee verify --nras-response r.json --nonce HEX [--nras-jwks jwks.json] [--online] [--now ISO-8601]
                    [--policy p.json] [--issuer URL] [--json]
  wasmvm-tee verify --gpu-evidence evidence.json (--nonce HEX | --no-nonce) [--now ISO-8601]
                    [--policy p.json] [--json]
  wasmvm-tee verify --nras-response r.json --gpu-evidence evidence.json --nonce HEX [options]

Both: the NRAS answer and the local verification of the same evidence, then, per GPU, the named check
nvidia.crosscheck (driver-version, vbios-version, ueid, hwmodel, measres): their claims must agree
(NRAS_CROSSCHECK_MISMATCH fails). A claim one side lacks is "not checked" and fails unless allowed with
--allow-not-checked ID (without RIMs the local side appraises no measurements, so
nvidia.crosscheck.measres is not checked).

--nras-response: an NRAS v3/v4 answer [["JWT", overall], {"GPU-0": token, ...}]. Checks every token's
  ES384 signature against NVIDIA's PINNED NRAS keys (the JWKS NVIDIA published on 2026-06-29), plus keys
  added with --nras-jwks FILE or fetched with --online from
  https://nras.attestation.nvidia.com/.well-known/jwks.json (refetched once on an unknown kid). Every
  signing key, pinned or added, must carry an x5c chain to a pinned NRAS CA ('NVIDIA Attestation Service
  GPU Intermediate 004'; --pin-nras-ca adds one). Then the issuer, exp/nbf at --now, each submod digest,
  eat_nonce == --nonce (bytes), per-GPU error claims, and the policy (default: NVIDIA's remote GPU policy
  for the token's claims version; --policy takes a JSON file with an "nvidia" section
  {"overall-claims", "detached-claims", "gpuCount"} or NVIDIA's own policy file).
--gpu-evidence: nvattest evidence ([{arch, certificate, evidence, nonce}]), an NRAS request body
  ({nonce, evidence_list}) or one evidence object. Checks the SPDM signature (zero padding after it is
  accepted, other trailing bytes are not), the certificate chain to the PINNED NVIDIA Device Identity CA,
  the FWID binding, the nonce (--nonce: the signed nonce must be yours; REQUIRED unless --no-nonce, which
  checks only that the file's nonce equals the signed one and says "freshness NOT checked" in the
  verdict) and, with --policy {"nvidia": {"referenceValues": {...}}}, the measurements. Revocation:
  --ocsp --online asks NVIDIA's OCSP responder; --collateral BUNDLE (with --gpu-evidence) checks it
  offline with the bundle's nvidia-ocsp responses; without either: not checked (offline).

Options:
  --nonce HEX        expected nonce (64 hex digits); required for --nras-response, and for
                     --gpu-evidence unless --no-nonce
  --no-nonce         (--gpu-evidence) do not check freshness: the verdict says so (the evidence may be
                     old or replayed)
  --nras-jwks FILE   add the keys of this JWKS file to the pinned ones (--jwks: same)
  --online           allow network use: fetch the NRAS JWKS, and OCSP with --ocsp. Without it nothing is
                     fetched; the verdict's fields.network says whether the network was used
  --offline          never use the network (the default; kept for scripts)
  --now ISO-8601     verification clock (recorded tokens need one); --at: the same
  --collateral FILE  (--nras-response) an offline collateral bundle: its NRAS JWKS (item
                     nvidia-nras-jwks, 'wasmvm-tee collateral fetch --for r.json') is added to the pinned
                     keys, as the check collateral.nvidia.nras-jwks (missing: "not checked", fails unless
                     --allow-not-checked collateral.nvidia.nras-jwks)
  --policy FILE      policy JSON (see docs/nvidia.md)
  --issuer URL       accepted NRAS issuer (default https://nras.attestation.nvidia.com)
  --pin-nras-ca H    also accept signing keys chaining to the NRAS CA with this SubjectPublicKeyInfo SHA-256
  --ocsp             (--gpu-evidence, needs --online) check revocation with NVIDIA's OCSP responder
  --allow-not-checked ID  (both) accept this not-checked cross-check (repeatable)
  --json             print the verdict as JSON
JSON inputs over ${MAX_JSON_INPUT_BYTES} bytes are rejected unread.
${EXIT_TABLE}`;

export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
  fetch?: typeof fetch;
}

const defaultIo: CliIo = { out: (s) => console.log(s), err: (s) => console.error(s) };

/** The command line as `--name` → value (true for flags), as the code below reads it. */
function parseCommandLine(argv: string[]): Record<string, string | true> {
  const { values } = parseArgs(argv, {
    'nras-response': { type: 'string' },
    'gpu-evidence': { type: 'string' },
    nonce: { type: 'string' },
    jwks: { type: 'string' },
    'nras-jwks': { type: 'string' },
    now: { type: 'string' },
    policy: { type: 'string' },
    issuer: { type: 'string' },
    'pin-nras-ca': { type: 'string' },
    json: { type: 'boolean' },
    ocsp: { type: 'boolean' },
    online: { type: 'boolean' },
    offline: { type: 'boolean' },
    'no-nonce': { type: 'boolean' },
    'allow-not-checked': { type: 'string', multiple: true },
    collateral: { type: 'string' },
    at: { type: 'string' },
  });
  const out: Record<string, string | true> = {};
  for (const [k, v] of Object.entries(values))
    if (v !== undefined && v !== false) out[`--${k}`] = Array.isArray(v) ? v.join('\n') : v;
  return out;
}

/** The NRAS JWKS from an offline collateral bundle, as the check 'collateral.nvidia.nras-jwks'. */
async function jwksFromBundle(path: string, at: Date): Promise<{ jwks?: JwksSource; check: Check }> {
  let bundle: ReturnType<typeof parseCollateralBundle>;
  try {
    bundle = parseCollateralBundle(readJson(path, 'collateral bundle'));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError('BAD_INPUT', `--collateral: ${(e as Error).message}`);
  }
  const id = 'collateral.nvidia.nras-jwks';
  try {
    const item = validItem(bundle, 'nvidia-nras-jwks', 'nras', at);
    const { keys } = await checkNrasJwks(item, at);
    return {
      jwks: pinnedJwks(
        { keys } as Parameters<typeof pinnedJwks>[0],
        `NRAS JWKS from the bundle (fetched ${item.fetchedAt})`,
      ),
      check: {
        id,
        outcome: 'pass',
        detail: `${keys.length} key(s) fetched ${item.fetchedAt} from ${item.source}, each chaining to a pinned NRAS CA`,
      },
    };
  } catch (e) {
    return { check: collateralCheck(id, e) };
  }
}

function allowNotChecked(a: Record<string, string | true>): string[] {
  const v = a['--allow-not-checked'];
  return typeof v === 'string' ? v.split('\n') : [];
}

/**
 * The NRAS verdict, the local one, and for each GPU the cross-check of their claims
 * (crossCheckNrasWithLocal: driver and VBIOS versions, ueid, hwmodel, measurement result). GPUs are
 * paired by ueid when both sides name one, else in order (NRAS GPU-0, GPU-1, … = evidence order).
 */
function crossChecked(nras: Verdict, local: Verdict, allow: readonly string[]): Verdict {
  const nParts = nras.parts ?? [];
  const lParts = local.parts ?? [];
  const ueid = (v: Verdict) => {
    const u = v.fields?.ueid;
    return typeof u === 'string' || typeof u === 'number' ? String(u) : undefined;
  };
  const cross: Verdict[] = [];
  const used = new Set<number>();
  nParts.forEach((n, i) => {
    let j = lParts.findIndex((l, k) => !used.has(k) && ueid(n) !== undefined && ueid(l) === ueid(n));
    if (j < 0 && i < lParts.length && !used.has(i)) j = i;
    if (j < 0) return;
    used.add(j);
    const x = crossCheckNrasWithLocal(n, lParts[j]!, allow);
    cross.push({
      ...x,
      fields: { ...(x.fields ?? {}), name: `${String(n.fields?.name ?? `GPU-${i}`)} ↔ evidence[${j}]` },
    });
  });
  const same = nParts.length === lParts.length && cross.length === nParts.length;
  return verdict(
    'nvidia-nras+local',
    [
      {
        id: 'nvidia.crosscheck.gpu-count',
        outcome: same ? 'pass' : 'fail',
        detail: same
          ? `${nParts.length} GPU(s) in the NRAS answer and in the local evidence, each cross-checked`
          : `NRAS_CROSSCHECK_MISMATCH: the NRAS answer has ${nParts.length} device token(s), the local evidence ${lParts.length} GPU(s); ${cross.length} paired`,
      },
    ],
    { parts: [nras, local, ...cross] },
  );
}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    const r = readFileBounded(path, MAX_JSON_INPUT_BYTES);
    if ('tooLarge' in r)
      throw new UsageError(
        'BAD_INPUT',
        `JSON_INPUT_SIZE: ${r.tooLarge} bytes, over the ${MAX_JSON_INPUT_BYTES}-byte limit (not read)`,
      );
    text = Buffer.from(r.bytes).toString('utf8');
  } catch (e) {
    throw new UsageError('BAD_INPUT', `cannot read ${what} ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError('BAD_INPUT', `${what} ${path} is not JSON`);
  }
}

function parseNow(s: string | true | undefined): Date | undefined {
  if (s === undefined) return undefined;
  const d = new Date(String(s));
  if (Number.isNaN(d.getTime()))
    throw new UsageError('USAGE', `--now '${String(s)}' is not an ISO-8601 time`);
  return d;
}

function parseNonce(s: string | true | undefined, required: boolean): string | undefined {
  if (s === undefined) {
    if (required) throw new UsageError('USAGE', '--nonce HEX is required');
    return undefined;
  }
  const v = String(s);
  if (!/^(0x)?[0-9a-fA-F]{64}$/.test(v))
    throw new UsageError('USAGE', '--nonce must be 64 hex digits (32 bytes)');
  return v.replace(/^0x/, '');
}

/** Evidence list from an nvattest file, an NRAS request body or a single object. */
export function evidenceFromJson(j: unknown): GpuEvidence[] {
  const isEv = (x: unknown): x is GpuEvidence =>
    typeof x === 'object' &&
    x !== null &&
    typeof (x as GpuEvidence).evidence === 'string' &&
    typeof (x as GpuEvidence).certificate === 'string';
  if (Array.isArray(j) && j.every(isEv)) return j;
  if (isEv(j)) return [j];
  if (
    typeof j === 'object' &&
    j !== null &&
    Array.isArray((j as { evidence_list?: unknown }).evidence_list)
  ) {
    const body = j as { nonce?: string; arch?: string; evidence_list: unknown[] };
    if (!body.evidence_list.every(isEv))
      throw new UsageError('BAD_INPUT', 'evidence_list entries need "evidence" and "certificate"');
    return (body.evidence_list as GpuEvidence[]).map((e) => ({
      ...e,
      arch: e.arch ?? body.arch ?? 'HOPPER',
      nonce: e.nonce ?? body.nonce ?? '',
    }));
  }
  if (typeof j === 'object' && j !== null && Array.isArray((j as { gpu?: unknown }).gpu))
    return evidenceFromJson((j as { gpu: unknown }).gpu);
  throw new UsageError(
    'BAD_INPUT',
    'no GPU evidence found (expected [{arch, certificate, evidence, nonce}], {evidence_list}, or {gpu: [...]})',
  );
}

export function formatVerdict(v: Verdict, indent = ''): string[] {
  const lines = [
    `${indent}${v.ok ? 'VERIFIED' : 'REJECTED'} ${v.kind}${v.fields?.name ? ` ${String(v.fields.name)}` : ''}`,
  ];
  for (const c of v.checks)
    lines.push(`${indent}  ${c.outcome.toUpperCase().padEnd(4)} ${c.id}: ${c.detail}`);
  for (const p of v.parts ?? []) lines.push(...formatVerdict(p, `${indent}  `));
  return lines;
}

export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  let verdictOut!: Verdict;
  let json = false;
  const network: string[] = [];
  const countingFetch = (f: typeof fetch): typeof fetch =>
    (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
      network.push(String(input instanceof Request ? input.url : input));
      return f(input, init);
    }) as typeof fetch;
  let online = false;
  try {
    const a = parseCommandLine(argv);
    json = a['--json'] === true;
    online = a['--online'] === true;
    if (online && a['--offline'] === true)
      throw new UsageError('USAGE', 'give --online or --offline, not both');
    if (a['--ocsp'] === true && !online)
      throw new UsageError('USAGE', '--ocsp asks NVIDIA over the network: give --online too');
    const netFetch = countingFetch(io.fetch ?? fetch);
    if (a['--now'] !== undefined && a['--at'] !== undefined)
      throw new UsageError('USAGE', 'give --now or --at, not both');
    const now = parseNow(a['--now'] ?? a['--at']);
    let policyJson: unknown;
    if (typeof a['--policy'] === 'string') policyJson = readJson(a['--policy'], 'policy');
    let nrasVerdict: Verdict | undefined;
    const bundleChecks: Check[] = [];
    if (typeof a['--nras-response'] === 'string') {
      if (a['--no-nonce'] === true)
        throw new UsageError(
          'USAGE',
          '--no-nonce: not with --nras-response (its eat_nonce is always checked)',
        );
      const nonce = parseNonce(a['--nonce'], true)!;
      const response = readJson(a['--nras-response'], 'NRAS response');
      // NVIDIA's pinned keys always; --nras-jwks FILE adds keys; --online fetches NRAS's current JWKS.
      let jwks: JwksSource | undefined;
      const file = a['--nras-jwks'] ?? a['--jwks'];
      if (typeof a['--collateral'] === 'string') {
        if (file !== undefined || online)
          throw new UsageError(
            'USAGE',
            '--collateral is the offline source: not with --nras-jwks or --online',
          );
        const r = await jwksFromBundle(a['--collateral'], now ?? new Date());
        bundleChecks.push(r.check);
        if (r.jwks) jwks = r.jwks;
      } else if (typeof file === 'string') {
        const set = readJson(file, 'JWKS');
        if (!isJwks(set)) throw new UsageError('BAD_INPUT', `${file} is not a JWKS ({"keys": [...]})`);
        jwks = pinnedJwks(set, file);
      } else if (online) jwks = fetchedJwks({ fetch: netFetch });
      let policy: NvidiaPolicy | undefined;
      if (policyJson !== undefined) {
        try {
          policy = parseNvidiaPolicy(policyJson);
        } catch (e) {
          throw new UsageError('BAD_INPUT', `policy: ${(e as Error).message}`);
        }
      }
      const opts: Parameters<typeof verifyNrasResponse>[1] = { nonce };
      if (jwks) opts.jwks = jwks;
      if (now) opts.now = now;
      if (policy) opts.policy = policy;
      if (typeof a['--issuer'] === 'string') opts.issuer = a['--issuer'];
      if (typeof a['--pin-nras-ca'] === 'string') {
        const pins = a['--pin-nras-ca'].split(',').map((x) => x.trim().toLowerCase());
        if (!pins.every((x) => /^[0-9a-f]{64}$/.test(x)))
          throw new UsageError('USAGE', '--pin-nras-ca takes SHA-256 hex values, comma-separated');
        opts.pinnedNrasCaSpkiSha256 = [...NRAS_PINNED_CA_SPKI_SHA256, ...pins];
      }
      nrasVerdict = await verifyNrasResponse(response, opts);
      if (bundleChecks.length > 0)
        nrasVerdict = withCollateralChecks(nrasVerdict, bundleChecks, allowNotChecked(a));
      verdictOut = nrasVerdict;
    }
    if (typeof a['--gpu-evidence'] === 'string') {
      // Freshness by default, like the other verify paths: the nonce you asked for, or an explicit skip.
      const skipNonce = a['--no-nonce'] === true;
      if (skipNonce && a['--nonce'] !== undefined)
        throw new UsageError('USAGE', '--nonce and --no-nonce: give one');
      if (!skipNonce && a['--nonce'] === undefined)
        throw new UsageError(
          'USAGE',
          'no nonce: give the nonce the GPU evidence was requested for (--nonce HEX, 32 bytes) to check freshness, or --no-nonce to skip that check',
        );
      const nonce = parseNonce(a['--nonce'], false);
      const list = evidenceFromJson(readJson(a['--gpu-evidence'], 'GPU evidence'));
      const ref = policyJson === undefined ? undefined : normalizeReferenceValues(policyJson);
      if (policyJson !== undefined && !ref)
        throw new UsageError('USAGE', 'policy has no nvidia.referenceValues for local verification');
      const parts: Verdict[] = [];
      for (const e of list) {
        const o: Parameters<typeof verifyGpuEvidence>[1] = {};
        if (nonce) o.nonce = nonce;
        if (now) o.now = now;
        if (ref) o.referenceValues = ref;
        if (a['--ocsp'] === true) o.ocsp = createOcspChecker({ fetch: netFetch, ...(now ? { now } : {}) });
        parts.push(await verifyGpuEvidence(e, o));
      }
      verdictOut = verdict(
        'nvidia-local-list',
        [
          {
            id: 'nvidia.gpu-count',
            outcome: list.length > 0 ? 'pass' : 'fail',
            detail: `${list.length} GPU(s)`,
          },
          ...(skipNonce
            ? [
                {
                  id: 'nvidia.freshness',
                  outcome: 'skip' as const,
                  detail:
                    'freshness NOT checked (--no-nonce): the evidence may be old or replayed; only its own nonce field was compared with the signed one',
                },
              ]
            : []),
        ],
        { parts, ...(skipNonce ? { fields: { freshness: 'not checked' } } : {}) },
      );
      // Both an NRAS answer and the local evidence: their claims must agree, GPU by GPU.
      if (nrasVerdict) verdictOut = crossChecked(nrasVerdict, verdictOut, allowNotChecked(a));
    } else if (!nrasVerdict) {
      throw new UsageError('USAGE', 'give --nras-response FILE or --gpu-evidence FILE');
    }
  } catch (e) {
    if (e instanceof UsageError) return reportUsage('verify', e, io.err, help);
    throw e;
  }
  const net =
    network.length > 0
      ? { used: true, detail: `network used: ${network.length} request(s) (--online)`, requests: network }
      : { used: false, detail: online ? 'no network used (nothing to fetch)' : 'no network used (offline)' };
  verdictOut = { ...verdictOut, fields: { ...(verdictOut.fields ?? {}), network: net } };
  if (json) io.out(JSON.stringify(verdictOut, null, 2));
  else {
    io.out(formatVerdict(verdictOut).join('\n'));
    for (const p of verdictOut.parts ?? []) {
      const root = p.fields?.root as
        | { subjectFull?: string; sha256?: string; trustedBy?: string }
        | undefined;
      if (root?.sha256)
        io.out(
          `accepted root (${String(p.fields?.name ?? p.kind)}): ${root.subjectFull} sha256 ${root.sha256} (${root.trustedBy})`,
        );
    }
    io.out(`network: ${net.detail}`);
  }
  return verdictOut.ok ? EXIT.OK : EXIT.VERIFICATION_FAILED;
}
