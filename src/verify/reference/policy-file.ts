/**
 * Reference-value policy files (format "wasmvm-tee/reference-values/v1"; docs/reference-values.md,
 * schema docs/reference-values.schema.json): one JSON file pinning what a verifier expects —
 * launch measurements and TCB minimums (SEV-SNP, TDX), NVIDIA RIM versions and GPU reference values,
 * Azure vTPM PCR values, the server build, and whether simulated evidence is acceptable.
 *
 * The loader validates the whole file (unknown keys are errors at every level: a typo must never
 * weaken a policy) and maps it onto the existing per-vendor options: the `snp` section is parsed by
 * parseSnpPolicy, the `tdx` section by parseTdxPolicy — the vendor parsers stay the authority on
 * their sections — and the result has the `{ snp, tdx, nvidia, gpuReferenceValues }` shape that
 * `verifyExecution` and `wasmvm-tee verify --policy` already take.
 *
 * This module runs in Node and in browsers; reading a file (`loadReferenceValuesFile`) is Node-only:
 * ./policy-file-load.ts.
 */

import { WasmvmTeeError } from '../../util/errors.ts';
import type { GpuReferenceValues } from '../nvidia/local.ts';
import { parseSnpPolicy, type SnpPolicy } from '../sev-snp/policy.ts';
import { parseTdxPolicy, type TdxPolicy } from '../tdx/policy.ts';

export const REFERENCE_VALUES_FORMAT = 'wasmvm-tee/reference-values/v1';

export class ReferenceValuesError extends WasmvmTeeError<'REFERENCE_VALUES_INVALID'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('REFERENCE_VALUES_INVALID', message, options);
  }
}

export interface AzurePcrPolicy {
  /** Hash bank of the PCR values. */
  hashAlg: 'sha256' | 'sha384';
  /** PCR index (0..23, as a string key) → accepted values (hex). */
  pcrs: Record<string, string[]>;
}

export interface NvidiaReferenceValues {
  /** Allowed RIM versions (driver versions and VBIOS versions, as in the RIMs' colloquialVersion). */
  rimVersions?: string[];
  /** Plain-JSON GPU reference values (src/verify/nvidia/local.ts), when RIMs are not used. */
  referenceValues?: GpuReferenceValues;
}

export interface ReferenceValues {
  format: typeof REFERENCE_VALUES_FORMAT;
  description?: string;
  /** Accept evidence from wasmvm-tee's SIMULATED TEE (tests/development only). Default false. */
  allowSimulated: boolean;
  /** Check ids that may be "not checked" without failing the verdict. Default: none. */
  allowNotChecked?: string[];
  /** SHA-256 of the server build(s) the image was made from (hex). */
  serverBuildSha256?: string[];
  snp?: SnpPolicy;
  tdx?: TdxPolicy;
  nvidia?: NvidiaReferenceValues;
  azure?: AzurePcrPolicy;
}

const TOP_KEYS = [
  '$schema',
  'format',
  'description',
  'allowSimulated',
  'allowNotChecked',
  'serverBuildSha256',
  'snp',
  'tdx',
  'nvidia',
  'azure',
] as const;
const NVIDIA_KEYS = ['rimVersions', 'referenceValues'] as const;
const GPU_REF_KEYS = ['measurements', 'driverVersions', 'vbiosVersions', 'allowUnlistedIndices'] as const;
const AZURE_KEYS = ['hashAlg', 'pcrs'] as const;

/** The key sets the loader accepts (the schema test compares them with the JSON schema). */
export const REFERENCE_VALUES_KEYS = {
  top: TOP_KEYS,
  nvidia: NVIDIA_KEYS,
  gpuReferenceValues: GPU_REF_KEYS,
  azure: AZURE_KEYS,
} as const;

function bad(path: string, msg: string): never {
  throw new ReferenceValuesError(`${path}: ${msg}`);
}

function obj(v: unknown, path: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(path, 'expected an object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!keys.includes(k)) bad(path, `unknown key '${k}' (known: ${keys.join(', ')})`);
  return o;
}

function strings(v: unknown, path: string, re?: RegExp, what = 'strings'): string[] {
  if (!Array.isArray(v) || v.length === 0) bad(path, `expected a non-empty list of ${what}`);
  return v.map((x, i) => {
    if (typeof x !== 'string' || (re && !re.test(x))) bad(`${path}[${i}]`, `expected ${what}`);
    return x;
  });
}

const hex = (bytes: number) => new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`);

/** Validate a parsed reference-value file. Throws ReferenceValuesError (code REFERENCE_VALUES_INVALID). */
export function parseReferenceValues(input: unknown): ReferenceValues {
  const o = obj(input, 'reference values', TOP_KEYS);
  if (o.format !== REFERENCE_VALUES_FORMAT)
    bad('format', `expected "${REFERENCE_VALUES_FORMAT}", found ${JSON.stringify(o.format)}`);
  const out: ReferenceValues = { format: REFERENCE_VALUES_FORMAT, allowSimulated: false };
  if (o.description !== undefined) {
    if (typeof o.description !== 'string') bad('description', 'expected a string');
    out.description = o.description;
  }
  if (o.allowSimulated !== undefined) {
    if (typeof o.allowSimulated !== 'boolean') bad('allowSimulated', 'expected a boolean');
    out.allowSimulated = o.allowSimulated;
  }
  if (o.allowNotChecked !== undefined)
    out.allowNotChecked = strings(o.allowNotChecked, 'allowNotChecked', /^[a-z0-9.-]+$/, 'check ids');
  if (o.serverBuildSha256 !== undefined)
    out.serverBuildSha256 = strings(o.serverBuildSha256, 'serverBuildSha256', hex(32), '64 hex digits').map(
      (s) => s.toLowerCase(),
    );
  if (o.snp !== undefined) {
    try {
      out.snp = parseSnpPolicy(o.snp);
    } catch (e) {
      bad('snp', (e as Error).message);
    }
  }
  if (o.tdx !== undefined) {
    obj(o.tdx, 'tdx', Object.keys(o.tdx as object)); // an object; parseTdxPolicy checks its keys
    try {
      out.tdx = parseTdxPolicy({ tdx: o.tdx });
    } catch (e) {
      bad('tdx', (e as Error).message);
    }
  }
  if (o.nvidia !== undefined) {
    const n = obj(o.nvidia, 'nvidia', NVIDIA_KEYS);
    const nv: NvidiaReferenceValues = {};
    if (n.rimVersions !== undefined)
      nv.rimVersions = strings(n.rimVersions, 'nvidia.rimVersions', /^[0-9A-Za-z.]+$/, 'version strings');
    if (n.referenceValues !== undefined) {
      const r = obj(n.referenceValues, 'nvidia.referenceValues', GPU_REF_KEYS);
      const rv: GpuReferenceValues = {};
      if (r.measurements !== undefined) {
        const m = obj(
          r.measurements,
          'nvidia.referenceValues.measurements',
          Object.keys(r.measurements as object),
        );
        rv.measurements = {};
        for (const [k, v] of Object.entries(m)) {
          if (!/^\d{1,3}$/.test(k)) bad('nvidia.referenceValues.measurements', `key '${k}' is not an index`);
          rv.measurements[k] = strings(
            typeof v === 'string' ? [v] : v,
            `nvidia.referenceValues.measurements.${k}`,
            /^([0-9a-fA-F]{2})+$/,
            'hex digests',
          ).map((s) => s.toLowerCase());
        }
      }
      if (r.driverVersions !== undefined)
        rv.driverVersions = strings(r.driverVersions, 'nvidia.referenceValues.driverVersions');
      if (r.vbiosVersions !== undefined)
        rv.vbiosVersions = strings(r.vbiosVersions, 'nvidia.referenceValues.vbiosVersions');
      if (r.allowUnlistedIndices !== undefined) {
        if (typeof r.allowUnlistedIndices !== 'boolean')
          bad('nvidia.referenceValues.allowUnlistedIndices', 'expected a boolean');
        rv.allowUnlistedIndices = r.allowUnlistedIndices;
      }
      nv.referenceValues = rv;
    }
    out.nvidia = nv;
  }
  if (o.azure !== undefined) {
    const a = obj(o.azure, 'azure', AZURE_KEYS);
    if (a.hashAlg !== 'sha256' && a.hashAlg !== 'sha384')
      bad('azure.hashAlg', 'expected "sha256" or "sha384"');
    const size = a.hashAlg === 'sha256' ? 32 : 48;
    const p = obj(a.pcrs, 'azure.pcrs', Object.keys((a.pcrs ?? {}) as object));
    const pcrs: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(p)) {
      if (!/^\d{1,2}$/.test(k) || Number(k) > 23) bad('azure.pcrs', `'${k}' is not a PCR index 0..23`);
      pcrs[k] = strings(v, `azure.pcrs.${k}`, hex(size), `${size * 2} hex digits`).map((s) =>
        s.toLowerCase(),
      );
    }
    out.azure = { hashAlg: a.hashAlg, pcrs };
  }
  return out;
}

/** Is this parsed JSON a reference-value file (rather than a legacy per-vendor policy object)? */
export function isReferenceValuesFile(j: unknown): boolean {
  return (
    typeof j === 'object' && j !== null && (j as Record<string, unknown>).format === REFERENCE_VALUES_FORMAT
  );
}

/**
 * The per-vendor policy shape the verifiers take (`verifyExecution`'s `policy`, the CLI's --policy):
 * `{ snp, tdx, nvidia, gpuReferenceValues }`.
 */
export function toVerifierPolicy(rv: ReferenceValues): {
  snp?: SnpPolicy;
  tdx?: TdxPolicy;
  nvidia?: NvidiaReferenceValues;
  gpuReferenceValues?: GpuReferenceValues;
  serverBuildSha256?: string[];
} {
  const out: ReturnType<typeof toVerifierPolicy> = {};
  if (rv.serverBuildSha256) out.serverBuildSha256 = rv.serverBuildSha256;
  if (rv.snp) out.snp = rv.snp;
  if (rv.tdx) out.tdx = rv.tdx;
  if (rv.nvidia) out.nvidia = rv.nvidia;
  if (rv.nvidia?.referenceValues) out.gpuReferenceValues = rv.nvidia.referenceValues;
  return out;
}

/**
 * Pins in the file that no verifier can check yet (reported by the CLI as "not checked", never
 * silently ignored).
 */
export function unenforcedPins(rv: ReferenceValues): { id: string; detail: string }[] {
  const out: { id: string; detail: string }[] = [];
  // serverBuildSha256 is enforced by verifyExecution (check reference.server-build) since the claim and
  // the session REPORT_DATA carry the server build digest.
  if (rv.azure)
    out.push({
      id: 'reference.azure-pcrs',
      detail: 'azure.pcrs is pinned, but this version has no Azure vTPM verifier',
    });
  return out;
}
