/**
 * Host policy: rules applied to the evidence the host just produced, before a guest sees
 * `success: true`. Loaded from JSON (`--policy p.json`); every field optional, defaults are strict.
 * The same file may instead be a reference-value policy file (format "wasmvm-tee/reference-values/v1",
 * docs/reference-values.md), the one `wasmvm-tee verify --policy` takes: its SEV-SNP / TDX sections
 * (pinned measurements, TCB minimums, ...) are handed to the CPU verifier, whose verdict gates
 * attest_vm; its NVIDIA RIM versions pin the GPU's driver and VBIOS versions for attest_gpu; its
 * GPU reference values are appraised; allowSimulated is taken as is.
 */
import { readFileSync } from 'node:fs';
import { TEE_KINDS, type TeeKind } from '../binding/index.ts';
import {
  type Check,
  isReferenceValuesFile,
  parseReferenceValues,
  type ReferenceValues,
  type Verdict,
} from '../verify/index.ts';
import { HostError } from './errors.ts';

export interface HostPolicy {
  /** Accept the simulated TEE / simulated GPU (default false). */
  allowSimulated: boolean;
  /** Accept debug-enabled guests (SEV-SNP policy DEBUG, TDX TD_ATTRIBUTES.DEBUG) (default false). */
  allowDebug: boolean;
  /** The verifier's verdict on the evidence must be ok (default true). */
  requireVerifiedEvidence: boolean;
  /** Accepted CPU TEE kinds (default: any). */
  allowedTeeTypes?: TeeKind[];
  /** Accepted launch measurements, hex (SEV-SNP MEASUREMENT / TDX MRTD) (default: any). */
  allowedMeasurements?: string[];
  gpu: {
    /** The GPU verifier's verdict must be ok, which includes the RIM measurement match (default true). */
    requireMeasurementMatch: boolean;
    /** Accepted GPU models/architectures (default: any), matched against the verdict fields. */
    allowedArchitectures?: string[];
    /**
     * Reference values (RIM digests) handed to the GPU verifier: `{ measurements: { "<index>": "<hex>" |
     * ["<hex>", ...] }, driverVersions?, vbiosVersions?, allowUnlistedIndices? }`. Without them the
     * measurements are not appraised and requireMeasurementMatch refuses the GPU.
     */
    referenceValues?: Record<string, unknown>;
    /** Accepted driver and VBIOS versions (a reference-value file's nvidia.rimVersions). */
    rimVersions?: string[];
  };
  /**
   * From a reference-value file: its vendor sections, handed to the CPU verifier (attest_vm) — not a
   * key of the host policy JSON itself.
   */
  referenceValues?: ReferenceValues;
}

/** The host policy a reference-value file means (see the module comment). */
export function hostPolicyFromReferenceValues(rv: ReferenceValues): HostPolicy {
  const sections = [rv.snp, rv.tdx].filter((x) => x !== undefined);
  const p: HostPolicy = {
    allowSimulated: rv.allowSimulated,
    // the host's own debug gate follows the vendor sections; each kind's verifier policy still decides
    allowDebug: sections.length > 0 && sections.some((x) => x.allowDebug === true),
    requireVerifiedEvidence: true,
    gpu: { requireMeasurementMatch: true },
    referenceValues: rv,
  };
  if (rv.nvidia?.referenceValues)
    p.gpu.referenceValues = rv.nvidia.referenceValues as unknown as Record<string, unknown>;
  if (rv.nvidia?.rimVersions) p.gpu.rimVersions = [...rv.nvidia.rimVersions];
  return p;
}

export const DEFAULT_POLICY: HostPolicy = {
  allowSimulated: false,
  allowDebug: false,
  requireVerifiedEvidence: true,
  gpu: { requireMeasurementMatch: true },
};

export class HostPolicyError extends HostError<'INVALID_POLICY'> {
  constructor(message: string) {
    super('INVALID_POLICY', message);
  }
}

const KNOWN = new Set([
  'allowSimulated',
  'allowDebug',
  'requireVerifiedEvidence',
  'allowedTeeTypes',
  'allowedMeasurements',
  'gpu',
]);

/** Validate and complete a policy object (unknown keys are an error, so typos do not weaken it). */
export function parsePolicy(input: unknown): HostPolicy {
  if (input === undefined || input === null) return structuredClone(DEFAULT_POLICY);
  if (isReferenceValuesFile(input)) {
    try {
      return hostPolicyFromReferenceValues(parseReferenceValues(input));
    } catch (e) {
      throw new HostPolicyError(`reference-value policy: ${(e as Error).message}`);
    }
  }
  if (typeof input !== 'object' || Array.isArray(input))
    throw new HostPolicyError('policy must be a JSON object');
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) throw new HostPolicyError(`unknown policy key '${k}'`);
  const bool = (k: string, d: boolean): boolean => {
    if (o[k] === undefined) return d;
    if (typeof o[k] !== 'boolean') throw new HostPolicyError(`policy.${k} must be a boolean`);
    return o[k] as boolean;
  };
  const strList = (v: unknown, k: string): string[] | undefined => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
      throw new HostPolicyError(`policy.${k} must be strings`);
    return v as string[];
  };
  const tee = strList(o.allowedTeeTypes, 'allowedTeeTypes');
  if (tee?.some((t) => !(TEE_KINDS as readonly string[]).includes(t)))
    throw new HostPolicyError(`allowedTeeTypes: ${TEE_KINDS.map((k) => `'${k}'`).join(' | ')}`);
  const meas = strList(o.allowedMeasurements, 'allowedMeasurements')?.map((m) => m.toLowerCase());
  if (meas?.some((m) => !/^[0-9a-f]{96}$/.test(m))) {
    throw new HostPolicyError('allowedMeasurements: 48-byte hex strings (96 hex digits)');
  }
  const g = (o.gpu ?? {}) as Record<string, unknown>;
  if (typeof g !== 'object' || Array.isArray(g)) throw new HostPolicyError('policy.gpu must be an object');
  for (const k of Object.keys(g)) {
    if (
      k !== 'requireMeasurementMatch' &&
      k !== 'allowedArchitectures' &&
      k !== 'referenceValues' &&
      k !== 'rimVersions'
    )
      throw new HostPolicyError(`unknown key gpu.${k}`);
  }
  if (g.requireMeasurementMatch !== undefined && typeof g.requireMeasurementMatch !== 'boolean') {
    throw new HostPolicyError('gpu.requireMeasurementMatch must be a boolean');
  }
  const policy: HostPolicy = {
    allowSimulated: bool('allowSimulated', false),
    allowDebug: bool('allowDebug', false),
    requireVerifiedEvidence: bool('requireVerifiedEvidence', true),
    gpu: { requireMeasurementMatch: (g.requireMeasurementMatch as boolean | undefined) ?? true },
  };
  if (tee) policy.allowedTeeTypes = tee as HostPolicy['allowedTeeTypes'];
  if (meas) policy.allowedMeasurements = meas;
  const arch = strList(g.allowedArchitectures, 'gpu.allowedArchitectures');
  if (arch) policy.gpu.allowedArchitectures = arch;
  const rimVersions = strList(g.rimVersions, 'gpu.rimVersions');
  if (rimVersions) policy.gpu.rimVersions = rimVersions;
  if (g.referenceValues !== undefined) {
    if (
      typeof g.referenceValues !== 'object' ||
      g.referenceValues === null ||
      Array.isArray(g.referenceValues)
    ) {
      throw new HostPolicyError('gpu.referenceValues must be an object');
    }
    policy.gpu.referenceValues = g.referenceValues as Record<string, unknown>;
  }
  return policy;
}

export function loadPolicy(path: string): HostPolicy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new HostPolicyError(`cannot read policy ${path}: ${(e as Error).message}`);
  }
  try {
    return parsePolicy(JSON.parse(text));
  } catch (e) {
    if (e instanceof HostPolicyError) throw e;
    throw new HostPolicyError(`policy ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

const check = (id: string, ok: boolean, detail: string): Check => ({
  id,
  outcome: ok ? 'pass' : 'fail',
  detail,
});

export interface CpuFacts {
  kind: TeeKind;
  simulated: boolean;
  debug: boolean;
  measurement: string;
  verdict?: Verdict;
}

export function evaluateCpuPolicy(p: HostPolicy, f: CpuFacts): Check[] {
  const out: Check[] = [];
  out.push(
    check(
      'policy.simulated',
      !f.simulated || p.allowSimulated,
      f.simulated
        ? 'evidence is from the SIMULATED TEE' +
            (p.allowSimulated ? ' (allowed by policy)' : ' (policy.allowSimulated is false)')
        : 'hardware evidence',
    ),
  );
  out.push(
    check('policy.debug', !f.debug || p.allowDebug, f.debug ? 'guest is debug-enabled' : 'debug disabled'),
  );
  if (p.allowedTeeTypes) {
    out.push(
      check(
        'policy.tee-type',
        p.allowedTeeTypes.includes(f.kind),
        `${f.kind} in [${p.allowedTeeTypes.join(', ')}]`,
      ),
    );
  }
  if (p.allowedMeasurements) {
    out.push(
      check(
        'policy.measurement',
        p.allowedMeasurements.includes(f.measurement.toLowerCase()),
        `measurement ${f.measurement}`,
      ),
    );
  }
  if (p.requireVerifiedEvidence) {
    if (!f.verdict)
      out.push(check('policy.evidence-verified', false, 'no verifier available for this evidence'));
    else {
      const failed = f.verdict.checks.filter((c) => c.outcome === 'fail').map((c) => `${c.id}: ${c.detail}`);
      out.push(
        check(
          'policy.evidence-verified',
          f.verdict.ok,
          f.verdict.ok ? `verifier: ${f.verdict.kind} ok` : `verifier failed: ${failed.join('; ')}`,
        ),
      );
    }
  }
  return out;
}

export interface GpuFacts {
  simulated: boolean;
  verdict?: Verdict;
  architecture?: string;
}

/** A field anywhere in the verdict tree (the first found). */
function verdictField(v: Verdict | undefined, k: string): unknown {
  if (!v) return undefined;
  if (v.fields?.[k] !== undefined) return v.fields[k];
  for (const p of v.parts ?? []) {
    const x = verdictField(p, k);
    if (x !== undefined) return x;
  }
  return undefined;
}

export function evaluateGpuPolicy(p: HostPolicy, f: GpuFacts): Check[] {
  const out: Check[] = [];
  out.push(
    check(
      'policy.gpu.simulated',
      !f.simulated || p.allowSimulated,
      f.simulated ? 'GPU evidence is SIMULATED' : 'hardware GPU evidence',
    ),
  );
  if (p.gpu.requireMeasurementMatch) {
    if (!f.verdict) out.push(check('policy.gpu.measurements', false, 'no GPU verifier available'));
    else {
      const failed = f.verdict.checks.filter((c) => c.outcome === 'fail').map((c) => `${c.id}: ${c.detail}`);
      const appraised = f.verdict.checks.some((c) => /measurement/.test(c.id) && c.outcome === 'pass');
      out.push(
        check(
          'policy.gpu.measurements',
          f.verdict.ok && appraised,
          !f.verdict.ok
            ? failed.join('; ')
            : appraised
              ? 'GPU evidence verified, measurements match the reference values'
              : 'GPU measurements were not appraised (no reference values: set policy.gpu.referenceValues)',
        ),
      );
    }
  }
  if (p.gpu.rimVersions) {
    // the driver and VBIOS versions the verified evidence reports must each be an accepted RIM version
    const allowed = p.gpu.rimVersions.map((x) => x.toUpperCase());
    const driver = verdictField(f.verdict, 'driverVersion');
    const vbios = verdictField(f.verdict, 'vbiosVersion');
    const bad = [
      ['driver', driver],
      ['VBIOS', vbios],
    ].filter(([, x]) => typeof x !== 'string' || !allowed.includes(x.toUpperCase()));
    out.push(
      check(
        'policy.gpu.rim-versions',
        bad.length === 0,
        bad.length === 0
          ? `driver ${String(driver)} and VBIOS ${String(vbios)} are accepted RIM versions`
          : `not accepted: ${bad.map(([w, x]) => `${w} ${x === undefined ? '(not reported: not checked)' : String(x)}`).join(', ')} (rimVersions: ${p.gpu.rimVersions.join(', ')})`,
      ),
    );
  }
  if (p.gpu.allowedArchitectures) {
    out.push(
      check(
        'policy.gpu.architecture',
        f.architecture !== undefined && p.gpu.allowedArchitectures.includes(f.architecture),
        `architecture ${f.architecture ?? 'unknown'}`,
      ),
    );
  }
  return out;
}

/** @deprecated the host policy's error is HostPolicyError; kept so existing imports keep working. */
export { HostPolicyError as PolicyError };
