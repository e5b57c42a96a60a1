/**
 * The claim's JSON view (carried in the envelope) and the one JSON form of a Wasm value (the claim's,
 * `WasmValueJson`). Parsing is strict: a BindingError naming the field for anything missing, unknown or
 * malformed.
 */
import {
  CLAIM_VERSION,
  type ClaimAttestationMode,
  type ClaimInputs,
  type ClaimTeeKind,
  type ClaimWebGpu,
  type ExecutionClaim,
} from './claim.ts';
import { bad, boolOf, bytesToHex, FEATURE_LEVELS, hexToBytes, oneOf, U64_MAX } from './encode.ts';
import { BindingError } from './errors.ts';
import {
  ATTESTATION_MODES,
  EXECUTION_MODES,
  type ExecutionMode,
  type ExecutionStatus,
  GAS_LIMIT_MAX,
  GAS_LIMIT_MIN,
  type GpuAdapterInfo,
  type GuestAttestationKind,
  type GuestAttestationReceipt,
  type GuestAttestations,
  REQUESTED_ATTESTATIONS,
  type RequestedAttestation,
  TEE_KINDS,
  type WasmValue,
} from './vocabulary.ts';

const MODES: readonly string[] = EXECUTION_MODES;
const REQUESTED: readonly string[] = REQUESTED_ATTESTATIONS;
const ATT_MODES: readonly string[] = ATTESTATION_MODES;

/** JSON form of a typed value: i32 number, i64 decimal string, f32 bits u32 number, f64 bits decimal string. */
export type WasmValueJson =
  | { type: 'i32'; value: number }
  | { type: 'i64'; value: string }
  | { type: 'f32'; bits: number }
  | { type: 'f64'; bits: string };

/** JSON view of a claim (carried in the envelope). Bytes are lowercase hex, 64-bit integers decimal strings. */
export interface ExecutionClaimJson {
  v: 3;
  bytecodeSha256: string;
  fn: string;
  inputs: WasmValueJson[] | { legacy: string[] };
  mode: ExecutionMode;
  gasLimit?: string;
  nonce?: string;
  meter: boolean;
  attestationRequested: RequestedAttestation;
  gpuRequested: boolean;
  requestId?: string;
  status: ExecutionStatus;
  outputs: WasmValueJson[];
  exitCode?: number;
  gasUsed?: string;
  costTableVersion?: string;
  stdoutSha256?: string;
  stderrSha256?: string;
  trapMessage?: string;
  executedMode: ExecutionMode;
  attestationMode: ClaimAttestationMode;
  teeKind: ClaimTeeKind;
  simulated: boolean;
  session?: string;
  gpuEvidenceSha256?: string;
  issuedAt: string;
  webgpu?: ClaimWebGpuJson;
  serverBuildSha256?: string;
  guestAttestations?: GuestAttestationsJson;
  sealedRequestSha256?: string;
}

/** JSON view of claim.guestAttestations: the receipts as they are (gpuIndex a JSON number, hashes hex). */
export interface GuestAttestationsJson {
  receipts: GuestAttestationReceiptJson[];
  truncated: boolean;
}
export type GuestAttestationReceiptJson = GuestAttestationReceipt;

/** A receipt's JSON keys, in record order. */
export const GUEST_ATTESTATION_RECEIPT_KEYS = [
  'kind',
  'gpuIndex',
  'teeType',
  'simulated',
  'dataSha256',
  'evidenceSha256',
  'outcome',
  'cached',
] as const;

export function guestAttestationsToJson(g: GuestAttestations): GuestAttestationsJson {
  return {
    receipts: g.receipts.map((r) => {
      const j = { kind: r.kind } as GuestAttestationReceiptJson;
      if (r.gpuIndex !== undefined) j.gpuIndex = r.gpuIndex;
      if (r.teeType !== undefined) j.teeType = r.teeType;
      if (r.simulated !== undefined) j.simulated = r.simulated;
      if (r.dataSha256 !== undefined) j.dataSha256 = r.dataSha256;
      if (r.evidenceSha256 !== undefined) j.evidenceSha256 = r.evidenceSha256;
      j.outcome = r.outcome;
      j.cached = r.cached;
      return j;
    }),
    truncated: g.truncated,
  };
}

/** Strict: every key known, every value of its type (the encoder checks the rest: counts, codes). */
export function guestAttestationsFromJson(j: unknown, where = 'claim.guestAttestations'): GuestAttestations {
  const o = j as Record<string, unknown>;
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw bad(where, 'not an object');
  exactKeys(o, where, ['receipts', 'truncated']);
  if (!Array.isArray(o.receipts))
    throw bad(`${where}.receipts`, o.receipts === undefined ? 'missing' : 'expected a list');
  if (o.truncated === undefined) throw bad(`${where}.truncated`, 'missing');
  const truncated = boolOf(`${where}.truncated`, o.truncated);
  const receipts = o.receipts.map((x, i): GuestAttestationReceipt => {
    const at = `${where}.receipts[${i}]`;
    const r = x as Record<string, unknown>;
    if (!r || typeof r !== 'object' || Array.isArray(r)) throw bad(at, 'not an object');
    exactKeys(r, at, GUEST_ATTESTATION_RECEIPT_KEYS);
    if (r.kind === undefined) throw bad(`${at}.kind`, 'missing');
    if (r.outcome === undefined) throw bad(`${at}.outcome`, 'missing');
    if (typeof r.outcome !== 'string') throw bad(`${at}.outcome`, 'expected a string');
    if (r.cached === undefined) throw bad(`${at}.cached`, 'missing');
    const out: GuestAttestationReceipt = {
      kind: oneOf(`${at}.kind`, r.kind, ['vm', 'gpu']) as GuestAttestationKind,
      outcome: r.outcome,
      cached: boolOf(`${at}.cached`, r.cached),
    };
    if (r.gpuIndex !== undefined) {
      if (
        typeof r.gpuIndex !== 'number' ||
        !Number.isInteger(r.gpuIndex) ||
        r.gpuIndex < 0 ||
        r.gpuIndex > 0xffffffff
      )
        throw bad(`${at}.gpuIndex`, 'not an unsigned 32-bit integer');
      out.gpuIndex = r.gpuIndex;
    }
    if (r.teeType !== undefined) {
      if (typeof r.teeType !== 'string') throw bad(`${at}.teeType`, 'expected a string');
      out.teeType = r.teeType;
    }
    if (r.simulated !== undefined) out.simulated = boolOf(`${at}.simulated`, r.simulated);
    for (const k of ['dataSha256', 'evidenceSha256'] as const) {
      const v = r[k];
      if (v === undefined) continue;
      if (typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v))
        throw bad(`${at}.${k}`, 'expected 32 bytes of lowercase hex');
      out[k] = v;
    }
    return out;
  });
  return { receipts, truncated };
}

/** JSON view of claim.webgpu: counters and gas as decimal strings. */
export interface ClaimWebGpuJson extends GpuAdapterInfo {
  calls: string;
  dispatches: string;
  workgroups: string;
  bytesToGpu: string;
  bytesFromGpu: string;
  gas?: string;
  gasTableVersion: string;
}

const WEBGPU_TEXT = ['vendor', 'architecture', 'device', 'description', 'backend'] as const;
const WEBGPU_COUNTERS = ['calls', 'dispatches', 'workgroups', 'bytesToGpu', 'bytesFromGpu'] as const;
export const WEBGPU_JSON_KEYS = [
  ...WEBGPU_TEXT,
  'featureLevel',
  ...WEBGPU_COUNTERS,
  'gas',
  'gasTableVersion',
] as const;

export function webgpuToJson(g: ClaimWebGpu): ClaimWebGpuJson {
  const j = {} as ClaimWebGpuJson;
  for (const k of WEBGPU_TEXT) j[k] = g[k];
  j.featureLevel = g.featureLevel;
  for (const k of WEBGPU_COUNTERS) j[k] = g[k].toString();
  if (g.gas !== undefined) j.gas = g.gas.toString();
  j.gasTableVersion = g.gasTableVersion;
  return j;
}

export function webgpuFromJson(j: unknown, where = 'claim.webgpu'): ClaimWebGpu {
  const o = j as Record<string, unknown>;
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw bad(where, 'not an object');
  exactKeys(o, where, WEBGPU_JSON_KEYS);
  const text = (k: string) => {
    if (typeof o[k] !== 'string')
      throw bad(`${where}.${k}`, o[k] === undefined ? 'missing' : 'expected a string');
    return o[k] as string;
  };
  const g = {
    featureLevel: oneOf(`${where}.featureLevel`, o.featureLevel, FEATURE_LEVELS),
    gasTableVersion: text('gasTableVersion'),
  } as ClaimWebGpu;
  for (const k of WEBGPU_TEXT) g[k] = text(k);
  for (const k of WEBGPU_COUNTERS) {
    if (o[k] === undefined) throw bad(`${where}.${k}`, 'missing');
    g[k] = parseBig(o[k], `${where}.${k}`, 0n, U64_MAX);
  }
  if (o.gas !== undefined) g.gas = parseBig(o.gas, `${where}.gas`, 0n, U64_MAX);
  return g;
}

export function valueToJson(v: WasmValue): WasmValueJson {
  switch (v.type) {
    case 'i32':
      return { type: 'i32', value: v.value | 0 };
    case 'i64':
      return { type: 'i64', value: BigInt.asIntN(64, v.value).toString() };
    case 'f32':
      return { type: 'f32', bits: v.bits >>> 0 };
    case 'f64':
      return { type: 'f64', bits: BigInt.asUintN(64, v.bits).toString() };
  }
}

export function parseBig(s: unknown, what: string, min: bigint, max: bigint): bigint {
  if (typeof s !== 'string' || !/^-?(?:0|[1-9][0-9]*)$/.test(s))
    throw bad(what, 'not a decimal integer string');
  const b = BigInt(s);
  if (b < min || b > max) throw bad(what, `${s} out of range`);
  return b;
}

function exactKeys(o: Record<string, unknown>, where: string, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw bad(`${where}.${k}`, 'unknown field');
}

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

/** Strict: the exact JSON form (no other keys, canonical numbers). */
export function valueFromJson(j: unknown, where = 'value'): WasmValue {
  const o = j as Record<string, unknown>;
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw bad(where, 'not an object');
  switch (o.type) {
    case 'i32':
      exactKeys(o, where, ['type', 'value']);
      if (
        typeof o.value !== 'number' ||
        !Number.isInteger(o.value) ||
        o.value < -(2 ** 31) ||
        o.value >= 2 ** 31
      )
        throw bad(`${where}.value`, 'not a signed 32-bit integer');
      return { type: 'i32', value: o.value };
    case 'i64':
      exactKeys(o, where, ['type', 'value']);
      return { type: 'i64', value: parseBig(o.value, `${where}.value`, I64_MIN, I64_MAX) };
    case 'f32':
      exactKeys(o, where, ['type', 'bits']);
      if (typeof o.bits !== 'number' || !Number.isInteger(o.bits) || o.bits < 0 || o.bits >= 2 ** 32)
        throw bad(`${where}.bits`, 'not an unsigned 32-bit integer');
      return { type: 'f32', bits: o.bits };
    case 'f64':
      exactKeys(o, where, ['type', 'bits']);
      return { type: 'f64', bits: parseBig(o.bits, `${where}.bits`, 0n, U64_MAX) };
    default:
      throw bad(`${where}.type`, `unknown value type '${String(o.type)}'`);
  }
}

export function claimToJson(c: ExecutionClaim): ExecutionClaimJson {
  const j = {
    v: 3,
    bytecodeSha256: c.bytecodeSha256,
    fn: c.fn,
    inputs:
      'legacy' in c.inputs ? { legacy: [...c.inputs.legacy] } : (c.inputs as WasmValue[]).map(valueToJson),
    mode: c.mode,
  } as ExecutionClaimJson;
  if (c.gasLimit !== undefined) j.gasLimit = c.gasLimit.toString();
  if (c.nonce !== undefined) j.nonce = bytesToHex(c.nonce);
  j.meter = c.meter;
  j.attestationRequested = c.attestationRequested;
  j.gpuRequested = c.gpuRequested;
  if (c.requestId !== undefined) j.requestId = c.requestId;
  j.status = c.status;
  j.outputs = c.outputs.map(valueToJson);
  if (c.exitCode !== undefined) j.exitCode = c.exitCode;
  if (c.gasUsed !== undefined) j.gasUsed = c.gasUsed.toString();
  if (c.costTableVersion !== undefined) j.costTableVersion = c.costTableVersion;
  if (c.stdoutSha256 !== undefined) j.stdoutSha256 = c.stdoutSha256;
  if (c.stderrSha256 !== undefined) j.stderrSha256 = c.stderrSha256;
  if (c.trapMessage !== undefined) j.trapMessage = c.trapMessage;
  j.executedMode = c.executedMode;
  j.attestationMode = c.attestationMode;
  j.teeKind = c.teeKind;
  j.simulated = c.simulated;
  if (c.session !== undefined) j.session = c.session;
  if (c.gpuEvidenceSha256 !== undefined) j.gpuEvidenceSha256 = c.gpuEvidenceSha256;
  j.issuedAt = c.issuedAt.toString();
  if (c.webgpu !== undefined) j.webgpu = webgpuToJson(c.webgpu);
  if (c.serverBuildSha256 !== undefined) j.serverBuildSha256 = c.serverBuildSha256;
  if (c.guestAttestations !== undefined) j.guestAttestations = guestAttestationsToJson(c.guestAttestations);
  if (c.sealedRequestSha256 !== undefined) j.sealedRequestSha256 = c.sealedRequestSha256;
  return j;
}

/** Every key of the JSON view, in order. */
export const CLAIM_JSON_KEYS = [
  'v',
  'bytecodeSha256',
  'fn',
  'inputs',
  'mode',
  'gasLimit',
  'nonce',
  'meter',
  'attestationRequested',
  'gpuRequested',
  'requestId',
  'status',
  'outputs',
  'exitCode',
  'gasUsed',
  'costTableVersion',
  'stdoutSha256',
  'stderrSha256',
  'trapMessage',
  'executedMode',
  'attestationMode',
  'teeKind',
  'simulated',
  'session',
  'gpuEvidenceSha256',
  'issuedAt',
  'webgpu',
  'serverBuildSha256',
  'guestAttestations',
  'sealedRequestSha256',
] as const;

function str(o: Record<string, unknown>, k: string): string {
  const v = o[k];
  if (v === undefined) throw bad(`claim.${k}`, 'missing');
  if (typeof v !== 'string') throw bad(`claim.${k}`, 'expected a string');
  return v;
}

function lowerHex(o: Record<string, unknown>, k: string, bytes?: number): string {
  const v = str(o, k);
  if (!/^(?:[0-9a-f]{2})*$/.test(v) || (bytes !== undefined && v.length !== bytes * 2))
    throw bad(`claim.${k}`, `expected ${bytes ?? 'some'} bytes of lowercase hex`);
  return v;
}

/**
 * Parse the JSON view strictly: a clear BindingError naming the field for a missing, unknown or
 * malformed field, and for any other claim version.
 */
export function claimFromJson(j: unknown): ExecutionClaim {
  const o = j as Record<string, unknown>;
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw bad('claim', 'not an object');
  if (o.v !== CLAIM_VERSION)
    throw new BindingError(
      'UNSUPPORTED_CLAIM_VERSION',
      `claim.v: unsupported claim version ${String(o.v)} (this verifier reads v${CLAIM_VERSION})`,
      'claim.v',
    );
  exactKeys(o, 'claim', CLAIM_JSON_KEYS);
  const inputsJ = o.inputs as unknown;
  let inputs: ClaimInputs;
  if (Array.isArray(inputsJ)) inputs = inputsJ.map((v, i) => valueFromJson(v, `claim.inputs[${i}]`));
  else if (inputsJ && typeof inputsJ === 'object') {
    exactKeys(inputsJ as Record<string, unknown>, 'claim.inputs', ['legacy']);
    const l = (inputsJ as { legacy?: unknown }).legacy;
    if (!Array.isArray(l) || !l.every((s) => typeof s === 'string'))
      throw bad('claim.inputs.legacy', 'expected a list of strings');
    inputs = { legacy: l as string[] };
  } else throw bad('claim.inputs', inputsJ === undefined ? 'missing' : 'expected a list or {legacy}');
  if (!Array.isArray(o.outputs))
    throw bad('claim.outputs', o.outputs === undefined ? 'missing' : 'expected a list');
  const need = (k: string) => {
    if (o[k] === undefined) throw bad(`claim.${k}`, 'missing');
    return o[k];
  };
  const c: ExecutionClaim = {
    bytecodeSha256: lowerHex(o, 'bytecodeSha256', 32),
    fn: str(o, 'fn'),
    inputs,
    mode: oneOf('claim.mode', need('mode'), MODES) as ExecutionMode,
    meter: boolOf('claim.meter', need('meter')),
    attestationRequested: oneOf(
      'claim.attestationRequested',
      need('attestationRequested'),
      REQUESTED,
    ) as RequestedAttestation,
    gpuRequested: boolOf('claim.gpuRequested', need('gpuRequested')),
    status: str(o, 'status') as ExecutionStatus,
    outputs: o.outputs.map((v, i) => valueFromJson(v, `claim.outputs[${i}]`)),
    executedMode: oneOf('claim.executedMode', need('executedMode'), MODES) as ExecutionMode,
    attestationMode: oneOf(
      'claim.attestationMode',
      need('attestationMode'),
      ATT_MODES,
    ) as ClaimAttestationMode,
    teeKind: oneOf('claim.teeKind', need('teeKind'), TEE_KINDS) as ClaimTeeKind,
    simulated: boolOf('claim.simulated', need('simulated')),
    issuedAt: parseBig(need('issuedAt'), 'claim.issuedAt', 0n, U64_MAX),
  };
  if (o.gasLimit !== undefined)
    c.gasLimit = parseBig(o.gasLimit, 'claim.gasLimit', GAS_LIMIT_MIN, GAS_LIMIT_MAX);
  if (o.nonce !== undefined) c.nonce = hexToBytes(lowerHex(o, 'nonce'), 'claim.nonce');
  if (o.requestId !== undefined) c.requestId = str(o, 'requestId');
  if (o.exitCode !== undefined) {
    if (
      typeof o.exitCode !== 'number' ||
      !Number.isInteger(o.exitCode) ||
      o.exitCode < -(2 ** 31) ||
      o.exitCode >= 2 ** 31
    )
      throw bad('claim.exitCode', 'expected a 32-bit integer');
    c.exitCode = o.exitCode;
  }
  if (o.gasUsed !== undefined) c.gasUsed = parseBig(o.gasUsed, 'claim.gasUsed', 0n, U64_MAX);
  if (o.costTableVersion !== undefined) c.costTableVersion = str(o, 'costTableVersion');
  if (o.stdoutSha256 !== undefined) c.stdoutSha256 = lowerHex(o, 'stdoutSha256', 32);
  if (o.stderrSha256 !== undefined) c.stderrSha256 = lowerHex(o, 'stderrSha256', 32);
  if (o.trapMessage !== undefined) c.trapMessage = str(o, 'trapMessage');
  if (o.session !== undefined) c.session = lowerHex(o, 'session', 64);
  if (o.gpuEvidenceSha256 !== undefined) c.gpuEvidenceSha256 = lowerHex(o, 'gpuEvidenceSha256', 32);
  if (o.webgpu !== undefined) c.webgpu = webgpuFromJson(o.webgpu);
  if (o.serverBuildSha256 !== undefined) c.serverBuildSha256 = lowerHex(o, 'serverBuildSha256', 32);
  if (o.guestAttestations !== undefined) c.guestAttestations = guestAttestationsFromJson(o.guestAttestations);
  if (o.sealedRequestSha256 !== undefined) c.sealedRequestSha256 = lowerHex(o, 'sealedRequestSha256', 32);
  return c;
}
