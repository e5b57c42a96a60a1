/**
 * SEV-SNP verification policy (the `snp` section of a policy JSON file, or CLI flags): the checks of
 * go-sev-guest's `validate` package that apply to a single report. Every field is optional; defaults:
 * debug guests rejected, migration agent rejected, SMT allowed, provisional firmware permitted.
 */

import {
  decodePlatformInfo,
  decodePolicy,
  decodeSignerInfo,
  decodeTcb,
  type PlatformInfo,
  type SnpProduct,
  type SnpReportFields,
  type TcbParts,
  tcbAtLeast,
  toHex,
} from '../../formats/index.ts';
import { PolicyError } from '../errors.ts';
import type { Check } from '../types.ts';

export interface SnpPolicy {
  /** Accept guests whose POLICY allows debugging (default false). */
  allowDebug?: boolean;
  /** Accept guests that allow a migration agent (default false). */
  allowMigrationAgent?: boolean;
  /** Accept guests whose POLICY allows SMT (default true). */
  allowSmt?: boolean;
  /** Require POLICY.SINGLE_SOCKET. */
  requireSingleSocket?: boolean;
  /** Accept guests whose POLICY allows CXL memory (default true). */
  allowCxl?: boolean;
  /** Exact values required for guest POLICY bits (true = must be set, false = must be clear). */
  guestPolicyBits?: Partial<
    Record<'memAes256Xts' | 'raplDis' | 'ciphertextHiding' | 'pageSwapDisable', boolean>
  >;
  /** Minimum ABI major/minor in the guest POLICY. */
  minAbiMajor?: number;
  minAbiMinor?: number;
  minGuestSvn?: number;
  /** Minimum TCB (every SPL) for the current, committed and reported TCB. */
  minTcb?: Partial<TcbParts>;
  /** Minimum TCB for the launch TCB. */
  minLaunchTcb?: Partial<TcbParts>;
  /** Minimum firmware build (current and committed). */
  minBuild?: number;
  /** Minimum firmware API version "major.minor" (current and committed). */
  minVersion?: string;
  /** Allowed MEASUREMENT values (hex, 48 bytes each). */
  measurements?: string[];
  hostData?: string;
  familyId?: string;
  imageId?: string;
  reportId?: string;
  reportIdMa?: string;
  /** Allowed CHIP_IDs (hex, 64 bytes each). */
  chipIds?: string[];
  /** Exact VMPL required (default 0). */
  vmpl?: number;
  /** Required PLATFORM_INFO bits (true = must be set, false = must be clear). */
  platformInfo?: Partial<Record<keyof PlatformInfo, boolean>>;
  /** Permit committed ≠ current TCB/version (a provisional firmware update). Default true. */
  permitProvisionalFirmware?: boolean;
  /** Require the report be signed by this key kind. */
  requireSigningKey?: 'VCEK' | 'VLEK';
  /** Require AUTHOR_KEY_EN and an author key digest from trustedAuthorKeyDigests. */
  requireAuthorKey?: boolean;
  /** Trusted ID key digests (hex, 48 bytes). When set, ID_KEY_DIGEST (or AUTHOR_KEY_DIGEST) must be one. */
  trustedIdKeyDigests?: string[];
  trustedAuthorKeyDigests?: string[];
  /** Require the VLEK's CSP id (e.g. 'CN=cc-us-east-2.amazonaws.com'). */
  cspIds?: string[];
}

export { PolicyError };

const BOOL_KEYS = [
  'allowDebug',
  'allowMigrationAgent',
  'allowSmt',
  'requireSingleSocket',
  'permitProvisionalFirmware',
  'requireAuthorKey',
  'allowCxl',
] as const;
const NUM_KEYS = ['minAbiMajor', 'minAbiMinor', 'minGuestSvn', 'minBuild', 'vmpl'] as const;
const HEX_KEYS: Record<string, number> = {
  hostData: 32,
  familyId: 16,
  imageId: 16,
  reportId: 32,
  reportIdMa: 32,
};
const HEX_LIST_KEYS: Record<string, number> = {
  measurements: 48,
  chipIds: 64,
  trustedIdKeyDigests: 48,
  trustedAuthorKeyDigests: 48,
};
const TCB_KEYS = ['blSPL', 'teeSPL', 'snpSPL', 'ucodeSPL', 'fmcSPL'];
const GP_KEYS = ['memAes256Xts', 'raplDis', 'ciphertextHiding', 'pageSwapDisable'];
const PI_KEYS = [
  'smtEnabled',
  'tsmeEnabled',
  'eccEnabled',
  'raplDisabled',
  'ciphertextHidingEnabled',
  'aliasCheckComplete',
  'tioEnabled',
];

function hexOk(v: unknown, bytes: number, what: string): string {
  if (typeof v !== 'string' || !new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(v))
    throw new PolicyError('INVALID_POLICY', `snp.${what}: expected ${bytes} bytes of hex`);
  return v.toLowerCase();
}

/** Validate a policy object (the `snp` section). Unknown keys are errors (typos must not weaken a policy). */
export function parseSnpPolicy(o: unknown): SnpPolicy {
  if (o === undefined || o === null) return {};
  if (typeof o !== 'object' || Array.isArray(o))
    throw new PolicyError('INVALID_POLICY', 'snp policy: expected an object');
  const src = o as Record<string, unknown>;
  const p: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(src)) {
    if ((BOOL_KEYS as readonly string[]).includes(k)) {
      if (typeof v !== 'boolean') throw new PolicyError('INVALID_POLICY', `snp.${k}: expected a boolean`);
      p[k] = v;
    } else if ((NUM_KEYS as readonly string[]).includes(k)) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
        throw new PolicyError('INVALID_POLICY', `snp.${k}: expected an integer ≥ 0`);
      p[k] = v;
    } else if (k in HEX_KEYS) p[k] = hexOk(v, HEX_KEYS[k]!, k);
    else if (k in HEX_LIST_KEYS) {
      if (!Array.isArray(v))
        throw new PolicyError('INVALID_POLICY', `snp.${k}: expected a list of hex strings`);
      p[k] = v.map((x, i) => hexOk(x, HEX_LIST_KEYS[k]!, `${k}[${i}]`));
    } else if (k === 'minTcb' || k === 'minLaunchTcb') {
      if (!v || typeof v !== 'object')
        throw new PolicyError('INVALID_POLICY', `snp.${k}: expected an object`);
      const t: Record<string, number> = {};
      for (const [tk, tv] of Object.entries(v)) {
        if (!TCB_KEYS.includes(tk))
          throw new PolicyError('INVALID_POLICY', `snp.${k}.${tk}: unknown SPL (${TCB_KEYS.join(', ')})`);
        if (typeof tv !== 'number' || !Number.isInteger(tv) || tv < 0 || tv > 255)
          throw new PolicyError('INVALID_POLICY', `snp.${k}.${tk}: expected 0..255`);
        t[tk] = tv;
      }
      p[k] = t;
    } else if (k === 'minVersion') {
      if (typeof v !== 'string' || !/^\d+\.\d+$/.test(v))
        throw new PolicyError('INVALID_POLICY', 'snp.minVersion: expected "major.minor"');
      p[k] = v;
    } else if (k === 'platformInfo') {
      if (!v || typeof v !== 'object')
        throw new PolicyError('INVALID_POLICY', 'snp.platformInfo: expected an object');
      for (const [pk, pv] of Object.entries(v)) {
        if (!PI_KEYS.includes(pk))
          throw new PolicyError(
            'INVALID_POLICY',
            `snp.platformInfo.${pk}: unknown bit (${PI_KEYS.join(', ')})`,
          );
        if (typeof pv !== 'boolean')
          throw new PolicyError('INVALID_POLICY', `snp.platformInfo.${pk}: expected a boolean`);
      }
      p[k] = v;
    } else if (k === 'guestPolicyBits') {
      if (!v || typeof v !== 'object')
        throw new PolicyError('INVALID_POLICY', 'snp.guestPolicyBits: expected an object');
      for (const [pk, pv] of Object.entries(v)) {
        if (!GP_KEYS.includes(pk))
          throw new PolicyError(
            'INVALID_POLICY',
            `snp.guestPolicyBits.${pk}: unknown bit (${GP_KEYS.join(', ')})`,
          );
        if (typeof pv !== 'boolean')
          throw new PolicyError('INVALID_POLICY', `snp.guestPolicyBits.${pk}: expected a boolean`);
      }
      p[k] = v;
    } else if (k === 'requireSigningKey') {
      if (v !== 'VCEK' && v !== 'VLEK')
        throw new PolicyError('INVALID_POLICY', 'snp.requireSigningKey: VCEK or VLEK');
      p[k] = v;
    } else if (k === 'cspIds') {
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
        throw new PolicyError('INVALID_POLICY', 'snp.cspIds: expected a list of strings');
      p[k] = v;
    } else throw new PolicyError('INVALID_POLICY', `snp.${k}: unknown policy key`);
  }
  return p as SnpPolicy;
}

const hex = toHex;
const pass = (id: string, detail: string): Check => ({ id, outcome: 'pass', detail });
const fail = (id: string, detail: string): Check => ({ id, outcome: 'fail', detail });
const tcbStr = (t: Partial<TcbParts>) =>
  Object.entries(t)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

/** Apply the policy to a (signature-verified) report. Returns one check per applied rule. */
export function checkSnpPolicy(
  r: SnpReportFields,
  policy: SnpPolicy,
  product: SnpProduct | undefined,
  extra: { cspId?: string } = {},
): Check[] {
  const checks: Check[] = [];
  checkGuestPolicy(r, policy, checks);
  checkFirmware(r, policy, product, checks);
  checkIdentity(r, policy, checks);
  checkSigningKeys(r, policy, extra, checks);
  return checks;
}

const id = (s: string) => `snp.policy.${s}`;

/** The guest POLICY bits (debug, migration agent, SMT, single socket, CXL, required bits, ABI). */
function checkGuestPolicy(r: SnpReportFields, policy: SnpPolicy, checks: Check[]): void {
  const gp = decodePolicy(r.policy);
  checks.push(
    gp.debug && !policy.allowDebug
      ? fail(
          id('debug'),
          'guest POLICY.DEBUG = 1: the host can read and change guest memory; rejected by default (allowDebug)',
        )
      : pass(id('debug'), gp.debug ? 'POLICY.DEBUG = 1 (allowed by policy)' : 'POLICY.DEBUG = 0'),
  );
  checks.push(
    gp.migrateMa && !policy.allowMigrationAgent
      ? fail(
          id('migrate-ma'),
          'guest POLICY.MIGRATE_MA = 1 (a migration agent may export the guest); not allowed',
        )
      : pass(id('migrate-ma'), `POLICY.MIGRATE_MA = ${gp.migrateMa ? 1 : 0}`),
  );
  if (policy.allowSmt === false)
    checks.push(
      gp.smt ? fail(id('smt'), 'POLICY.SMT = 1 but policy disallows SMT') : pass(id('smt'), 'POLICY.SMT = 0'),
    );
  if (policy.requireSingleSocket)
    checks.push(
      gp.singleSocket
        ? pass(id('single-socket'), 'POLICY.SINGLE_SOCKET = 1')
        : fail(id('single-socket'), 'POLICY.SINGLE_SOCKET = 0, required'),
    );
  if (policy.allowCxl === false)
    checks.push(
      gp.cxlAllow
        ? fail(id('cxl'), 'POLICY.CXL_ALLOW = 1 but policy disallows CXL')
        : pass(id('cxl'), 'POLICY.CXL_ALLOW = 0'),
    );
  for (const [k, want] of Object.entries(policy.guestPolicyBits ?? {})) {
    const got = gp[k as keyof typeof gp] as boolean;
    checks.push((got === want ? pass : fail)(id(`bits.${k}`), `POLICY.${k} = ${got}, required ${want}`));
  }
  if (policy.minAbiMajor !== undefined || policy.minAbiMinor !== undefined) {
    const want = [policy.minAbiMajor ?? 0, policy.minAbiMinor ?? 0] as const;
    const ok = gp.abiMajor > want[0] || (gp.abiMajor === want[0] && gp.abiMinor >= want[1]);
    checks.push(
      (ok ? pass : fail)(
        id('abi'),
        `POLICY ABI ${gp.abiMajor}.${gp.abiMinor}, minimum ${want[0]}.${want[1]}`,
      ),
    );
  }
}

/** Firmware: guest SVN, minimum TCBs, build and version, no provisional firmware. */
function checkFirmware(
  r: SnpReportFields,
  policy: SnpPolicy,
  product: SnpProduct | undefined,
  checks: Check[],
): void {
  if (policy.minGuestSvn !== undefined)
    checks.push(
      (r.guestSvn >= policy.minGuestSvn ? pass : fail)(
        id('guest-svn'),
        `GUEST_SVN ${r.guestSvn}, minimum ${policy.minGuestSvn}`,
      ),
    );
  const fullMin = (t: Partial<TcbParts>): TcbParts => ({
    blSPL: t.blSPL ?? 0,
    teeSPL: t.teeSPL ?? 0,
    snpSPL: t.snpSPL ?? 0,
    ucodeSPL: t.ucodeSPL ?? 0,
    ...(t.fmcSPL !== undefined ? { fmcSPL: t.fmcSPL } : {}),
  });
  if (policy.minTcb) {
    const min = fullMin(policy.minTcb);
    for (const [name, raw] of [
      ['current', r.currentTcb],
      ['committed', r.committedTcb],
      ['reported', r.reportedTcb],
    ] as const) {
      const t = decodeTcb(raw, product);
      checks.push(
        (tcbAtLeast(t, min) ? pass : fail)(
          id(`min-tcb.${name}`),
          `${name} TCB ${tcbStr(t)}; minimum ${tcbStr(policy.minTcb)}`,
        ),
      );
    }
  }
  if (policy.minLaunchTcb) {
    const t = decodeTcb(r.launchTcb, product);
    checks.push(
      (tcbAtLeast(t, fullMin(policy.minLaunchTcb)) ? pass : fail)(
        id('min-launch-tcb'),
        `launch TCB ${tcbStr(t)}; minimum ${tcbStr(policy.minLaunchTcb)}`,
      ),
    );
  }
  if (policy.minBuild !== undefined) {
    const ok = r.currentBuild >= policy.minBuild && r.committedBuild >= policy.minBuild;
    checks.push(
      (ok ? pass : fail)(
        id('min-build'),
        `current build ${r.currentBuild}, committed ${r.committedBuild}; minimum ${policy.minBuild}`,
      ),
    );
  }
  if (policy.minVersion !== undefined) {
    const [maj, min] = policy.minVersion.split('.').map(Number) as [number, number];
    const ge = (a: number, b: number) => a > maj || (a === maj && b >= min);
    const ok = ge(r.currentMajor, r.currentMinor) && ge(r.committedMajor, r.committedMinor);
    checks.push(
      (ok ? pass : fail)(
        id('min-version'),
        `current ${r.currentMajor}.${r.currentMinor}, committed ${r.committedMajor}.${r.committedMinor}; minimum ${policy.minVersion}`,
      ),
    );
  }
  if (policy.permitProvisionalFirmware === false) {
    const ok =
      r.currentTcb === r.committedTcb &&
      r.currentMajor === r.committedMajor &&
      r.currentMinor === r.committedMinor &&
      r.currentBuild === r.committedBuild;
    checks.push(
      (ok ? pass : fail)(
        id('provisional-firmware'),
        ok
          ? 'committed firmware = current firmware'
          : 'provisional firmware: committed TCB/version differs from current',
      ),
    );
  }
}

/** What the guest is: MEASUREMENT, HOST_DATA and the other ids, CHIP_ID, VMPL, PLATFORM_INFO. */
function checkIdentity(r: SnpReportFields, policy: SnpPolicy, checks: Check[]): void {
  if (policy.measurements) {
    const m = hex(r.measurement);
    checks.push(
      (policy.measurements.includes(m) ? pass : fail)(
        id('measurement'),
        `MEASUREMENT ${m} ${policy.measurements.includes(m) ? 'is' : 'is not'} one of ${policy.measurements.length} allowed`,
      ),
    );
  }
  for (const [key, field] of [
    ['hostData', 'hostData'],
    ['familyId', 'familyId'],
    ['imageId', 'imageId'],
    ['reportId', 'reportId'],
    ['reportIdMa', 'reportIdMa'],
  ] as const) {
    const want = policy[key];
    if (want === undefined) continue;
    const got = hex(r[field]);
    checks.push(
      (got === want ? pass : fail)(
        id(key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)),
        `${got} vs required ${want}`,
      ),
    );
  }
  if (policy.chipIds) {
    const c = hex(r.chipId);
    checks.push((policy.chipIds.includes(c) ? pass : fail)(id('chip-id'), `CHIP_ID ${c.slice(0, 16)}…`));
  }
  // VMPL 0 by default: a report from a less privileged VMPL may come from code the guest owner does not
  // control (e.g. beside an SVSM/paravisor). Override with policy.vmpl / --vmpl N.
  const wantVmpl = policy.vmpl ?? 0;
  checks.push(
    (r.vmpl === wantVmpl ? pass : fail)(
      id('vmpl'),
      `VMPL ${r.vmpl}, required ${wantVmpl}${policy.vmpl === undefined ? ' (default; --vmpl N or policy snp.vmpl to change)' : ''}`,
    ),
  );
  if (policy.platformInfo) {
    const pi = decodePlatformInfo(r.platformInfo);
    for (const [k, want] of Object.entries(policy.platformInfo)) {
      const got = pi[k as keyof PlatformInfo];
      checks.push(
        (got === want ? pass : fail)(
          id(`platform-info.${k}`),
          `PLATFORM_INFO.${k} = ${got}, required ${want}`,
        ),
      );
    }
  }
}

/** Who signed what: the signing key kind, author and ID key digests, the VLEK's CSP. */
function checkSigningKeys(
  r: SnpReportFields,
  policy: SnpPolicy,
  extra: { cspId?: string },
  checks: Check[],
): void {
  const si = decodeSignerInfo(r.signerInfo);
  if (policy.requireSigningKey)
    checks.push(
      (si.signingKey === policy.requireSigningKey ? pass : fail)(
        id('signing-key'),
        `signed by ${si.signingKey}, required ${policy.requireSigningKey}`,
      ),
    );
  if (policy.requireAuthorKey || policy.trustedAuthorKeyDigests) {
    const d = hex(r.authorKeyDigest);
    const trusted = policy.trustedAuthorKeyDigests;
    const ok = si.authorKeyEn && (!trusted || trusted.includes(d));
    const t = trusted ? (trusted.includes(d) ? ' (trusted)' : ' (not trusted)') : '';
    checks.push(
      (ok ? pass : fail)(
        id('author-key'),
        `AUTHOR_KEY_EN = ${si.authorKeyEn ? 1 : 0}, AUTHOR_KEY_DIGEST ${d.slice(0, 16)}…${t}`,
      ),
    );
  }
  if (policy.trustedIdKeyDigests) {
    const d = hex(r.idKeyDigest);
    const ok = policy.trustedIdKeyDigests.includes(d);
    checks.push(
      (ok ? pass : fail)(id('id-key'), `ID_KEY_DIGEST ${d.slice(0, 16)}… ${ok ? 'trusted' : 'not trusted'}`),
    );
  }
  if (policy.cspIds) {
    const ok = extra.cspId !== undefined && policy.cspIds.includes(extra.cspId);
    checks.push((ok ? pass : fail)(id('csp-id'), `VLEK cspId ${extra.cspId ?? '(none)'}`));
  }
}
