/**
 * TDX verification policy (the `tdx` section of a policy JSON file).
 *
 * {
 *   "tdx": {
 *     "allowDebug": false,                       // reject TD_ATTRIBUTES.DEBUG (and the profiling bits) by default
 *     "allowMigratable": false,                  // reject TD_ATTRIBUTES.MIGRATABLE by default
 *     "requireSeptVeDisable": false,             // when true, TD_ATTRIBUTES.SEPT_VE_DISABLE must be set
 *     "acceptedTcbStatuses": ["UpToDate", "SWHardeningNeeded"],
 *     "requireCollateral": true,                 // without collateral the TCB checks fail
 *     "mrTd": ["<96 hex>", ...], "rtmr0": [...], "rtmr1": [...], "rtmr2": [...], "rtmr3": [...],
 *     "mrConfigId": [...], "mrOwner": [...], "mrOwnerConfig": [...], "mrSeam": [...],
 *     "mrServiceTd": [...],                      // TDX 1.5 quotes only (a TDX 1.0 quote fails the pin)
 *     "rejectAdvisories": ["INTEL-SA-00837"]
 *   }
 * }
 * An allow-list that is present must contain the quote's value; absent = not checked.
 */
import { TCB_STATUSES, type TcbStatus } from './collateral.ts';
import { TdxError } from './errors.ts';

export const MEASUREMENT_FIELDS = [
  'mrTd',
  'rtmr0',
  'rtmr1',
  'rtmr2',
  'rtmr3',
  'mrConfigId',
  'mrOwner',
  'mrOwnerConfig',
  'mrSeam',
  'mrServiceTd',
] as const;
export type MeasurementField = (typeof MEASUREMENT_FIELDS)[number];

export interface TdxPolicy {
  /** Accept TD_ATTRIBUTES.DEBUG and the profiling bits (HGS_PLUS_PROF, PERF_PROF, PMT_PROF). Default false. */
  allowDebug?: boolean;
  /** Accept TD_ATTRIBUTES.MIGRATABLE (a migration TD may move the TD to another platform). Default false. */
  allowMigratable?: boolean;
  /** Require TD_ATTRIBUTES.SEPT_VE_DISABLE (no #VE on access to pending pages). Default false. */
  requireSeptVeDisable?: boolean;
  acceptedTcbStatuses?: TcbStatus[];
  requireCollateral?: boolean;
  rejectAdvisories?: string[];
  mrTd?: string[];
  rtmr0?: string[];
  rtmr1?: string[];
  rtmr2?: string[];
  rtmr3?: string[];
  mrConfigId?: string[];
  mrOwner?: string[];
  mrOwnerConfig?: string[];
  mrSeam?: string[];
  mrServiceTd?: string[];
}

/**
 * Default acceptable TCB statuses. SWHardeningNeeded is accepted: the platform TCB is current and
 * the advisories name software mitigations (reported in the verdict). Every status that means
 * "patches or configuration missing" (ConfigurationNeeded, OutOfDate, ...) or Revoked is rejected.
 */
export const DEFAULT_ACCEPTED_TCB_STATUSES: readonly TcbStatus[] = ['UpToDate', 'SWHardeningNeeded'];

/** Validate a policy object: either `{ tdx: {...} }` or the section itself. */
export function parseTdxPolicy(input: unknown): TdxPolicy {
  const root = input as Record<string, unknown> | null;
  if (typeof root !== 'object' || root === null || Array.isArray(root))
    throw new TdxError('TDX_POLICY', 'policy must be a JSON object');
  const sec = (root.tdx ?? root) as Record<string, unknown>;
  if (typeof sec !== 'object' || sec === null || Array.isArray(sec))
    throw new TdxError('TDX_POLICY', "policy 'tdx' must be an object");
  const known = new Set<string>([
    'allowDebug',
    'allowMigratable',
    'requireSeptVeDisable',
    'acceptedTcbStatuses',
    'requireCollateral',
    'rejectAdvisories',
    ...MEASUREMENT_FIELDS,
  ]);
  const p: TdxPolicy = {};
  for (const [k, v] of Object.entries(sec)) {
    if (!known.has(k)) {
      if (sec === root && ['snp', 'sev-snp', 'nvidia', 'binding', 'execution'].includes(k)) continue;
      throw new TdxError('TDX_POLICY', `policy tdx: unknown key '${k}'`);
    }
    if (
      k === 'allowDebug' ||
      k === 'requireCollateral' ||
      k === 'allowMigratable' ||
      k === 'requireSeptVeDisable'
    ) {
      if (typeof v !== 'boolean') throw new TdxError('TDX_POLICY', `policy tdx.${k} must be a boolean`);
      p[k] = v;
    } else if (k === 'acceptedTcbStatuses') {
      if (!Array.isArray(v) || v.some((s) => !TCB_STATUSES.includes(s as TcbStatus)))
        throw new TdxError(
          'TDX_POLICY',
          `policy tdx.acceptedTcbStatuses must list values of: ${TCB_STATUSES.join(', ')}`,
        );
      p.acceptedTcbStatuses = v as TcbStatus[];
    } else if (k === 'rejectAdvisories') {
      if (!Array.isArray(v) || v.some((s) => typeof s !== 'string'))
        throw new TdxError('TDX_POLICY', 'policy tdx.rejectAdvisories must be a list of strings');
      p.rejectAdvisories = v as string[];
    } else {
      // Every measurement register is 48 bytes (96 hex digits).
      if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || !/^[0-9a-fA-F]{96}$/.test(s)))
        throw new TdxError('TDX_POLICY', `policy tdx.${k} must be a list of 96-digit hex strings`);
      p[k as MeasurementField] = (v as string[]).map((s) => s.toLowerCase());
    }
  }
  return p;
}
