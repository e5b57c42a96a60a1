/**
 * verifyExecution: one Execute response's attestation envelope, end to end (docs/binding.md "Verification"):
 * binding (claim ↔ REPORT_DATA ↔ request ↔ response ↔ nonce), the session-key signature, the CPU evidence
 * (SEV-SNP here, TDX via src/verify/tdx) and GPU evidence (src/verify/nvidia).
 */
import { createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import {
  type AttestationEnvelope,
  BindingError,
  type BindingErrorCode,
  bytesToHex,
  type ClaimInputSide,
  type ClaimInputs,
  checkEvidenceShape,
  checkSessionShape,
  claimFromJson,
  type EvidenceJson,
  type ExecutionClaim,
  encodeClaim,
  evidenceFromJson,
  fromB64,
  gpuBindingData,
  gpuEvidenceDigest,
  inputSide,
  outputSide,
  parseEnvelope,
  type RequestedAttestation,
  type SessionKeyJson,
  sessionKeyDataFromJson,
  sessionKeyReportData,
} from '../binding/index.ts';
import type { ExecutionMode, WasmValue } from '../engine/index.ts';
import {
  type GpuReferenceValues,
  gpuNonceFor,
  type VerifyGpuEvidenceOptions,
  verifyGpuEvidenceList,
} from './nvidia/index.ts';
import type { KdsOptions } from './sev-snp/kds.ts';
import type { SnpPolicy } from './sev-snp/policy.ts';
import { parseReport } from './sev-snp/report.ts';
import { verifySnpReport } from './sev-snp/verify.ts';
import {
  parseTdxPolicy,
  parseTdxQuote,
  type TdxCollateral,
  type VerifyTdxOptions,
  verifyTdxQuote,
} from './tdx/index.ts';
import type { Check, Verdict } from './types.ts';
import { verdict } from './types.ts';

export interface VerifyExecutionOptions {
  /** The claim the caller expects (e.g. rebuilt from its own records): must equal the envelope's exactly. */
  claim?: ExecutionClaim;
  /** The saved Execute response (Connect/proto JSON, or `wasmvm-tee exec --server --json` output). */
  response?: unknown;
  /** The request that was sent (Connect/proto JSON of WASMVMExecutionRequest, or a ClaimRequest-like object). */
  request?: unknown;
  /**
   * The nonce the client sent (hex or bytes): the claim must carry exactly it. Without it (and without a
   * `request` carrying one) verification fails unless `freshness: 'skip'`.
   */
  nonce?: Uint8Array | string;
  /** 'require' (default): a nonce must be given and match. 'skip': freshness not checked (said in the verdict). */
  freshness?: 'require' | 'skip';
  /** Trust these simulated roots (PEM/DER): the CPU's (`wasmvm-tee attest --print-simulated-root`) and/or a GPU's. */
  trustSimulatedRoot?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  /** Accept any simulated root, CPU and GPU (testing only; loudly marked in the verdict). */
  allowSimulated?: boolean;
  /** Policy file contents: `{ snp?: SnpPolicy, tdx?: (parseTdxPolicy input), gpuReferenceValues?: ... }`. */
  policy?: {
    snp?: SnpPolicy;
    tdx?: unknown;
    gpuReferenceValues?: GpuReferenceValues;
    nvidia?: unknown;
    /** Allowed server build digests (64 hex; the reference-value file's `serverBuildSha256`). */
    serverBuildSha256?: readonly string[];
  };
  /**
   * Allowed server build digests (64 hex, 'sha256:' prefix allowed): the claim's attested
   * serverBuildSha256 must be one of them (check `reference.server-build`). Overrides `policy.serverBuildSha256`.
   */
  serverBuildSha256?: readonly string[];
  now?: Date;
  kds?: KdsOptions;
  crl?: Uint8Array | 'fetch';
  /** Accept a CRL past its nextUpdate (SEV-SNP; passed through to verifySnpReport). */
  allowStaleCrl?: boolean;
  /** TDX collateral (passed through to verifyTdxQuote). */
  tdxCollateral?: TdxCollateral;
  /** Require GPU evidence (a host could strip it otherwise): fails `gpu.required` when absent. */
  requireGpu?: boolean;
  /** Check that the verification time is inside the session key's window (default true). */
  checkSessionKeyValidity?: boolean;
  /** Clock skew allowed between the server and the verification time, ms (default 5 minutes). */
  clockSkewMs?: number;
}

const pass = (id: string, detail: string): Check => ({ id, outcome: 'pass', detail });
const fail = (id: string, detail: string): Check => ({ id, outcome: 'fail', detail });
const skip = (id: string, detail: string): Check => ({ id, outcome: 'skip', detail });

/**
 * `reference.server-build`: the attested server build against the pins (`serverBuildSha256` option, else
 * the policy file's). Pinned: pass or fail; attested but not pinned: a skip naming it; neither: nothing.
 */
function serverBuildCheck(
  got: string | undefined,
  opts: VerifyExecutionOptions,
  source: string,
): Check | undefined {
  const pins = opts.serverBuildSha256 ?? opts.policy?.serverBuildSha256;
  if (pins === undefined)
    return got === undefined
      ? undefined
      : skip(
          'reference.server-build',
          `server build ${got} attested, not pinned (require it with --server-build SHA256 or the policy file's serverBuildSha256)`,
        );
  const allowed = pins.map((h) => h.replace(/^sha256:/, '').toLowerCase());
  if (got !== undefined && allowed.includes(got))
    return pass('reference.server-build', `server build ${got} is pinned`);
  return fail(
    'reference.server-build',
    got === undefined
      ? `a server build is pinned but ${source} attests none (an older or differently configured server)`
      : `server build ${got} is not one of the pinned builds (${allowed.join(', ') || 'none'})`,
  );
}
const eq = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

type Cpu = ReturnType<typeof evidenceFromJson>;

async function verifyCpu(
  cpu: Cpu,
  expectedReportData: Uint8Array,
  opts: VerifyExecutionOptions,
): Promise<Verdict> {
  if (cpu.kind === 'sev-snp') {
    const roots = opts.trustSimulatedRoot;
    const list = roots === undefined ? [] : Array.isArray(roots) ? roots : [roots as string | Uint8Array];
    const o: Parameters<typeof verifySnpReport>[1] = { expectedReportData, trustSimulatedRoots: list };
    if (cpu.certs) o.certs = cpu.certs;
    if (cpu.auxblob) o.auxblob = cpu.auxblob;
    if (opts.now) o.now = opts.now;
    if (opts.policy?.snp) o.policy = opts.policy.snp;
    if (opts.allowSimulated) o.allowSimulated = true;
    if (opts.kds) o.kds = opts.kds;
    if (opts.crl) o.crl = opts.crl;
    if (opts.allowStaleCrl) o.allowStaleCrl = true;
    return verifySnpReport(cpu.report, o);
  }
  if (cpu.kind === 'tdx') {
    const roots = opts.trustSimulatedRoot;
    const list = roots === undefined ? [] : Array.isArray(roots) ? roots : [roots as string | Uint8Array];
    const o: VerifyTdxOptions = { expectedReportData, trustSimulatedRoots: list };
    if (opts.allowSimulated) o.allowSimulated = true;
    if (opts.now) o.now = opts.now;
    if (opts.tdxCollateral) o.collateral = opts.tdxCollateral;
    if (opts.policy?.tdx !== undefined) {
      try {
        o.policy = parseTdxPolicy(opts.policy.tdx);
      } catch (e) {
        return verdict('tdx', [fail('tdx.policy', `bad TDX policy: ${(e as Error).message}`)]);
      }
    }
    return verifyTdxQuote(cpu.report, o);
  }
  return verdict('unknown', [
    fail('cpu.kind', `unknown evidence kind '${String((cpu as { kind: unknown }).kind)}'`),
  ]);
}

/** REPORT_DATA inside the CPU evidence (64 bytes), without verifying it. */
function evidenceReportData(cpu: Cpu): Uint8Array | undefined {
  try {
    if (cpu.kind === 'sev-snp') return parseReport(cpu.report).reportData;
    return parseTdxQuote(cpu.report).body.reportData;
  } catch {
    return undefined;
  }
}

async function verifyGpu(
  gpu: unknown[],
  bindingData: Uint8Array,
  opts: VerifyExecutionOptions,
): Promise<Verdict> {
  // GPU nonce = gpuNonceFor(64 bytes): gpuBindingData(claim) for executions, the session REPORT_DATA for
  // GetAttestation answers (src/verify/nvidia/nonce.ts).
  const o: VerifyGpuEvidenceOptions = { nonce: gpuNonceFor(bindingData) };
  if (opts.now) o.now = opts.now;
  if (opts.policy?.gpuReferenceValues) o.referenceValues = opts.policy.gpuReferenceValues;
  // Simulated roots (tests): the same list as for the CPU (a GPU root among them is used), or any
  // SIMULATED-named self-signed root with allowSimulated.
  if (opts.trustSimulatedRoot !== undefined) o.trustSimulatedRoot = opts.trustSimulatedRoot;
  if (opts.allowSimulated) o.allowSimulated = true;
  return verifyGpuEvidenceList(gpu as Parameters<typeof verifyGpuEvidenceList>[0], o);
}

// ---------------------------------------------------------------- request / response JSON

function pick(o: unknown, ...keys: string[]): unknown {
  if (!o || typeof o !== 'object') return undefined;
  const r = o as Record<string, unknown>;
  for (const k of keys) if (r[k] !== undefined) return r[k];
  return undefined;
}

const camel = (k: string) => k.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/** A proto-JSON object with snake_case keys (proto names) read as camelCase (JSON names); strict keys. */
function protoObject(o: unknown, where: string, allowed: readonly string[]): Record<string, unknown> {
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw invalid(where, 'expected an object');
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    const c = camel(k);
    if (!allowed.includes(c)) throw invalid(`${where}.${k}`, 'unknown field');
    if (out[c] !== undefined) throw invalid(`${where}.${k}`, 'given twice');
    out[c] = v;
  }
  return out;
}

function invalid(field: string, why: string, code: BindingErrorCode = 'INVALID_RESPONSE'): BindingError {
  return new BindingError(code, `${field}: ${why}`, field);
}

const dv = new DataView(new ArrayBuffer(8));
const f32FromBits = (b: number) => {
  dv.setUint32(0, b >>> 0);
  return dv.getFloat32(0);
};
const f64FromBits = (b: bigint) => {
  dv.setBigUint64(0, BigInt.asUintN(64, b));
  return dv.getFloat64(0);
};
const f32Bits = (n: number) => {
  dv.setFloat32(0, n);
  return dv.getUint32(0);
};
const f64Bits = (n: number) => {
  dv.setFloat64(0, n);
  return dv.getBigUint64(0);
};

/** Proto JSON number for float/double: a number, or "NaN" / "Infinity" / "-Infinity" / a numeric string. */
function jsonFloat(x: unknown, where: string): number {
  if (typeof x === 'number') return x;
  if (x === 'NaN') return Number.NaN;
  if (x === 'Infinity') return Number.POSITIVE_INFINITY;
  if (x === '-Infinity') return Number.NEGATIVE_INFINITY;
  if (typeof x === 'string' && /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(x)) return Number(x);
  throw invalid(where, 'not a number');
}

function jsonInt(x: unknown, where: string, min: bigint, max: bigint): bigint {
  let b: bigint;
  if (typeof x === 'number' && Number.isSafeInteger(x)) b = BigInt(x);
  else if (typeof x === 'string' && /^-?(?:0|[1-9]\d*)$/.test(x)) b = BigInt(x);
  else throw invalid(where, 'not an integer');
  if (b < min || b > max) throw invalid(where, `${String(x)} out of range`);
  return b;
}

const U64 = (1n << 64n) - 1n;

/**
 * The derived decimal rendering of a value (what `exec` prints): integers in decimal; floats as the
 * shortest decimal that round-trips, `-0`, `inf`, `-inf`, `nan` or `nan:0xPAYLOAD` (non-canonical NaN).
 */
export function renderValue(v: WasmValue): string {
  switch (v.type) {
    case 'i32':
      return String(v.value | 0);
    case 'i64':
      return BigInt.asIntN(64, v.value).toString();
    default: {
      const n = v.type === 'f32' ? f32FromBits(v.bits) : f64FromBits(v.bits);
      const neg = v.type === 'f32' ? v.bits >>> 31 === 1 : BigInt.asUintN(64, v.bits) >> 63n === 1n;
      if (Number.isNaN(n)) {
        const payload =
          v.type === 'f32' ? BigInt(v.bits & 0x7fffff) : BigInt.asUintN(64, v.bits) & ((1n << 52n) - 1n);
        const canonical = v.type === 'f32' ? 0x400000n : 1n << 51n;
        return `${neg ? '-' : ''}nan${payload === canonical ? '' : `:0x${payload.toString(16)}`}`;
      }
      if (n === Number.POSITIVE_INFINITY) return 'inf';
      if (n === Number.NEGATIVE_INFINITY) return '-inf';
      if (n === 0 && neg) return '-0';
      return String(n);
    }
  }
}

/** The legacy string rendering of a typed input, as the server echoes it in `inputs` (NaN payload lost). */
function inputString(v: WasmValue): string {
  switch (v.type) {
    case 'i32':
      return String(v.value | 0);
    case 'i64':
      return BigInt.asIntN(64, v.value).toString();
    case 'f32':
      return String(f32FromBits(v.bits));
    case 'f64':
      return String(f64FromBits(v.bits));
  }
}

const TYPE_NAMES: Record<string, WasmValue['type']> = {
  VALUE_TYPE_INT32: 'i32',
  VALUE_TYPE_INT64: 'i64',
  VALUE_TYPE_FLOAT32: 'f32',
  VALUE_TYPE_FLOAT64: 'f64',
  '1': 'i32',
  '2': 'i64',
  '3': 'f32',
  '4': 'f64',
  i32: 'i32',
  i64: 'i64',
  f32: 'f32',
  f64: 'f64',
};
const FIELD_OF = { i32: 'int32Value', i64: 'int64Value', f32: 'float32Value', f64: 'float64Value' } as const;
const VALUE_KEYS = ['type', 'int32Value', 'int64Value', 'float32Value', 'float64Value', 'bits', 'value'];

/**
 * A typed value in any JSON form the product writes or reads — proto JSON `wasm.Value`
 * ({type, int32Value|…, bits}), the claim view ({type, value|bits}) or `exec --json` ({type, bits: '0x…',
 * value: rendering}) — read strictly: every representation present must denote the same value (typed field
 * vs bits, decimal rendering vs bits). `strictAgree: false` (requests): bits win, as on the server.
 */
export function protoJsonValue(v: unknown, where: string, strictAgree = true): WasmValue {
  const o = protoObject(v, where, VALUE_KEYS);
  const given = Object.keys(o).filter((k) => k.endsWith('Value'));
  if (given.length > 1) throw invalid(where, `more than one of ${given.join(', ')}`);
  const tRaw = o.type;
  let type = tRaw === undefined ? undefined : TYPE_NAMES[String(tRaw)];
  if (tRaw !== undefined && type === undefined)
    throw invalid(`${where}.type`, `unknown value type ${String(tRaw)}`);
  if (type === undefined && given.length === 1)
    type = (Object.entries(FIELD_OF).find(([, f]) => f === given[0])?.[0] ?? undefined) as WasmValue['type'];
  if (type === undefined) throw invalid(where, 'unknown value type');
  if (given.length === 1 && given[0] !== FIELD_OF[type])
    throw invalid(`${where}.${given[0]}`, `does not match type ${type}`);
  const reps: Array<[string, WasmValue]> = [];
  const wide = type === 'i64' || type === 'f64';
  if (o.bits !== undefined) {
    let b: bigint;
    if (typeof o.bits === 'string' && /^0x[0-9a-f]+$/.test(o.bits)) {
      if (o.bits.length !== (wide ? 18 : 10)) throw invalid(`${where}.bits`, 'wrong width');
      b = BigInt(o.bits);
    } else b = jsonInt(o.bits, `${where}.bits`, 0n, wide ? U64 : 0xffffffffn);
    const bv: WasmValue =
      type === 'i32'
        ? { type, value: Number(BigInt.asIntN(32, b)) }
        : type === 'i64'
          ? { type, value: BigInt.asIntN(64, b) }
          : type === 'f32'
            ? { type, bits: Number(b) }
            : { type, bits: b };
    reps.push(['bits', bv]);
  }
  const typed = o[FIELD_OF[type]];
  if (typed !== undefined) {
    const f = `${where}.${FIELD_OF[type]}`;
    if (type === 'i32')
      reps.push([FIELD_OF[type], { type, value: Number(jsonInt(typed, f, -(2n ** 31n), 2n ** 31n - 1n)) }]);
    else if (type === 'i64')
      reps.push([FIELD_OF[type], { type, value: jsonInt(typed, f, -(2n ** 63n), 2n ** 63n - 1n) }]);
    else {
      const n = jsonFloat(typed, f);
      // A float field is a rendering: it agrees when it denotes the same float (any NaN for a NaN; 0 for
      // ±0, since JSON serializers write -0 as 0). The bits decide the value.
      const bitsRep = reps[0]?.[1];
      if (bitsRep && (bitsRep.type === 'f32' || bitsRep.type === 'f64')) {
        const exact = bitsRep.type === 'f32' ? f32FromBits(bitsRep.bits) : f64FromBits(bitsRep.bits);
        const shown = type === 'f32' ? Math.fround(n) : n;
        if (strictAgree && exact !== shown && !(Number.isNaN(exact) && Number.isNaN(shown)))
          throw invalid(
            f,
            `${String(typed)} ≠ the value of bits (${renderValue(bitsRep)})`,
            'VALUE_MISMATCH',
          );
      } else
        reps.push([FIELD_OF[type], type === 'f32' ? { type, bits: f32Bits(n) } : { type, bits: f64Bits(n) }]);
    }
  }
  if (o.value !== undefined) {
    const f = `${where}.value`;
    if (type === 'i32')
      reps.push(['value', { type, value: Number(jsonInt(o.value, f, -(2n ** 31n), 2n ** 31n - 1n)) }]);
    else if (type === 'i64')
      reps.push(['value', { type, value: jsonInt(o.value, f, -(2n ** 63n), 2n ** 63n - 1n) }]);
    else {
      const bitsRep = reps[0]?.[1];
      if (!bitsRep) throw invalid(`${where}.bits`, 'missing (a float rendering alone is not exact)');
      if (o.value !== renderValue(bitsRep))
        throw invalid(
          f,
          `'${String(o.value)}' ≠ the rendering of bits '${renderValue(bitsRep)}'`,
          'VALUE_MISMATCH',
        );
    }
  }
  if (reps.length === 0) throw invalid(where, 'no value');
  const first = reps[0]![1];
  const key = (x: WasmValue) => (x.type === 'i32' || x.type === 'i64' ? String(x.value) : String(x.bits));
  for (const [name, r] of reps.slice(1))
    if (key(r) !== key(first)) {
      if (!strictAgree) break;
      throw invalid(
        `${where}.${name}`,
        `${key(r)} disagrees with ${reps[0]![0]} ${key(first)}`,
        'VALUE_MISMATCH',
      );
    }
  return first;
}

const MODE_NAMES: Record<string, ExecutionMode> = {
  WASMVM_MODE_INTERP_UNSPECIFIED: 'interp',
  WASMVM_MODE_SINGLEPASS: 'singlepass',
  WASMVM_MODE_MULTIPASS: 'multipass',
  '0': 'interp',
  '1': 'singlepass',
  '2': 'multipass',
  interp: 'interp',
  singlepass: 'singlepass',
  multipass: 'multipass',
};
const ATTESTATION_NAMES: Record<string, RequestedAttestation> = {
  ATTESTATION_MODE_UNSPECIFIED: 'default',
  ATTESTATION_MODE_PER_REQUEST: 'per-request',
  ATTESTATION_MODE_SESSION_KEY: 'session-key',
  '0': 'default',
  '1': 'per-request',
  '2': 'session-key',
  default: 'default',
  'per-request': 'per-request',
  'session-key': 'session-key',
};

/** Proto JSON bytes: standard or URL-safe base64, canonical. */
function b64Field(v: unknown, what: string): Uint8Array {
  if (typeof v !== 'string') throw invalid(what, 'expected base64');
  const std = v.replace(/-/g, '+').replace(/_/g, '/');
  const padded = std + '='.repeat((4 - (std.length % 4)) % 4);
  return fromB64(padded, what);
}

const REQ_EXECUTION_KEYS = [
  'version',
  'requestId',
  'bytecode',
  'fnName',
  'inputs',
  'timestamp',
  'bytecodeRaw',
  'typedInputs',
  'nonce',
];
const REQ_CONFIG_KEYS = ['mode', 'gasLimit', 'attestationMode', 'includeGpuEvidence', 'meter'];

/**
 * The input side of a request, from the proto JSON of WASMVMExecutionRequest (as `exec --server` sends
 * it) — mirrors the server's parsing. Unknown fields are an error naming the field.
 */
export function claimInputFromRequest(req: unknown): ClaimInputSide & { requestId?: string } {
  const top = protoObject(req, 'request', ['execution', 'runtimeConfig']);
  if (top.execution === undefined) throw invalid('request.execution', 'missing', 'INVALID_REQUEST');
  const ex = protoObject(top.execution, 'request.execution', REQ_EXECUTION_KEYS);
  const rc =
    top.runtimeConfig === undefined
      ? {}
      : protoObject(top.runtimeConfig, 'request.runtimeConfig', REQ_CONFIG_KEYS);
  let bytecode: Uint8Array;
  if (typeof ex.bytecode === 'string' && ex.bytecode !== '')
    bytecode = b64Field(ex.bytecode, 'request.execution.bytecode');
  else if (ex.bytecodeRaw !== undefined) bytecode = b64Field(ex.bytecodeRaw, 'request.execution.bytecodeRaw');
  else throw invalid('request.execution.bytecode', 'missing', 'INVALID_REQUEST');
  const bytecodeSha256 = createHash('sha256').update(bytecode).digest('hex');
  const fn = ex.fnName;
  if (typeof fn !== 'string' || fn === '')
    throw invalid('request.execution.fnName', 'missing', 'INVALID_REQUEST');
  const typed = ex.typedInputs;
  const legacy = ex.inputs;
  let inputs: ClaimInputs;
  if (Array.isArray(typed) && typed.length > 0)
    inputs = typed.map((v, i) => protoJsonValue(v, `request.execution.typedInputs[${i}]`, false));
  else if (legacy === undefined) inputs = { legacy: [] };
  else if (Array.isArray(legacy) && legacy.every((x) => typeof x === 'string')) inputs = { legacy };
  else throw invalid('request.execution.inputs', 'expected a list of strings', 'INVALID_REQUEST');
  const modeRaw = rc.mode ?? 'WASMVM_MODE_INTERP_UNSPECIFIED';
  const mode = MODE_NAMES[String(modeRaw)];
  if (!mode)
    throw invalid('request.runtimeConfig.mode', `unknown mode ${String(modeRaw)}`, 'INVALID_REQUEST');
  const attRaw = rc.attestationMode ?? 'ATTESTATION_MODE_UNSPECIFIED';
  const attestationRequested = ATTESTATION_NAMES[String(attRaw)];
  if (!attestationRequested)
    throw invalid(
      'request.runtimeConfig.attestationMode',
      `unknown mode ${String(attRaw)}`,
      'INVALID_REQUEST',
    );
  const bool = (x: unknown, f: string) => {
    if (x === undefined) return false;
    if (typeof x !== 'boolean') throw invalid(f, 'expected true or false', 'INVALID_REQUEST');
    return x;
  };
  const out: ClaimInputSide & { requestId?: string } = {
    bytecodeSha256,
    fn,
    inputs,
    mode,
    meter: bool(rc.meter, 'request.runtimeConfig.meter'),
    attestationRequested,
    gpuRequested: bool(rc.includeGpuEvidence, 'request.runtimeConfig.includeGpuEvidence'),
  };
  if (rc.gasLimit !== undefined) {
    const gl = protoObject(rc.gasLimit, 'request.runtimeConfig.gasLimit', ['useGasLimit', 'limit']);
    if (bool(gl.useGasLimit, 'request.runtimeConfig.gasLimit.useGasLimit'))
      out.gasLimit = jsonInt(gl.limit ?? '0', 'request.runtimeConfig.gasLimit.limit', 1n, (1n << 63n) - 1n);
  }
  if (ex.nonce !== undefined && ex.nonce !== '') out.nonce = b64Field(ex.nonce, 'request.execution.nonce');
  if (typeof ex.requestId === 'string' && ex.requestId !== '') out.requestId = ex.requestId;
  return out;
}

/** Find the envelope JSON in a saved response. */
export function attestationFromResponse(resp: unknown): unknown {
  const candidates = [resp, pick(resp, 'result'), pick(pick(resp, 'response'), 'result')];
  for (const c of candidates) {
    const a = pick(c, 'attestation');
    if (a !== undefined && a !== '') return a;
  }
  if (pick(resp, 'format') === 'wasmvm-tee/attestation') return resp;
  if (pick(resp, 'evidence') !== undefined && pick(resp, 'reportData') !== undefined)
    throw invalid(
      'attestation',
      "this is 'wasmvm-tee attest --json' output (raw evidence, no execution claim): verify it with 'wasmvm-tee verify --evidence FILE'",
    );
  if (pick(resp, 'outputs') !== undefined && pick(resp, 'durationMs') !== undefined)
    throw invalid(
      'attestation',
      "this is local 'wasmvm-tee exec --json' output: nothing attested it (run it on a server: 'exec --server … --json')",
    );
  throw invalid('attestation', 'no attestation in the response (expected result.attestation)');
}

// ---------------------------------------------------------------- response ↔ claim

const RESULT_KEYS = [
  'inputs',
  'outputValues',
  'attestation',
  'reportData',
  'status',
  'trapMessage',
  'gasUsed',
  'costTableVersion',
  'bytecodeSha256',
  'mode',
  'attestationMode',
  'claim',
  'claimSignature',
  'evidence',
  'timing',
  'simulated',
  'nonce',
  'exitCode',
  'webgpu',
  'serverBuildSha256',
];
const EVIDENCE_KEYS = [
  'teeKind',
  'simulated',
  'provider',
  'report',
  'vcek',
  'vlek',
  'ask',
  'ark',
  'sessionPublicKey',
  'reportData',
  'gpuEvidence',
];
/** `wasmvm-tee exec --server --json` output (src/cli/exec-remote.ts). */
const CLI_KEYS = [
  'requestId',
  'status',
  'trapMessage',
  'outputs',
  'inputs',
  'exitCode',
  'gasUsed',
  'costTableVersion',
  'bytecodeSha256',
  'mode',
  'nonce',
  'reportData',
  'attestationMode',
  'attestation',
  'simulated',
  'webgpu',
  'serverBuildSha256',
  'verified',
  'verdict',
];

interface ResponseView {
  shape: 'proto' | 'cli';
  /** field name → value as shown (absent proto3 fields: their default). */
  fields: Record<string, unknown>;
  unverified: string[];
}

/** Read a saved response strictly (unknown fields are an error naming the field). */
export function readResponse(resp: unknown): ResponseView | undefined {
  if (!resp || typeof resp !== 'object') throw invalid('response', 'not an object');
  const r = resp as Record<string, unknown>;
  if (r.format === 'wasmvm-tee/attestation') return undefined;
  if (r.result !== undefined || r.response !== undefined) {
    const top = protoObject(r.response ?? r, 'response', ['requestId', 'result']);
    const res = protoObject(top.result, 'response.result', RESULT_KEYS);
    const fields: Record<string, unknown> = { requestId: top.requestId ?? '', ...res };
    const unverified: string[] = [];
    if (res.timing !== undefined)
      for (const k of Object.keys(
        protoObject(res.timing, 'response.result.timing', ['totalUs', 'executeUs', 'attestUs', 'cacheHit']),
      ))
        unverified.push(`result.timing.${k}`);
    return { shape: 'proto', fields, unverified };
  }
  const fields = protoObject(r, 'response', CLI_KEYS);
  const unverified = ['verified', 'verdict'].filter((k) => fields[k] !== undefined);
  return { shape: 'cli', fields, unverified };
}

function same(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return Buffer.from(a ?? new Uint8Array(0)).equals(Buffer.from(b ?? new Uint8Array(0)));
}

/**
 * Compare every field the response shows with the attested claim and envelope. Each field is a check
 * `response.<field>`; fields that carry no attested meaning are listed in `response.unverified`.
 */
function responseChecks(
  view: ResponseView,
  env: AttestationEnvelope,
  claim: ExecutionClaim,
  rawAttestation: unknown,
  encoded: Uint8Array,
): Check[] {
  const checks: Check[] = [];
  const f = view.fields;
  const proto = view.shape === 'proto';
  const P = proto ? 'result.' : '';
  const cmp = (id: string, field: string, run: () => string | undefined) => {
    let why: string | undefined;
    try {
      why = run();
    } catch (e) {
      why = (e as Error).message;
    }
    checks.push(
      why === undefined
        ? pass(`response.${id}`, `${field} = attested claim`)
        : fail(`response.${id}`, `${field}: ${why}`),
    );
  };
  const str = (k: string, want: string, dflt = '') => {
    const got = f[k] ?? dflt;
    if (typeof got !== 'string') return 'expected a string';
    return got === want ? undefined : `'${got}' ≠ attested '${want}'`;
  };
  // The response's attestation is the envelope verified: the same text, or (an envelope passed
  // separately, e.g. already parsed by a client) the same JSON.
  if (f.attestation !== undefined && f.attestation !== rawAttestation) {
    let same_ = false;
    try {
      const shown = typeof f.attestation === 'string' ? JSON.parse(f.attestation) : f.attestation;
      const verified = typeof rawAttestation === 'string' ? JSON.parse(rawAttestation) : rawAttestation;
      same_ = JSON.stringify(shown) === JSON.stringify(verified);
    } catch {
      same_ = false;
    }
    if (!same_)
      checks.push(fail('response.attestation', `${P}attestation: not the envelope that was verified`));
  } else if (typeof rawAttestation !== 'string' && typeof f.attestation !== 'object')
    checks.push(fail('response.attestation', 'attestation: expected the envelope JSON string'));
  // Proto3 JSON leaves out empty strings, empty bytes, UNSPECIFIED enums and unset messages: for these
  // fields "not shown" is not a claim about the execution. Every other field is compared as shown (its
  // default included: simulated false, mode interp, no outputs, no nonce, … are statements).
  const shown = (k: string) =>
    f[k] !== undefined && f[k] !== '' && f[k] !== 'ATTESTATION_MODE_UNSPECIFIED' && f[k] !== 0;
  const notShown = (k: string) => proto && !shown(k);
  cmp('request-id', 'requestId', () =>
    notShown('requestId') ? undefined : str('requestId', claim.requestId ?? ''),
  );
  cmp('status', `${P}status`, () => str('status', claim.status));
  cmp('trap-message', `${P}trapMessage`, () => str('trapMessage', claim.trapMessage ?? ''));
  cmp('outputs', proto ? 'result.outputValues' : 'outputs', () => {
    const list = (proto ? f.outputValues : f.outputs) ?? [];
    if (!Array.isArray(list)) return 'expected a list';
    if (list.length !== claim.outputs.length)
      return `${list.length} values ≠ ${claim.outputs.length} attested`;
    for (const [i, v] of list.entries()) {
      const got = protoJsonValue(v, `${proto ? 'result.outputValues' : 'outputs'}[${i}]`);
      const want = claim.outputs[i]!;
      const k = (x: WasmValue) =>
        `${x.type}:${x.type === 'i32' || x.type === 'i64' ? String(x.value) : String(x.bits)}`;
      if (k(got) !== k(want)) return `[${i}] ${k(got)} ≠ attested ${k(want)}`;
    }
    return undefined;
  });
  cmp('inputs', `${P}inputs`, () => {
    const list = f.inputs ?? [];
    if (!proto && f.inputs === undefined) return undefined;
    const want =
      'legacy' in claim.inputs ? [...claim.inputs.legacy] : (claim.inputs as WasmValue[]).map(inputString);
    return JSON.stringify(list) === JSON.stringify(want)
      ? undefined
      : `${JSON.stringify(list)} ≠ attested ${JSON.stringify(want)}`;
  });
  cmp('gas-used', `${P}gasUsed`, () => {
    const g = f.gasUsed;
    if (g === undefined) return claim.gasUsed === undefined ? undefined : `absent, attested ${claim.gasUsed}`;
    const b = jsonInt(g, `${P}gasUsed`, 0n, U64);
    return claim.gasUsed === b ? undefined : `${b} ≠ attested ${claim.gasUsed ?? '(none)'}`;
  });
  cmp('exit-code', `${P}exitCode`, () => {
    const x = f.exitCode;
    if (x === undefined)
      return claim.exitCode === undefined ? undefined : `absent, attested ${claim.exitCode}`;
    const b = jsonInt(x, `${P}exitCode`, -(2n ** 31n), 2n ** 31n - 1n);
    return claim.exitCode !== undefined && BigInt(claim.exitCode) === b
      ? undefined
      : `${b} ≠ attested ${claim.exitCode ?? '(none)'}`;
  });
  cmp('cost-table-version', `${P}costTableVersion`, () =>
    !proto && f.costTableVersion === undefined && claim.costTableVersion === undefined
      ? undefined
      : str('costTableVersion', claim.costTableVersion ?? ''),
  );
  cmp('bytecode-sha256', `${P}bytecodeSha256`, () =>
    notShown('bytecodeSha256')
      ? undefined
      : !proto && f.bytecodeSha256 === undefined
        ? 'missing'
        : str('bytecodeSha256', claim.bytecodeSha256),
  );
  cmp('mode', `${P}mode`, () => {
    const m = f.mode ?? (proto ? 'WASMVM_MODE_INTERP_UNSPECIFIED' : undefined);
    if (m === undefined) return 'missing';
    const got = MODE_NAMES[String(m)];
    return got === claim.executedMode
      ? undefined
      : `'${String(m)}' ≠ attested executed mode '${claim.executedMode}'`;
  });
  cmp('attestation-mode', `${P}attestationMode`, () => {
    if (notShown('attestationMode')) return undefined;
    const m = f.attestationMode;
    if (m === undefined) return 'missing';
    const got = ATTESTATION_NAMES[String(m)];
    return got === claim.attestationMode ? undefined : `'${String(m)}' ≠ attested '${claim.attestationMode}'`;
  });
  cmp('nonce', `${P}nonce`, () => {
    if (f.nonce === undefined)
      return !proto && claim.nonce !== undefined
        ? 'missing'
        : same(undefined, claim.nonce)
          ? undefined
          : 'absent, the claim has a nonce';
    const got = proto ? b64Field(f.nonce, `${P}nonce`) : hexBytes(f.nonce, 'nonce');
    return same(got, claim.nonce)
      ? undefined
      : `${bytesToHex(got)} ≠ attested ${claim.nonce ? bytesToHex(claim.nonce) : '(none)'}`;
  });
  cmp('report-data', `${P}reportData`, () => {
    if (notShown('reportData')) return undefined;
    const got = f.reportData ?? '';
    return got === env.reportData ? undefined : `'${String(got)}' ≠ recomputed ${env.reportData}`;
  });
  cmp('simulated', `${P}simulated`, () => {
    const got = f.simulated ?? false;
    if (typeof got !== 'boolean') return 'expected true or false';
    return got === claim.simulated ? undefined : `${got} ≠ attested ${claim.simulated}`;
  });
  cmp('server-build', `${P}serverBuildSha256`, () =>
    !proto && f.serverBuildSha256 === undefined && claim.serverBuildSha256 === undefined
      ? undefined
      : str('serverBuildSha256', claim.serverBuildSha256 ?? ''),
  );
  cmp('webgpu', `${P}webgpu`, () => webgpuDiff(f.webgpu, claim.webgpu, `${P}webgpu`, proto));
  if (proto) {
    cmp('claim', 'result.claim', () => {
      if (notShown('claim')) return undefined;
      if (f.claim === Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength).toString('base64'))
        return undefined;
      const got = b64Field(f.claim, 'result.claim');
      return same(got, encoded) ? undefined : 'the claim bytes differ from the envelope claim, encoded';
    });
    cmp('claim-signature', 'result.claimSignature', () => {
      if (notShown('claimSignature')) return undefined;
      if (f.claimSignature === env.signature) return undefined;
      const got = b64Field(f.claimSignature, 'result.claimSignature');
      const want =
        env.signature === undefined ? new Uint8Array(0) : fromB64(env.signature, 'attestation.signature');
      return same(got, want) ? undefined : 'differs from the envelope signature';
    });
    cmp('evidence', 'result.evidence', () =>
      f.evidence === undefined ? undefined : structuredEvidenceDiff(f.evidence, env),
    );
  }
  const unverified = view.unverified;
  checks.push(
    skip(
      'response.unverified',
      unverified.length === 0
        ? 'every response field was compared'
        : `not attested, not checked: ${unverified.join(', ')}`,
    ),
  );
  return checks;
}

const WEBGPU_ADAPTER_KEYS = ['vendor', 'architecture', 'device', 'description', 'backend', 'featureLevel'];
const WEBGPU_COUNTERS = ['calls', 'dispatches', 'workgroups', 'bytesToGpu', 'bytesFromGpu'] as const;

/**
 * The response's WebGPU use vs the claim's, field by field (proto JSON: {adapter: {…}, calls, …, gas,
 * gasTableVersion}, zero values left out; the CLI shape: the claim's JSON view). undefined when equal.
 */
function webgpuDiff(
  got: unknown,
  want: ExecutionClaim['webgpu'],
  where: string,
  proto: boolean,
): string | undefined {
  if (got === undefined || got === null)
    return want === undefined ? undefined : `absent, attested (${want.vendor} ${want.device})`;
  if (want === undefined) return 'present, the claim attests no WebGPU use';
  const diffs: string[] = [];
  let o: Record<string, unknown>;
  let a: Record<string, unknown>;
  if (proto) {
    o = protoObject(got, where, ['adapter', ...WEBGPU_COUNTERS, 'gas', 'gasTableVersion']);
    a = o.adapter === undefined ? {} : protoObject(o.adapter, `${where}.adapter`, WEBGPU_ADAPTER_KEYS);
  } else {
    o = protoObject(got, where, [...WEBGPU_ADAPTER_KEYS, ...WEBGPU_COUNTERS, 'gas', 'gasTableVersion']);
    a = o;
  }
  for (const k of WEBGPU_ADAPTER_KEYS) {
    const g = a[k] ?? '';
    const w = want[k as keyof typeof want];
    if (g !== w) diffs.push(`${k} '${String(g)}' ≠ attested '${String(w)}'`);
  }
  for (const k of WEBGPU_COUNTERS) {
    const g = jsonInt(o[k] ?? (proto ? '0' : undefined), `${where}.${k}`, 0n, U64);
    if (g !== want[k]) diffs.push(`${k} ${g} ≠ attested ${want[k]}`);
  }
  const gas = o.gas === undefined ? undefined : jsonInt(o.gas, `${where}.gas`, 0n, U64);
  if (gas !== want.gas) diffs.push(`gas ${gas ?? '(none)'} ≠ attested ${want.gas ?? '(none)'}`);
  if ((o.gasTableVersion ?? '') !== want.gasTableVersion)
    diffs.push(`gasTableVersion '${String(o.gasTableVersion ?? '')}' ≠ attested '${want.gasTableVersion}'`);
  return diffs.length === 0 ? undefined : diffs.join('; ');
}

function hexBytes(v: unknown, what: string): Uint8Array {
  if (typeof v !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(v)) throw invalid(what, 'expected lowercase hex');
  return new Uint8Array(Buffer.from(v, 'hex'));
}

/** The structured `evidence` field vs the envelope's evidence (byte for byte); undefined when equal. */
function structuredEvidenceDiff(ev: unknown, env: AttestationEnvelope): string | undefined {
  const cpu: EvidenceJson | undefined = env.evidence ?? env.session?.evidence;
  const o = ev === undefined ? {} : protoObject(ev, 'result.evidence', EVIDENCE_KEYS);
  const diffs: string[] = [];
  const b = (k: string) => (o[k] === undefined ? new Uint8Array(0) : b64Field(o[k], `result.evidence.${k}`));
  const envB = (s: string | undefined, what: string) =>
    s === undefined ? new Uint8Array(0) : fromB64(s, what);
  // the same canonical base64 text is the same bytes: decode only when the texts differ
  const sameB = (k: string, s: string | undefined, what: string) =>
    (o[k] === undefined && s === undefined) || o[k] === s || same(b(k), envB(s, what));
  if ((o.teeKind ?? '') !== (cpu?.kind ?? '')) diffs.push('teeKind');
  if ((o.simulated ?? false) !== (cpu?.simulated ?? false)) diffs.push('simulated');
  if ((o.provider ?? '') !== (cpu?.provider ?? '')) diffs.push('provider');
  if (!sameB('report', cpu?.report, 'evidence.report')) diffs.push('report');
  for (const k of ['vcek', 'vlek', 'ask', 'ark'] as const)
    if (!sameB(k, cpu?.certs?.[k], `evidence.certs.${k}`)) diffs.push(k);
  if (!sameB('sessionPublicKey', env.session?.spki, 'session.spki')) diffs.push('sessionPublicKey');
  const rd = o.reportData ?? '';
  if (rd !== '') {
    const inEv = cpu ? evidenceReportData(evidenceFromJson(cpu)) : undefined;
    if (!inEv || rd !== bytesToHex(inEv)) diffs.push('reportData');
  }
  const gpu = o.gpuEvidence ?? '';
  const wantGpu = Array.isArray(env.gpu) && env.gpu.length > 0 ? JSON.stringify(env.gpu) : '';
  if (gpu !== wantGpu) diffs.push('gpuEvidence');
  return diffs.length === 0 ? undefined : `differs from the envelope's evidence in ${diffs.join(', ')}`;
}

// ---------------------------------------------------------------- main entry

const SKEW_MS = 300_000;

/**
 * Verify an execution: its attestation envelope, and — when given — the saved response (every field
 * compared with the claim), the request (input side recomputed) and the nonce. Never throws for bad
 * input: it becomes a failed check naming the field.
 */
export async function verifyExecution(
  envelopeIn: unknown,
  opts: VerifyExecutionOptions = {},
): Promise<Verdict> {
  const checks: Check[] = [];
  const parts: Verdict[] = [];
  const fields: Record<string, unknown> = {};
  let env: AttestationEnvelope;
  let claim: ExecutionClaim;
  let view: ResponseView | undefined;
  let rawAttestation: unknown;
  try {
    rawAttestation =
      envelopeIn === undefined && opts.response !== undefined
        ? attestationFromResponse(opts.response)
        : envelopeIn;
    if (opts.response !== undefined) view = readResponse(opts.response);
    env = parseEnvelope(rawAttestation);
    claim = claimFromJson(env.claim);
    checks.push(pass('binding.envelope', `envelope v${env.v}, claim v3, mode ${env.mode}`));
  } catch (e) {
    const err = e as BindingError;
    checks.push(fail('binding.envelope', `${err.code ? `${err.code}: ` : ''}${err.message}`));
    return verdict('execution', checks, { fields: err.field ? { errorField: err.field } : {} });
  }
  fields.mode = env.mode;
  fields.claim = env.claim;
  let rd: Uint8Array;
  let encoded: Uint8Array;
  let claimInput: Uint8Array;
  try {
    const a = inputSide(claim);
    const b = outputSide(claim);
    claimInput = a;
    rd = new Uint8Array(64);
    rd.set(createHash('sha256').update(a).digest(), 0);
    rd.set(createHash('sha256').update(b).digest(), 32);
    // encodeClaim(claim) = u32be len ‖ input side ‖ u32be len ‖ output side
    encoded = new Uint8Array(8 + a.length + b.length);
    const dvw = new DataView(encoded.buffer);
    dvw.setUint32(0, a.length);
    encoded.set(a, 4);
    dvw.setUint32(4 + a.length, b.length);
    encoded.set(b, 8 + a.length);
  } catch (e) {
    checks.push(fail('binding.report-data', `cannot encode the claim: ${(e as Error).message}`));
    return verdict('execution', checks, { fields });
  }
  fields.reportData = bytesToHex(rd);
  checks.push(
    env.reportData === bytesToHex(rd)
      ? pass('binding.report-data', 'REPORT_DATA recomputed from the claim = envelope.reportData')
      : fail(
          'binding.report-data',
          `REPORT_DATA recomputed from the claim ${bytesToHex(rd)} ≠ envelope.reportData ${env.reportData}`,
        ),
  );
  if (opts.claim) {
    let ok = false;
    try {
      ok = eq(encodeClaim(opts.claim), encoded);
    } catch {
      ok = false;
    }
    checks.push(
      (ok ? pass : fail)(
        'binding.claim',
        ok ? 'envelope claim = expected claim' : 'envelope claim differs from the expected claim',
      ),
    );
  }

  // ---- the request and freshness
  let requestNonce: Uint8Array | undefined;
  let requestHasNonce = false;
  if (opts.request !== undefined) {
    try {
      const fromReq = claimInputFromRequest(opts.request);
      requestHasNonce = fromReq.nonce !== undefined;
      requestNonce = fromReq.nonce;
      const ok = eq(inputSide(fromReq), claimInput);
      const diff = (
        [
          ['bytecode', fromReq.bytecodeSha256 !== claim.bytecodeSha256],
          ['function', fromReq.fn !== claim.fn],
          ['mode', fromReq.mode !== claim.mode],
          ['gas limit', fromReq.gasLimit !== claim.gasLimit],
          ['meter', fromReq.meter !== claim.meter],
          ['attestation mode', fromReq.attestationRequested !== claim.attestationRequested],
          ['GPU evidence requested', fromReq.gpuRequested !== claim.gpuRequested],
          [
            'nonce',
            !same(fromReq.nonce, claim.nonce) ||
              (fromReq.nonce === undefined) !== (claim.nonce === undefined),
          ],
        ] as const
      )
        .filter(([, d]) => d)
        .map(([n]) => n);
      const ridOk = fromReq.requestId === undefined || fromReq.requestId === claim.requestId;
      checks.push(
        ok && ridOk
          ? pass('binding.request', 'input side recomputed from the request = attested input side')
          : fail(
              'binding.request',
              `request ≠ attested claim (${[...diff, ...(ridOk ? [] : ['request id'])].join(', ') || 'inputs'})`,
            ),
      );
    } catch (e) {
      checks.push(fail('binding.request', `cannot read the request: ${(e as Error).message}`));
    }
  }
  const nonceGiven =
    opts.nonce !== undefined
      ? typeof opts.nonce === 'string'
        ? hexNonce(opts.nonce)
        : new Uint8Array(opts.nonce)
      : requestHasNonce
        ? requestNonce
        : undefined;
  if (nonceGiven !== undefined) {
    const ok = claim.nonce !== undefined && eq(claim.nonce, nonceGiven);
    checks.push(
      (ok ? pass : fail)(
        'binding.nonce',
        ok
          ? `claim nonce = the client nonce${opts.nonce === undefined ? ' (from the request)' : ''}: fresh`
          : `claim nonce ${claim.nonce ? bytesToHex(claim.nonce) : '(none)'} ≠ ${bytesToHex(nonceGiven)}`,
      ),
    );
  } else if (opts.freshness === 'skip') {
    checks.push(
      skip(
        'binding.nonce',
        'freshness NOT checked (no nonce; skipped on request): this may be a replayed result',
      ),
    );
    fields.freshness = 'not checked';
  } else
    checks.push(
      fail(
        'binding.nonce',
        'no nonce given: freshness cannot be checked. Give the nonce you sent (--nonce HEX, or a --request that carries it) or skip it explicitly (--no-nonce)',
      ),
    );

  // ---- the claim on its own
  const incons: string[] = [];
  if (claim.status === 'ok' && claim.trapMessage !== undefined) incons.push('status ok with a trap message');
  if (claim.status !== 'ok' && claim.outputs.length > 0) incons.push(`status ${claim.status} with outputs`);
  if (claim.executedMode !== claim.mode)
    incons.push(`ran in mode ${claim.executedMode}, the request asked for ${claim.mode}`);
  if (claim.attestationRequested !== 'default' && claim.attestationRequested !== claim.attestationMode)
    incons.push(`attested ${claim.attestationMode}, the request asked for ${claim.attestationRequested}`);
  if (claim.attestationMode !== env.mode)
    incons.push(`claim says ${claim.attestationMode}, envelope is ${env.mode}`);
  if ((claim.gasLimit !== undefined || claim.meter) && claim.gasUsed === undefined)
    incons.push('metered execution without gas used');
  checks.push(
    incons.length === 0
      ? pass(
          'binding.claim-consistency',
          'claim consistent: status/trap/outputs, requested = executed mode, attestation mode',
        )
      : fail('binding.claim-consistency', incons.join('; ')),
  );
  const nowMs = (opts.now ?? new Date()).getTime();
  const skew = opts.clockSkewMs ?? SKEW_MS;
  const issuedAt = Number(claim.issuedAt);
  fields.issuedAt = new Date(issuedAt).toISOString();
  checks.push(
    issuedAt <= nowMs + skew
      ? pass('binding.issued-at', `claim issued ${fields.issuedAt}, not after the verification time`)
      : fail(
          'binding.issued-at',
          `claim issued ${fields.issuedAt}, after the verification time ${new Date(nowMs).toISOString()}`,
        ),
  );

  // ---- CPU evidence, and what its REPORT_DATA must be
  let cpuJson = env.evidence;
  let expected = rd;
  if (env.mode === 'session-key') {
    const s = env.session!;
    try {
      const data = sessionKeyDataFromJson(s);
      const identity = sessionKeyReportData(data);
      expected = s.nonce === '' ? identity : sessionKeyReportData(data, hexNonce(s.nonce));
      const jwkKey = createPublicKey({ key: s.jwk as never, format: 'jwk' });
      const sameKey = eq(new Uint8Array(jwkKey.export({ format: 'der', type: 'spki' })), data.spki);
      const claimKey = createPublicKey({ key: Buffer.from(data.claimSpki), format: 'der', type: 'spki' });
      const p256 =
        claimKey.asymmetricKeyType === 'ec' && claimKey.asymmetricKeyDetails?.namedCurve === 'prime256v1';
      const sig = fromB64(env.signature, 'signature');
      const sigOk =
        sameKey &&
        p256 &&
        sig.length === 64 &&
        cryptoVerify('sha256', encoded, { key: claimKey, dsaEncoding: 'ieee-p1363' }, sig);
      checks.push(
        (sigOk ? pass : fail)(
          'binding.session-signature',
          sigOk
            ? `claim signed (ES256) by the session claim key (epoch ${s.epoch}, kid ${s.jwk.kid ?? '?'})`
            : !sameKey
              ? 'session.jwk and session.spki are different keys'
              : !p256
                ? 'session.claimSpki is not an ECDSA P-256 key'
                : 'the ES256 claim signature does not verify with the session claim key',
        ),
      );
      const idOk = claim.session === bytesToHex(identity);
      checks.push(
        (idOk ? pass : fail)(
          'binding.session-identity',
          idOk
            ? 'claim.session = this session (keys, epoch, validity, kid)'
            : 'claim.session is not this session: the claim was made for another session or its validity was rewritten',
        ),
      );
      const inWindow = data.notBefore <= issuedAt && issuedAt <= data.notAfter;
      const nowOk =
        opts.checkSessionKeyValidity === false ||
        (data.notBefore - skew <= nowMs && nowMs <= data.notAfter + skew);
      checks.push(
        (inWindow && nowOk ? pass : fail)(
          'binding.session-key-validity',
          `session key valid ${s.notBefore} – ${s.notAfter} (attested); claim issued ${fields.issuedAt}${inWindow ? '' : ' OUTSIDE the window'}; verification time ${new Date(nowMs).toISOString()}${nowOk ? (opts.checkSessionKeyValidity === false ? ' (not checked against the window)' : '') : ' OUTSIDE the window (5 min skew allowed; --now to verify at another time)'}`,
        ),
      );
      const sessionBuild = data.serverBuild === undefined ? undefined : bytesToHex(data.serverBuild);
      checks.push(
        sessionBuild === claim.serverBuildSha256
          ? pass(
              'binding.server-build',
              sessionBuild === undefined
                ? 'neither the session nor the claim reports a server build'
                : 'claim.serverBuildSha256 = the build bound into the session REPORT_DATA',
            )
          : fail(
              'binding.server-build',
              `claim.serverBuildSha256 ${claim.serverBuildSha256 ?? '(none)'} ≠ the session's attested build ${sessionBuild ?? '(none)'}`,
            ),
      );
      cpuJson = s.evidence;
    } catch (e) {
      checks.push(fail('binding.session-signature', `bad session key: ${(e as Error).message}`));
    }
  }
  if (claim.serverBuildSha256 !== undefined) fields.serverBuildSha256 = claim.serverBuildSha256;
  if (claim.webgpu !== undefined) fields.webgpu = env.claim.webgpu;
  const buildCheck = serverBuildCheck(claim.serverBuildSha256, opts, 'the claim');
  if (buildCheck) checks.push(buildCheck);
  if (!cpuJson) {
    checks.push(fail('binding.evidence', 'no CPU evidence'));
    return verdict('execution', checks, { fields, parts });
  }
  let cpu: Cpu;
  try {
    cpu = evidenceFromJson(cpuJson);
  } catch (e) {
    checks.push(fail('binding.evidence', (e as Error).message));
    return verdict('execution', checks, { fields, parts });
  }
  fields.evidenceKind = cpu.kind;
  const inEvidence = evidenceReportData(cpu);
  const bindId = env.mode === 'session-key' ? 'binding.session-key' : 'binding.evidence-report-data';
  checks.push(
    inEvidence && eq(inEvidence, expected)
      ? pass(
          bindId,
          env.mode === 'session-key'
            ? 'evidence REPORT_DATA = SHA-512(domain ‖ session keys ‖ epoch ‖ validity ‖ kid ‖ nonce)'
            : 'evidence REPORT_DATA = SHA-256(input side) ‖ SHA-256(output side) of the claim',
        )
      : fail(
          bindId,
          `evidence REPORT_DATA ${inEvidence ? bytesToHex(inEvidence) : '(unreadable)'} ≠ expected ${bytesToHex(expected)}: the evidence does not attest this ${env.mode === 'session-key' ? 'session' : 'claim'}`,
        ),
  );
  const cpuVerdict = await verifyCpu(cpu, expected, opts);
  parts.push(cpuVerdict);
  const chainSimulated = cpuVerdict.fields?.simulated === true;
  fields.simulated = chainSimulated || claim.simulated;
  const teeDiffs: string[] = [];
  if (claim.teeKind !== cpu.kind) teeDiffs.push(`claim TEE ${claim.teeKind} ≠ evidence ${cpu.kind}`);
  if (claim.simulated !== cpuJson.simulated)
    teeDiffs.push(`claim simulated ${claim.simulated} ≠ evidence.simulated ${cpuJson.simulated}`);
  if (chainSimulated && !claim.simulated)
    teeDiffs.push('the evidence chains to a SIMULATED root but the claim says simulated: false');
  if (!chainSimulated && cpuVerdict.ok && claim.simulated)
    teeDiffs.push('the claim says simulated but the evidence chains to a vendor root');
  checks.push(
    teeDiffs.length === 0
      ? pass('binding.tee', `claim TEE ${claim.teeKind}, simulated ${claim.simulated} = the evidence`)
      : fail('binding.tee', teeDiffs.join('; ')),
  );

  // ---- GPU evidence: requested ⇒ present; present ⇒ its digest is the claim's
  const gpu = Array.isArray(env.gpu) && env.gpu.length > 0 ? env.gpu : undefined;
  const gpuDiffs: string[] = [];
  if (claim.gpuRequested && !gpu)
    gpuDiffs.push('the request asked for GPU evidence and the envelope has none');
  if (gpu && claim.gpuEvidenceSha256 === undefined)
    gpuDiffs.push('GPU evidence present but the claim attests none');
  if (!gpu && claim.gpuEvidenceSha256 !== undefined)
    gpuDiffs.push('the claim attests GPU evidence the envelope does not carry');
  if (gpu && claim.gpuEvidenceSha256 !== undefined && gpuEvidenceDigest(gpu) !== claim.gpuEvidenceSha256)
    gpuDiffs.push("the GPU evidence is not the claim's (digest differs): swapped or edited");
  if (gpu || claim.gpuRequested || claim.gpuEvidenceSha256 !== undefined)
    checks.push(
      gpuDiffs.length === 0
        ? pass('binding.gpu', 'GPU evidence digest = claim.gpuEvidenceSha256')
        : fail('binding.gpu', gpuDiffs.join('; ')),
    );
  if (gpu) parts.push(await verifyGpu(gpu, gpuBindingData(claim), opts));
  else if (opts.requireGpu)
    checks.push(fail('gpu.required', 'GPU evidence required but the envelope has none'));

  // ---- the response's fields
  // The provider name (which driver fetched the evidence) is informational: nothing attests it.
  const provider =
    env.mode === 'per-request' ? 'attestation.evidence.provider' : 'attestation.session.evidence.provider';
  if (view) {
    view.unverified.push(provider);
    checks.push(...responseChecks(view, env, claim, rawAttestation, encoded));
    fields.unverified = view.unverified;
  } else fields.unverified = [provider];
  return verdict('execution', checks, { fields, parts });
}

function hexNonce(s: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(s)) throw new BindingError('INVALID_NONCE', 'nonce: not hex', 'nonce');
  return new Uint8Array(Buffer.from(s, 'hex'));
}

/**
 * Verify raw CPU evidence (`wasmvm-tee attest --json` output, or its `evidence` member) against the
 * REPORT_DATA it must carry. Throws a BindingError naming the field for malformed input.
 */
export async function verifyEvidence(
  file: unknown,
  expectedReportData: Uint8Array,
  opts: VerifyExecutionOptions = {},
): Promise<Verdict> {
  const o = file as Record<string, unknown>;
  if (!o || typeof o !== 'object') throw invalid('evidence', 'not an object');
  const evJson = (o.evidence ?? o) as EvidenceJson;
  if (o.evidence !== undefined) {
    for (const k of Object.keys(o))
      if (!['provider', 'reportData', 'evidence'].includes(k)) throw invalid(k, 'unknown field');
    if (o.reportData !== undefined && o.reportData !== bytesToHex(expectedReportData))
      return verdict('evidence', [
        fail(
          'binding.report-data',
          `reportData ${String(o.reportData)} ≠ expected ${bytesToHex(expectedReportData)}`,
        ),
      ]);
  }
  checkEvidenceShape(evJson, 'evidence');
  const cpu = evidenceFromJson(evJson);
  const checks: Check[] = [];
  const inEv = evidenceReportData(cpu);
  checks.push(
    inEv && eq(inEv, expectedReportData)
      ? pass('binding.evidence-report-data', 'evidence REPORT_DATA = the expected one')
      : fail(
          'binding.evidence-report-data',
          `evidence REPORT_DATA ${inEv ? bytesToHex(inEv) : '(unreadable)'} ≠ expected ${bytesToHex(expectedReportData)}`,
        ),
  );
  if (opts.freshness === 'skip')
    checks.push(skip('binding.nonce', 'freshness NOT checked (--no-nonce): this evidence may be old'));
  const part = await verifyCpu(cpu, expectedReportData, opts);
  const sim = part.fields?.simulated === true;
  if (sim !== cpu.simulated)
    checks.push(
      fail(
        'binding.tee',
        `evidence.simulated ${cpu.simulated} ≠ the chain (${sim ? 'simulated' : 'vendor'} root)`,
      ),
    );
  return verdict('evidence', checks, { fields: { simulated: sim || cpu.simulated }, parts: [part] });
}

export function isBindingError(e: unknown): e is BindingError {
  return e instanceof BindingError;
}

/**
 * Verify a session key's attestation (the `GetAttestation` answer: `SessionKeyJson` or its JSON string):
 * its evidence REPORT_DATA must be sessionKeyReportData(spki, claimSpki, epoch, nonce) with the client's
 * nonce, and the evidence must verify. On success the P-256 claim key (`fields.claimSpki`) may be used to
 * check session-key envelopes (ES256) and the P-384 key (`fields.jwk`) ES384 tokens (attest_vm) signed by it.
 */
export async function verifySessionAttestation(
  sessionIn: unknown,
  opts: Omit<VerifyExecutionOptions, 'claim' | 'response' | 'request'> & { nonce: Uint8Array | string },
): Promise<Verdict> {
  const checks: Check[] = [];
  const fields: Record<string, unknown> = {};
  let s: SessionKeyJson;
  try {
    s = (typeof sessionIn === 'string' ? JSON.parse(sessionIn) : sessionIn) as SessionKeyJson;
    checkSessionShape(s, 'session');
  } catch (e) {
    return verdict('session-key', [fail('session.parse', (e as Error).message)]);
  }
  let want: Uint8Array;
  try {
    want = typeof opts.nonce === 'string' ? hexNonce(opts.nonce) : new Uint8Array(opts.nonce);
  } catch (e) {
    return verdict('session-key', [fail('binding.nonce', (e as Error).message)]);
  }
  const nonceOk = want.length > 0 && s.nonce === bytesToHex(want);
  checks.push(
    (nonceOk ? pass : fail)(
      'binding.nonce',
      nonceOk ? 'evidence made for our nonce' : `session nonce '${s.nonce}' ≠ ${bytesToHex(want)}`,
    ),
  );
  let expected: Uint8Array;
  let cpu: Cpu;
  try {
    const data = sessionKeyDataFromJson(s);
    const jwkKey = createPublicKey({ key: s.jwk as never, format: 'jwk' });
    const sameKey = eq(new Uint8Array(jwkKey.export({ format: 'der', type: 'spki' })), data.spki);
    checks.push(
      (sameKey ? pass : fail)(
        'binding.session-jwk',
        sameKey ? 'jwk = spki' : 'session.jwk and session.spki are different keys',
      ),
    );
    const claimKey = createPublicKey({ key: Buffer.from(data.claimSpki), format: 'der', type: 'spki' });
    const p256 =
      claimKey.asymmetricKeyType === 'ec' && claimKey.asymmetricKeyDetails?.namedCurve === 'prime256v1';
    checks.push(
      (p256 ? pass : fail)(
        'binding.session-claim-key',
        p256 ? 'claimSpki is an ECDSA P-256 key' : 'session.claimSpki is not an ECDSA P-256 key',
      ),
    );
    const nowMs = (opts.now ?? new Date()).getTime();
    const skew = opts.clockSkewMs ?? SKEW_MS;
    const nowOk = data.notBefore - skew <= nowMs && nowMs <= data.notAfter + skew;
    checks.push(
      (nowOk ? pass : fail)(
        'binding.session-key-validity',
        `session key valid ${s.notBefore} – ${s.notAfter} (attested); verification time ${new Date(nowMs).toISOString()}${nowOk ? '' : ' OUTSIDE the window'}`,
      ),
    );
    expected = sessionKeyReportData(data, want);
    fields.identity = bytesToHex(sessionKeyReportData(data));
    cpu = evidenceFromJson(s.evidence);
  } catch (e) {
    checks.push(fail('binding.session-key', (e as Error).message));
    return verdict('session-key', checks, { fields });
  }
  const inEvidence = evidenceReportData(cpu);
  checks.push(
    inEvidence && eq(inEvidence, expected)
      ? pass(
          'binding.session-key',
          'evidence REPORT_DATA = SHA-512(domain ‖ session keys ‖ epoch ‖ validity ‖ kid ‖ nonce)',
        )
      : fail('binding.session-key', 'the evidence does not bind these session keys, validity and nonce'),
  );
  Object.assign(fields, {
    jwk: s.jwk,
    claimSpki: s.claimSpki,
    epoch: s.epoch,
    notBefore: s.notBefore,
    notAfter: s.notAfter,
  });
  // The server build is bound by the session REPORT_DATA (recomputed above): expose it, enforce a pin.
  if (s.serverBuildSha256 !== undefined) fields.serverBuildSha256 = s.serverBuildSha256;
  const buildCheck = serverBuildCheck(s.serverBuildSha256, opts, 'the session');
  if (buildCheck && buildCheck.outcome !== 'skip') checks.push(buildCheck);
  const part = await verifyCpu(cpu, expected, opts);
  fields.simulated = part.fields?.simulated === true;
  const parts = [part];
  const gpu = (s as { gpu?: unknown }).gpu;
  if (Array.isArray(gpu) && gpu.length > 0) parts.push(await verifyGpu(gpu, expected, opts));
  return verdict('session-key', checks, { fields, parts });
}
