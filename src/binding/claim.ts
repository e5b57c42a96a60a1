/**
 * The canonical execution claim (v3) and its byte encoding (spec: docs/binding.md).
 *
 * The encoding is deliberately simple so a Python or Go client can re-implement it:
 *   side   = field*                       (fields in a fixed order, every field present)
 *   field  = u8 id ‖ u8 type ‖ u32be len ‖ value[len]
 *   types  = 0x00 absent (len 0), 0x01 bytes, 0x02 UTF-8 string, 0x03 u64be (len 8),
 *            0x04 typed value list, 0x05 string list, 0x06 i64be (len 8), 0x07 bool (len 1),
 *            0x08 record (a nested field list, same format)
 * Output fields 18 (webgpu) and 19 (server build) are optional trailing fields: written only when present
 * (claims without them encode exactly as before they existed).
 * REPORT_DATA = SHA-256(input side) ‖ SHA-256(output side).
 */
import { createHash } from 'node:crypto';
import type { ExecuteResult, ExecutionMode, ExecutionStatus, WasmValue } from '../engine/index.ts';

export const CLAIM_VERSION = 3;
export const INPUT_DOMAIN = 'wasmvm-tee/claim/input/v3';
export const OUTPUT_DOMAIN = 'wasmvm-tee/claim/output/v3';
/** Domain of the 64 bytes a GPU nonce is derived from (gpuBindingData). */
export const GPU_BINDING_DOMAIN = 'wasmvm-tee/claim/gpu/v3';

/** Input values as the client sent them: typed values, or the legacy string form (kept verbatim). */
export type ClaimInputs = readonly WasmValue[] | { readonly legacy: readonly string[] };

/** The attestation mode a request asked for ('default' = the server's). */
export type RequestedAttestation = 'default' | 'per-request' | 'session-key';
export type ClaimAttestationMode = 'per-request' | 'session-key';
export type ClaimTeeKind = 'sev-snp' | 'tdx';

/** The input side: everything a client can recompute from its own request. */
export interface ClaimInputSide {
  /** SHA-256 of the (uninstrumented) bytecode, 64 hex chars. */
  bytecodeSha256: string;
  /** Exported function name. */
  fn: string;
  inputs: ClaimInputs;
  /** The execution mode the request asked for. */
  mode: ExecutionMode;
  /** Gas limit; undefined = unmetered. */
  gasLimit?: bigint;
  /** Client nonce (freshness), any length up to 1024 bytes; undefined when the client sent none. */
  nonce?: Uint8Array;
  /** The request asked to count gas without a limit (runtime_config.meter). */
  meter: boolean;
  /** The attestation mode the request asked for. */
  attestationRequested: RequestedAttestation;
  /** The request asked for GPU evidence (runtime_config.include_gpu_evidence). */
  gpuRequested: boolean;
}

/** What the engine produced (the server fills these from the execution result). */
export interface ClaimResult {
  /** Request id (server-assigned or echoed). */
  requestId?: string;
  status: ExecutionStatus;
  outputs: readonly WasmValue[];
  /** WASI exit code when the guest called proc_exit. */
  exitCode?: number;
  gasUsed?: bigint;
  costTableVersion?: string;
  /** SHA-256 of captured stdout / stderr, hex (absent when nothing was captured). */
  stdoutSha256?: string;
  stderrSha256?: string;
  /** The trap's message (absent when status is 'ok'). */
  trapMessage?: string;
  /** The execution mode that actually ran. */
  executedMode: ExecutionMode;
  /** The guest used WebGPU compute (host module wasmvm_webgpu): the adapter and what was done on it. */
  webgpu?: ClaimWebGpu;
}

/**
 * WebGPU use of one execution (docs/webgpu.md "Metering and claims"). The adapter strings are what the
 * driver inside the TEE reported (attested as "what the server saw", not a hardware identity: only GPU
 * evidence proves a GPU); the counters and gas are deterministic for a given guest, inputs and limits.
 */
export interface ClaimWebGpu {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** Dawn backend ('vulkan', 'metal', 'd3d12', 'opengles', 'default'...). */
  backend: string;
  featureLevel: 'core' | 'compatibility';
  /** WebGPU host calls, compute dispatches, workgroups dispatched, bytes written to / read from the GPU. */
  calls: bigint;
  dispatches: bigint;
  workgroups: bigint;
  bytesToGpu: bigint;
  bytesFromGpu: bigint;
  /** Gas charged by the WebGPU imports (metered runs only; included in gasUsed). */
  gas?: bigint;
  gasTableVersion: string;
}

/** What the attester adds: how the claim is attested and by what. */
export interface ClaimAttestation {
  attestationMode: ClaimAttestationMode;
  teeKind: ClaimTeeKind;
  /** True when the evidence comes from the simulated TEE. */
  simulated: boolean;
  /** session-key: the session's identity = sessionKeyReportData(session, nonce '') (64 bytes, hex). */
  session?: string;
  /** SHA-256 of the GPU evidence attached (gpuEvidenceDigest), hex; absent when none. */
  gpuEvidenceSha256?: string;
  /** When the claim was attested: server clock, ms since the Unix epoch. */
  issuedAt: bigint;
  /**
   * The server's build digest (src/version-digest.ts: SHA-256 over package.json and the code it runs),
   * 64 hex chars; absent when the server does not report one.
   */
  serverBuildSha256?: string;
}

/** A claim before attestation (what claimFromExecution builds). */
export type ClaimDraft = ClaimInputSide & ClaimResult;

/** One execution, canonically. Hex strings are lowercase. */
export type ExecutionClaim = ClaimDraft & ClaimAttestation;

export class BindingError extends Error {
  readonly code: string;
  /** The field the error is about (e.g. 'claim.outputs[1].bits'), when there is one. */
  readonly field?: string;
  constructor(code: string, message: string, field?: string) {
    super(message);
    this.name = 'BindingError';
    this.code = code;
    if (field !== undefined) this.field = field;
  }
}

const T_ABSENT = 0x00;
const T_BYTES = 0x01;
const T_STRING = 0x02;
const T_U64 = 0x03;
const T_VALUES = 0x04;
const T_STRINGS = 0x05;
const T_I64 = 0x06;
const T_BOOL = 0x07;
const T_RECORD = 0x08;

/** Wasm value type codes, as in the binary format. */
export const VALUE_TYPE_CODE = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c } as const;

const U64_MAX = (1n << 64n) - 1n;
const utf8 = new TextEncoder();

/** Appends fields to one growing buffer (no per-field allocation: claims are encoded on every verify). */
class Writer {
  private buf = Buffer.allocUnsafe(512);
  private n = 0;
  private ensure(extra: number): void {
    if (this.n + extra <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.n + extra));
    this.buf.copy(next, 0, 0, this.n);
    this.buf = next;
  }
  private header(id: number, type: number, len: number): void {
    this.ensure(6 + len);
    this.buf[this.n] = id;
    this.buf[this.n + 1] = type;
    this.buf.writeUInt32BE(len, this.n + 2);
    this.n += 6;
  }
  field(id: number, type: number, value: Uint8Array): void {
    this.header(id, type, value.length);
    this.buf.set(value, this.n);
    this.n += value.length;
  }
  absent(id: number): void {
    this.header(id, T_ABSENT, 0);
  }
  bytes(id: number, v: Uint8Array | undefined): void {
    if (v === undefined) this.absent(id);
    else this.field(id, T_BYTES, v);
  }
  string(id: number, v: string | undefined): void {
    if (v === undefined) {
      this.absent(id);
      return;
    }
    const len = Buffer.byteLength(v, 'utf8');
    this.header(id, T_STRING, len);
    this.buf.write(v, this.n, len, 'utf8');
    this.n += len;
  }
  u64(id: number, v: bigint | undefined): void {
    if (v === undefined) {
      this.absent(id);
      return;
    }
    if (v < 0n || v > U64_MAX) throw new BindingError('INVALID_CLAIM', `field ${id}: ${v} is not a u64`);
    this.header(id, T_U64, 8);
    this.buf.writeBigUInt64BE(v, this.n);
    this.n += 8;
  }
  i64(id: number, v: bigint | undefined): void {
    if (v === undefined) {
      this.absent(id);
      return;
    }
    this.header(id, T_I64, 8);
    this.buf.writeBigInt64BE(BigInt.asIntN(64, v), this.n);
    this.n += 8;
  }
  bool(id: number, v: boolean): void {
    this.header(id, T_BOOL, 1);
    this.buf[this.n++] = v ? 1 : 0;
  }
  done(): Uint8Array {
    return new Uint8Array(this.buf.buffer.slice(this.buf.byteOffset, this.buf.byteOffset + this.n));
  }
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** u32be count ‖ (u8 type ‖ bits be (4 or 8 bytes))*. i32/i64 as two's complement; floats as raw bits. */
export function encodeValues(values: readonly WasmValue[]): Uint8Array {
  let size = 4;
  for (const v of values) size += v.type === 'i64' || v.type === 'f64' ? 9 : 5;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, values.length, false);
  let o = 4;
  for (const v of values) {
    const code = VALUE_TYPE_CODE[v.type as keyof typeof VALUE_TYPE_CODE];
    if (code === undefined)
      throw new BindingError('INVALID_CLAIM', `unknown value type ${(v as { type: string }).type}`);
    out[o] = code;
    switch (v.type) {
      case 'i32':
        if (!Number.isInteger(v.value) || v.value < -(2 ** 31) || v.value >= 2 ** 32)
          throw new BindingError('INVALID_CLAIM', `i32 value out of range: ${v.value}`);
        dv.setUint32(o + 1, v.value >>> 0, false);
        o += 5;
        break;
      case 'f32':
        if (!Number.isInteger(v.bits) || v.bits < 0 || v.bits >= 2 ** 32)
          throw new BindingError('INVALID_CLAIM', `f32 bits out of range: ${v.bits}`);
        dv.setUint32(o + 1, v.bits, false);
        o += 5;
        break;
      case 'i64':
        dv.setBigUint64(o + 1, BigInt.asUintN(64, v.value), false);
        o += 9;
        break;
      case 'f64':
        dv.setBigUint64(o + 1, BigInt.asUintN(64, v.bits), false);
        o += 9;
        break;
    }
  }
  return out;
}

function encodeStrings(list: readonly string[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const n = new Uint8Array(4);
  new DataView(n.buffer).setUint32(0, list.length, false);
  parts.push(n);
  for (const s of list) {
    const b = utf8.encode(s);
    const l = new Uint8Array(4);
    new DataView(l.buffer).setUint32(0, b.length, false);
    parts.push(l, b);
  }
  return concat(parts);
}

export function hexToBytes(hex: string, what = 'hex'): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex))
    throw new BindingError('INVALID_HEX', `${what}: not an even-length hex string`);
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function bytesToHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function sha256Hex(field: string, hex: string | undefined): Uint8Array | undefined {
  if (hex === undefined) return undefined;
  const b = hexToBytes(hex, field);
  if (b.length !== 32)
    throw new BindingError('INVALID_CLAIM', `${field}: expected 32 bytes, got ${b.length}`);
  return b;
}

const MODES: readonly string[] = ['interp', 'singlepass', 'multipass'];
const REQUESTED: readonly string[] = ['default', 'per-request', 'session-key'];
const ATT_MODES: readonly string[] = ['per-request', 'session-key'];
const TEE_KINDS: readonly string[] = ['sev-snp', 'tdx'];

function bad(field: string, why: string): BindingError {
  return new BindingError('INVALID_CLAIM', `${field}: ${why}`, field);
}

function oneOf(field: string, v: unknown, allowed: readonly string[]): string {
  if (typeof v !== 'string' || !allowed.includes(v))
    throw bad(field, `'${String(v)}' is not one of ${allowed.join(', ')}`);
  return v;
}

function boolOf(field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw bad(field, 'expected true or false');
  return v;
}

/**
 * The input side (ids 1..10): domain, bytecode hash, function, inputs, requested mode, gas limit, nonce,
 * meter, requested attestation mode, GPU evidence requested.
 */
export function inputSide(claim: ClaimInputSide): Uint8Array {
  oneOf('claim.mode', claim.mode, MODES);
  oneOf('claim.attestationRequested', claim.attestationRequested, REQUESTED);
  if (claim.nonce !== undefined && claim.nonce.length > 1024)
    throw bad('claim.nonce', 'longer than 1024 bytes');
  const w = new Writer();
  w.string(1, INPUT_DOMAIN);
  w.bytes(2, sha256Hex('claim.bytecodeSha256', claim.bytecodeSha256));
  w.string(3, claim.fn);
  if ('legacy' in claim.inputs) w.field(4, T_STRINGS, encodeStrings(claim.inputs.legacy));
  else w.field(4, T_VALUES, encodeValues(claim.inputs as readonly WasmValue[]));
  w.string(5, claim.mode);
  w.u64(6, claim.gasLimit);
  w.bytes(7, claim.nonce);
  w.bool(8, boolOf('claim.meter', claim.meter));
  w.string(9, claim.attestationRequested);
  w.bool(10, boolOf('claim.gpuRequested', claim.gpuRequested));
  return w.done();
}

/**
 * The output side (ids 1..17): domain, request id, status, outputs, exit code, gas used, cost table,
 * stdout/stderr hashes, trap message, executed mode, attestation mode, TEE kind, simulated, session
 * identity, GPU evidence digest, issuedAt; then, only when present, 18 webgpu (record) and 19 server build
 * digest (32 bytes).
 */
export function outputSide(claim: ExecutionClaim): Uint8Array {
  oneOf('claim.executedMode', claim.executedMode, MODES);
  oneOf('claim.attestationMode', claim.attestationMode, ATT_MODES);
  oneOf('claim.teeKind', claim.teeKind, TEE_KINDS);
  if ((claim.session !== undefined) !== (claim.attestationMode === 'session-key'))
    throw bad('claim.session', 'present exactly when attestationMode is session-key');
  const session = claim.session === undefined ? undefined : hexToBytes(claim.session, 'claim.session');
  if (session !== undefined && session.length !== 64) throw bad('claim.session', 'expected 64 bytes');
  const w = new Writer();
  w.string(1, OUTPUT_DOMAIN);
  w.string(2, claim.requestId);
  w.string(3, claim.status);
  w.field(4, T_VALUES, encodeValues(claim.outputs));
  if (
    claim.exitCode !== undefined &&
    !(Number.isInteger(claim.exitCode) && Math.abs(claim.exitCode) < 2 ** 53)
  )
    throw bad('claim.exitCode', 'not an integer');
  w.i64(5, claim.exitCode === undefined ? undefined : BigInt(claim.exitCode));
  w.u64(6, claim.gasUsed);
  w.string(7, claim.costTableVersion);
  w.bytes(8, sha256Hex('claim.stdoutSha256', claim.stdoutSha256));
  w.bytes(9, sha256Hex('claim.stderrSha256', claim.stderrSha256));
  w.string(10, claim.trapMessage);
  w.string(11, claim.executedMode);
  w.string(12, claim.attestationMode);
  w.string(13, claim.teeKind);
  w.bool(14, boolOf('claim.simulated', claim.simulated));
  w.bytes(15, session);
  w.bytes(16, sha256Hex('claim.gpuEvidenceSha256', claim.gpuEvidenceSha256));
  w.u64(17, claim.issuedAt);
  // Optional trailing fields: written only when present.
  if (claim.webgpu !== undefined) w.field(18, T_RECORD, webgpuRecord(claim.webgpu));
  if (claim.serverBuildSha256 !== undefined)
    w.bytes(19, sha256Hex('claim.serverBuildSha256', claim.serverBuildSha256));
  return w.done();
}

const FEATURE_LEVELS: readonly string[] = ['core', 'compatibility'];

/**
 * Field 18 of the output side (record): 1 vendor, 2 architecture, 3 device, 4 description, 5 backend,
 * 6 featureLevel (strings), 7 calls, 8 dispatches, 9 workgroups, 10 bytesToGpu, 11 bytesFromGpu, 12 gas
 * (u64; absent when unmetered), 13 gasTableVersion (string). Every sub-field is present (absent = type 0).
 */
export function webgpuRecord(g: ClaimWebGpu): Uint8Array {
  if (!g || typeof g !== 'object') throw bad('claim.webgpu', 'not an object');
  oneOf('claim.webgpu.featureLevel', g.featureLevel, FEATURE_LEVELS);
  const w = new Writer();
  const text = (id: number, k: keyof ClaimWebGpu) => {
    if (typeof g[k] !== 'string') throw bad(`claim.webgpu.${k}`, 'expected a string');
    w.string(id, g[k] as string);
  };
  text(1, 'vendor');
  text(2, 'architecture');
  text(3, 'device');
  text(4, 'description');
  text(5, 'backend');
  w.string(6, g.featureLevel);
  const n = (id: number, k: keyof ClaimWebGpu) => {
    if (typeof g[k] !== 'bigint') throw bad(`claim.webgpu.${k}`, 'expected a u64');
    w.u64(id, g[k] as bigint);
  };
  n(7, 'calls');
  n(8, 'dispatches');
  n(9, 'workgroups');
  n(10, 'bytesToGpu');
  n(11, 'bytesFromGpu');
  if (g.gas !== undefined) n(12, 'gas');
  else w.absent(12);
  text(13, 'gasTableVersion');
  return w.done();
}

const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

export function inputSideHash(claim: ClaimInputSide): Uint8Array {
  return sha256(inputSide(claim));
}

export function outputSideHash(claim: ExecutionClaim): Uint8Array {
  return sha256(outputSide(claim));
}

function lenPrefixed(b: Uint8Array): Uint8Array {
  const l = new Uint8Array(4);
  new DataView(l.buffer).setUint32(0, b.length, false);
  return concat([l, b]);
}

/** The whole claim: u32be len ‖ input side ‖ u32be len ‖ output side (what a session claim key signs). */
export function encodeClaim(claim: ExecutionClaim): Uint8Array {
  return concat([lenPrefixed(inputSide(claim)), lenPrefixed(outputSide(claim))]);
}

/** REPORT_DATA (64 bytes) = SHA-256(input side) ‖ SHA-256(output side). */
export function reportDataFor(claim: ExecutionClaim): Uint8Array {
  const a = inputSide(claim);
  const b = outputSide(claim);
  return concat([sha256(a), sha256(b)]);
}

/**
 * The 64 bytes GPU evidence is bound to (its nonce is gpuNonceFor(these)):
 * SHA-512("wasmvm-tee/claim/gpu/v3" ‖ input side). The input side carries the client's nonce, so GPU
 * evidence is fresh per request; its digest is then in the output side, so it cannot be swapped.
 */
export function gpuBindingData(claim: ClaimInputSide): Uint8Array {
  return new Uint8Array(createHash('sha512').update(GPU_BINDING_DOMAIN).update(inputSide(claim)).digest());
}

/** SHA-256 of the GPU evidence list as JSON text (ECMAScript JSON.stringify of the envelope's `gpu`), hex. */
export function gpuEvidenceDigest(gpu: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(gpu)).digest('hex');
}

/** What the server knows about a request when it builds the claim. */
export interface ClaimRequest {
  /** The bytecode itself, or its SHA-256 hex. */
  bytecode?: Uint8Array;
  bytecodeSha256?: string;
  fn: string;
  inputs: ClaimInputs;
  mode?: ExecutionMode;
  gasLimit?: bigint;
  nonce?: Uint8Array;
  requestId?: string;
  meter?: boolean;
  attestationRequested?: RequestedAttestation;
  gpuRequested?: boolean;
}

function sha256HexOf(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Build the claim draft from a request and the engine's result (stdout/stderr are hashed here). */
export function claimFromExecution(req: ClaimRequest, result: ExecuteResult): ClaimDraft {
  const bytecodeSha256 =
    result.bytecodeSha256 ?? req.bytecodeSha256 ?? (req.bytecode ? sha256HexOf(req.bytecode) : undefined);
  if (!bytecodeSha256) throw new BindingError('INVALID_CLAIM', 'no bytecode hash', 'claim.bytecodeSha256');
  const claim: ClaimDraft = {
    bytecodeSha256: bytecodeSha256.toLowerCase(),
    fn: req.fn,
    inputs: req.inputs,
    mode: req.mode ?? result.mode ?? 'interp',
    meter: req.meter ?? false,
    attestationRequested: req.attestationRequested ?? 'default',
    gpuRequested: req.gpuRequested ?? false,
    status: result.status,
    outputs: result.outputs,
    executedMode: result.mode ?? req.mode ?? 'interp',
  };
  if (req.gasLimit !== undefined) claim.gasLimit = req.gasLimit;
  if (req.nonce !== undefined) claim.nonce = req.nonce;
  if (req.requestId !== undefined) claim.requestId = req.requestId;
  if (result.exitCode !== undefined) claim.exitCode = result.exitCode;
  if (result.gasUsed !== undefined) claim.gasUsed = result.gasUsed;
  if (result.costTableVersion !== undefined) claim.costTableVersion = result.costTableVersion;
  if (result.status !== 'ok') claim.trapMessage = result.message ?? '';
  if (result.stdout !== undefined && result.stdout.length > 0)
    claim.stdoutSha256 = sha256HexOf(result.stdout);
  if (result.stderr !== undefined && result.stderr.length > 0)
    claim.stderrSha256 = sha256HexOf(result.stderr);
  if (result.webgpu !== undefined) {
    const u = result.webgpu;
    const a = u.adapter;
    claim.webgpu = {
      vendor: a.vendor,
      architecture: a.architecture,
      device: a.device,
      description: a.description,
      backend: a.backend,
      featureLevel: a.featureLevel,
      calls: BigInt(u.calls),
      dispatches: BigInt(u.dispatches),
      workgroups: BigInt(u.workgroups),
      bytesToGpu: BigInt(u.bytesToGpu),
      bytesFromGpu: BigInt(u.bytesFromGpu),
      gasTableVersion: u.gasTableVersion,
    };
    if (u.gas !== undefined) claim.webgpu.gas = BigInt(u.gas);
  }
  return claim;
}

// ---------------------------------------------------------------- canonical JSON view

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
}

/** JSON view of claim.webgpu: counters and gas as decimal strings. */
export interface ClaimWebGpuJson {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  backend: string;
  featureLevel: 'core' | 'compatibility';
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

function parseBig(s: unknown, what: string, min: bigint, max: bigint): bigint {
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
  if (o.gasLimit !== undefined) c.gasLimit = parseBig(o.gasLimit, 'claim.gasLimit', 0n, U64_MAX);
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
  return c;
}
