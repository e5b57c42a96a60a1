/**
 * `wasmvm-tee verify --rim FILE ...`: verify NVIDIA reference integrity manifests alone, or GPU evidence
 * against them (`--gpu-evidence FILE --rim DRIVER --rim VBIOS`). Pinned NVIDIA CoRIM root. The RIM
 * signing chains' revocation: NVIDIA's OCSP responder with `--ocsp --online`, a collateral bundle's
 * nvidia-ocsp items with `--collateral`, else not checked (`--offline` allows that).
 */
import { readFileSync } from 'node:fs';
import {
  bundleItem,
  type Check,
  type CollateralBundle,
  type CollateralError,
  createOcspChecker,
  loadReferenceValuesFile,
  nvidiaRimIdsForEvidence,
  ocspFromBundle,
  parseCollateralBundle,
  rimOcspFromBundle,
  rimOcspTargets,
  strictVerdict,
  type Verdict,
  verdict,
  verifyGpuEvidenceWithRims,
  verifyRim,
} from '../verify/index.ts';
import { EXIT, EXIT_TABLE } from './exit-codes.ts';
import { parseArgs, reportUsage, UsageError } from './usage.ts';
import { evidenceFromJson, formatVerdict } from './verify-nras.ts';

export const summary = 'verify NVIDIA RIMs, or GPU evidence against them';

export const help = `Usage:
  wasmvm-tee verify --rim FILE [--rim FILE ...] [--now ISO-8601] [--offline | --ocsp --online | --collateral bundle.json] [--json]
  wasmvm-tee verify --gpu-evidence evidence.json --rim DRIVER_RIM --rim VBIOS_RIM [--nonce HEX] [options]
  wasmvm-tee verify --gpu-evidence evidence.json --collateral bundle.json [--at ISO-8601] [options]

NVIDIA reference integrity manifests (signed SWID XML, as served by NVIDIA's RIM service,
https://rim.attestation.nvidia.com/v1/rim/<id>): checks the enveloped XML signature (C14N 1.1,
SHA-384, ECDSA P-384) and the KeyInfo signing chain to the PINNED "NVIDIA CoRIM signing Root CA" at
--now. With --gpu-evidence, also verifies each GPU's evidence (SPDM signature, device chain to the
pinned NVIDIA Device Identity CA) and compares every ACTIVE RIM measurement with SPDM block index+1,
as NVIDIA's local verifier does; the output lists each index as match / mismatch / missing.
A RIM is a driver RIM or a VBIOS RIM by its version (VBIOS: five hex bytes, 96.00.74.00.1A).

Revocation of each RIM's signing chain (nvidia.rim.chain.revocation): every certificate but the root,
the RIM signing leaf included, must have an OCSP response that says good.
  --ocsp --online           ask NVIDIA's OCSP responder (each certificate's AIA OCSP URL, else
                            https://ocsp.ndis.nvidia.com/); with --gpu-evidence also the device chain's
                            (nvidia.chain.revocation). A failing check says RIM_REVOCATION_FAILED
  --collateral FILE         take them from the bundle's nvidia-ocsp items at --at, with no network: a
                            missing, expired, badly signed, revoked or unknown one fails the check
                            (COLLATERAL_MISSING_ITEM, COLLATERAL_EXPIRED, COLLATERAL_SIGNATURE_INVALID,
                            OCSP_REVOKED, OCSP_UNKNOWN), naming the certificate
  neither                   not checked

A check that could not run is "not checked" and fails the verdict unless allowed:
  --allow-not-checked ID    accept this not-checked check (repeatable), e.g.
                            nvidia.rim.chain.revocation (RIM chain OCSP, offline) or
                            nvidia.rim.driver (no driver RIM given)
  --offline                 shorthand for --allow-not-checked nvidia.rim.chain.revocation and
                            nvidia.chain.revocation: the RIM chains' and the GPU device chain's
                            revocation are left not checked, also with --collateral (a bundle
                            without their OCSP responses)

Options:
  --rim FILE                a RIM (repeatable)
  --collateral FILE         an offline collateral bundle ('wasmvm-tee collateral fetch'): the RIM
                            chains' OCSP responses (above); with --gpu-evidence each GPU's
                            driver and VBIOS RIMs are taken from it by id; a missing item is
                            COLLATERAL_MISSING_ITEM (not checked, fails unless allowed), an item
                            outside its validity at --at is COLLATERAL_EXPIRED. The device chain's
                            revocation (nvidia.chain.revocation) is checked with the bundle's
                            nvidia-ocsp responses at --at: a missing, expired, badly signed, revoked
                            or unknown one fails it (COLLATERAL_MISSING_ITEM, COLLATERAL_EXPIRED,
                            COLLATERAL_SIGNATURE_INVALID, OCSP_REVOKED, OCSP_UNKNOWN); --allow-not-checked
                            nvidia.chain.revocation leaves it not checked instead
  --at ISO-8601             verification time for historical checks (same as --now)
  --gpu-evidence FILE       nvattest evidence ([{arch, certificate, evidence, nonce}]) or NRAS request body
  --nonce HEX               the nonce the evidence must answer (32 bytes); with --gpu-evidence
                            REQUIRED unless --no-nonce
  --no-nonce                do not check the evidence's freshness (the verdict says "freshness NOT
                            checked": the evidence may be old or replayed)
  --now ISO-8601            verification time (default: now); RIM signer certificates live ~2 years,
                            so historical RIMs verify only at a time inside their validity
  --policy FILE             a reference-value policy file (docs/reference-values.md): its nvidia.rimVersions
                            and allowNotChecked apply
  --json                    print the verdict as JSON

Error codes (in the failing check's detail): RIM_MALFORMED, RIM_SIGNATURE_INVALID, RIM_UNKNOWN_SIGNER,
RIM_CHAIN_INVALID, RIM_EXPIRED, RIM_VERSION_MISMATCH, RIM_VERSION_NOT_ALLOWED, RIM_CONFLICT,
RIM_MEASUREMENT_MISMATCH, RIM_REVOCATION_FAILED, RIM_NOT_CHECKED, COLLATERAL_MALFORMED, COLLATERAL_MISSING_ITEM,
COLLATERAL_EXPIRED, COLLATERAL_SIGNATURE_INVALID, OCSP_REVOKED, OCSP_UNKNOWN.
${EXIT_TABLE}
`;

export interface CliIo {
  out(s: string): void;
  err(s: string): void;
  /** The network, for --ocsp --online (default: global fetch). */
  fetch?: typeof fetch;
}
const defaultIo: CliIo = { out: (s) => console.log(s), err: (s) => console.error(s) };

interface Args {
  rims: string[];
  collateral?: string;
  allow: string[];
  gpuEvidence?: string;
  nonce?: string;
  /** --no-nonce: freshness of the GPU evidence explicitly not checked. */
  noNonce?: boolean;
  now?: Date;
  policy?: string;
  /** --ocsp --online: revocation from NVIDIA's OCSP responder. */
  ocspOnline?: boolean;
  json: boolean;
}

function parse(argv: string[]): Args {
  const { values: v } = parseArgs(argv, {
    rim: { type: 'string', multiple: true },
    'allow-not-checked': { type: 'string', multiple: true },
    offline: { type: 'boolean' },
    'gpu-evidence': { type: 'string' },
    nonce: { type: 'string' },
    'no-nonce': { type: 'boolean' },
    collateral: { type: 'string' },
    at: { type: 'string' },
    now: { type: 'string' },
    policy: { type: 'string' },
    ocsp: { type: 'boolean' },
    online: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const a: Args = { rims: v.rim ?? [], allow: [...(v['allow-not-checked'] ?? [])], json: !!v.json };
  if (v.offline) a.allow.push('nvidia.rim.chain.revocation', 'nvidia.chain.revocation');
  if (v['gpu-evidence'] !== undefined) a.gpuEvidence = v['gpu-evidence'];
  if (v.nonce !== undefined) {
    if (!/^(0x)?[0-9a-fA-F]{64}$/.test(v.nonce))
      throw new UsageError('USAGE', '--nonce must be 64 hex digits');
    a.nonce = v.nonce.replace(/^0x/, '');
  }
  if (v['no-nonce']) a.noNonce = true;
  if (v.collateral !== undefined) a.collateral = v.collateral;
  const at = v.now ?? v.at;
  if (at !== undefined) {
    const d = new Date(at);
    if (Number.isNaN(d.getTime())) throw new UsageError('USAGE', `--now '${at}' is not an ISO-8601 time`);
    a.now = d;
  }
  if (v.policy !== undefined) a.policy = v.policy;
  if (a.rims.length === 0 && !a.collateral)
    throw new UsageError('USAGE', 'give at least one --rim FILE (or --collateral)');
  if (a.collateral && !a.gpuEvidence && a.rims.length === 0)
    throw new UsageError('USAGE', '--collateral needs --gpu-evidence or --rim FILE');
  if (v.online && v.offline) throw new UsageError('USAGE', 'give --online or --offline, not both');
  if (v.ocsp && !v.online)
    throw new UsageError('USAGE', '--ocsp asks NVIDIA over the network: give --online too');
  if (v.online && a.collateral)
    throw new UsageError('USAGE', '--collateral is the offline source: not with --online');
  if (v.ocsp) a.ocspOnline = true;
  // Freshness by default, like the other verify paths.
  if (a.noNonce && a.nonce !== undefined) throw new UsageError('USAGE', '--nonce and --no-nonce: give one');
  if (a.gpuEvidence && !a.noNonce && a.nonce === undefined)
    throw new UsageError(
      'USAGE',
      'no nonce: give the nonce the GPU evidence was requested for (--nonce HEX, 32 bytes) to check freshness, or --no-nonce to skip that check',
    );
  return a;
}

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new UsageError('BAD_INPUT', `cannot read ${what} ${file}: ${(e as Error).message}`);
  }
}

export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  let out: Verdict;
  let json = false;
  try {
    const a = parse(argv);
    json = a.json;
    const allow = [...a.allow];
    let rimVersions: string[] | undefined;
    if (a.policy) {
      const p = loadReferenceValuesFile(a.policy);
      allow.push(...(p.allowNotChecked ?? []));
      if (p.nvidia?.rimVersions) rimVersions = [...p.nvidia.rimVersions];
    }
    const rims = a.rims.map((f) => read(f, 'RIM'));
    let bundle: CollateralBundle | undefined;
    if (a.collateral) {
      try {
        bundle = parseCollateralBundle(JSON.parse(read(a.collateral, 'collateral bundle').toString('utf8')));
      } catch (e) {
        if (e instanceof UsageError) throw e;
        throw new UsageError('BAD_INPUT', `--collateral: ${(e as Error).message}`);
      }
    }
    const at = a.now ?? new Date();
    const net = io.fetch ?? fetch;
    // the RIM signing chains' revocation: online (--ocsp --online), from the bundle, or not checked
    // (--offline / --allow-not-checked nvidia.rim.chain.revocation leaves a bundle's items unused)
    const rimOcsp = a.ocspOnline
      ? createOcspChecker({ fetch: net, now: at, targets: rimOcspTargets })
      : bundle && !allow.includes('nvidia.rim.chain.revocation')
        ? rimOcspFromBundle(bundle, at)
        : undefined;
    if (!a.gpuEvidence) {
      const parts = [];
      for (const [i, r] of rims.entries()) {
        const v = (
          await verifyRim(r, {
            ...(a.now ? { now: a.now } : {}),
            allowNotChecked: allow,
            ...(rimVersions ? { allowedVersions: rimVersions } : {}),
            ...(rimOcsp ? { ocsp: rimOcsp } : {}),
          })
        ).verdict;
        parts.push({ ...v, fields: { ...v.fields, file: a.rims[i] } });
      }
      out = verdict('nvidia-rims', [], { parts });
    } else {
      let j: unknown;
      try {
        j = JSON.parse(read(a.gpuEvidence, 'GPU evidence').toString('utf8'));
      } catch (e) {
        if (e instanceof UsageError) throw e;
        throw new UsageError('BAD_INPUT', `GPU evidence ${a.gpuEvidence} is not JSON`);
      }
      let list: ReturnType<typeof evidenceFromJson>;
      try {
        list = evidenceFromJson(j);
      } catch (e) {
        throw new UsageError('BAD_INPUT', (e as Error).message);
      }
      const parts: Verdict[] = [];
      for (const e of list) {
        const gpuRims: (string | Uint8Array)[] = [...rims];
        const checks: Check[] = [];
        if (bundle) {
          let ids: { driver: string; vbios: string } | undefined;
          try {
            ids = nvidiaRimIdsForEvidence(e.evidence);
          } catch (x) {
            checks.push({
              id: 'collateral.nvidia-rim',
              outcome: 'fail',
              detail: `${(x as CollateralError).code}: ${(x as Error).message}`,
            });
          }
          for (const kind of ['driver', 'vbios'] as const) {
            if (!ids) break;
            const id = `collateral.nvidia-rim.${kind}`;
            try {
              const item = bundleItem(bundle, 'nvidia-rim', ids[kind], at);
              gpuRims.push(item.body);
              checks.push({
                id,
                outcome: 'pass',
                detail: `${item.id} from the bundle (fetched ${item.fetchedAt} from ${item.source})`,
              });
            } catch (x) {
              const code = (x as CollateralError).code;
              checks.push(
                code === 'COLLATERAL_MISSING_ITEM'
                  ? { id, outcome: 'skip', detail: `${code}: not checked: ${(x as Error).message}` }
                  : { id, outcome: 'fail', detail: `${code}: ${(x as Error).message}` },
              );
            }
          }
        }
        // the device chain's revocation from the bundle's nvidia-ocsp items, at --at, with no network;
        // --allow-not-checked nvidia.chain.revocation leaves it not checked (a bundle without them)
        const ocsp = a.ocspOnline
          ? createOcspChecker({ fetch: net, now: at })
          : bundle && !allow.includes('nvidia.chain.revocation')
            ? ocspFromBundle(bundle, at)
            : undefined;
        const v = await verifyGpuEvidenceWithRims(e, {
          rims: gpuRims,
          ...(ocsp ? { ocsp } : {}),
          ...(rimOcsp ? { rimOcsp } : {}),
          allowNotChecked: allow,
          ...(a.now ? { now: a.now } : {}),
          ...(a.nonce ? { nonce: a.nonce } : {}),
          ...(rimVersions ? { allowedRimVersions: rimVersions } : {}),
        });
        parts.push(bundle ? strictVerdict('nvidia-collateral', checks, allow, { parts: [v] }) : v);
      }
      out = verdict(
        'nvidia-local+rim-list',
        [
          {
            id: 'nvidia.gpu-count',
            outcome: list.length > 0 ? 'pass' : 'fail',
            detail: `${list.length} GPU(s)`,
          },
          ...(a.noNonce
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
        { parts, ...(a.noNonce ? { fields: { freshness: 'not checked' } } : {}) },
      );
    }
  } catch (e) {
    if (e instanceof UsageError) return reportUsage('verify', e, io.err, help);
    if ((e as { code?: string }).code === 'REFERENCE_VALUES_INVALID') {
      io.err(`wasmvm-tee verify: ${(e as Error).message}\n\n${help}`);
      return EXIT.USAGE;
    }
    throw e;
  }
  if (json) io.out(JSON.stringify(out, null, 2));
  else {
    io.out(formatVerdict(out).join('\n'));
    for (const line of perIndexLines(out)) io.out(line);
  }
  return out.ok ? EXIT.OK : EXIT.VERIFICATION_FAILED;
}

/** Per-index table of every appraisal in the verdict tree. */
function perIndexLines(v: Verdict): string[] {
  const lines: string[] = [];
  const per = v.fields?.perIndex as
    | {
        index: number;
        spdmIndex: number;
        source: string;
        outcome: string;
        actual?: string;
        expected: string[];
      }[]
    | undefined;
  if (per) {
    lines.push('  RIM index  SPDM block  source  result');
    for (const r of per)
      lines.push(
        `  ${String(r.index).padStart(9)}  ${String(r.spdmIndex).padStart(10)}  ${r.source.padEnd(6)}  ${r.outcome}${
          r.outcome === 'mismatch' ? ` (got ${r.actual}, expected ${r.expected.join(' | ')})` : ''
        }`,
      );
  }
  for (const p of v.parts ?? []) lines.push(...perIndexLines(p));
  return lines;
}
