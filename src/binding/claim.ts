/**
 * The canonical execution claim and its byte encoding (spec: docs/binding.md).
 *
 * The encoding is deliberately simple so a Python or Go client can re-implement it:
 *   side   = field*                       (fields in a fixed order, every field present)
 *   field  = u8 id ‖ u8 type ‖ u32be len ‖ value[len]
 *   types  = 0x00 absent (len 0), 0x01 bytes, 0x02 UTF-8 string, 0x03 u64be (len 8),
 *            0x04 typed value list, 0x05 string list, 0x06 i64be (len 8)
 * REPORT_DATA = SHA-256(input side) ‖ SHA-256(output side).
 */
import { createHash } from 'node:crypto';
import type { ExecuteResult, ExecutionMode, ExecutionStatus, WasmValue } from '../engine/index.ts';

export const CLAIM_VERSION = 1;
export const INPUT_DOMAIN = 'wasmvm-tee/claim/input/v1';
export const OUTPUT_DOMAIN = 'wasmvm-tee/claim/output/v1';

/** Input values as the client sent them: typed values, or the legacy string form (kept verbatim). */
export type ClaimInputs = readonly WasmValue[] | { readonly legacy: readonly string[] };

/** One execution, canonically. Hex strings are lowercase. */
export interface ExecutionClaim {
  // ---- input side: everything a client can recompute from its own request ----
  /** SHA-256 of the (uninstrumented) bytecode, 64 hex chars. */
  bytecodeSha256: string;
  /** Exported function name. */
  fn: string;
  inputs: ClaimInputs;
  mode: ExecutionMode;
  /** Gas limit; undefined = unmetered. */
  gasLimit?: bigint;
  /** Client nonce (freshness), any length up to 1024 bytes; undefined when the client sent none. */
  nonce?: Uint8Array;
  // ---- output side: what the server produced ----
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
}

export class BindingError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'BindingError';
    this.code = code;
  }
}

const T_ABSENT = 0x00;
const T_BYTES = 0x01;
const T_STRING = 0x02;
const T_U64 = 0x03;
const T_VALUES = 0x04;
const T_STRINGS = 0x05;
const T_I64 = 0x06;

/** Wasm value type codes, as in the binary format. */
export const VALUE_TYPE_CODE = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c } as const;

const U64_MAX = (1n << 64n) - 1n;
const utf8 = new TextEncoder();

class Writer {
  private readonly parts: Uint8Array[] = [];
  field(id: number, type: number, value: Uint8Array): void {
    const h = new Uint8Array(6);
    h[0] = id;
    h[1] = type;
    new DataView(h.buffer).setUint32(2, value.length, false);
    this.parts.push(h, value);
  }
  absent(id: number): void {
    this.field(id, T_ABSENT, new Uint8Array(0));
  }
  bytes(id: number, v: Uint8Array | undefined): void {
    if (v === undefined) this.absent(id);
    else this.field(id, T_BYTES, v);
  }
  string(id: number, v: string | undefined): void {
    if (v === undefined) this.absent(id);
    else this.field(id, T_STRING, utf8.encode(v));
  }
  u64(id: number, v: bigint | undefined): void {
    if (v === undefined) {
      this.absent(id);
      return;
    }
    if (v < 0n || v > U64_MAX) throw new BindingError('INVALID_CLAIM', `field ${id}: ${v} is not a u64`);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v, false);
    this.field(id, T_U64, b);
  }
  i64(id: number, v: bigint | undefined): void {
    if (v === undefined) {
      this.absent(id);
      return;
    }
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigInt64(0, BigInt.asIntN(64, v), false);
    this.field(id, T_I64, b);
  }
  done(): Uint8Array {
    return concat(this.parts);
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
  const parts: Uint8Array[] = [];
  const n = new Uint8Array(4);
  new DataView(n.buffer).setUint32(0, values.length, false);
  parts.push(n);
  for (const v of values) {
    const wide = v.type === 'i64' || v.type === 'f64';
    const b = new Uint8Array(wide ? 9 : 5);
    const dv = new DataView(b.buffer);
    b[0] = VALUE_TYPE_CODE[v.type];
    switch (v.type) {
      case 'i32':
        if (!Number.isInteger(v.value) || v.value < -(2 ** 31) || v.value >= 2 ** 32)
          throw new BindingError('INVALID_CLAIM', `i32 value out of range: ${v.value}`);
        dv.setUint32(1, v.value >>> 0, false);
        break;
      case 'f32':
        if (!Number.isInteger(v.bits) || v.bits < 0 || v.bits >= 2 ** 32)
          throw new BindingError('INVALID_CLAIM', `f32 bits out of range: ${v.bits}`);
        dv.setUint32(1, v.bits, false);
        break;
      case 'i64':
        dv.setBigUint64(1, BigInt.asUintN(64, v.value), false);
        break;
      case 'f64':
        dv.setBigUint64(1, BigInt.asUintN(64, v.bits), false);
        break;
      default:
        throw new BindingError('INVALID_CLAIM', `unknown value type ${(v as { type: string }).type}`);
    }
    parts.push(b);
  }
  return concat(parts);
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

/** The input side: domain, bytecode hash, function, inputs, mode, gas limit, nonce (field ids 1..7). */
export function inputSide(claim: ExecutionClaim): Uint8Array {
  if (!MODES.includes(claim.mode)) throw new BindingError('INVALID_CLAIM', `unknown mode '${claim.mode}'`);
  if (claim.nonce !== undefined && claim.nonce.length > 1024)
    throw new BindingError('INVALID_CLAIM', 'nonce longer than 1024 bytes');
  const w = new Writer();
  w.string(1, INPUT_DOMAIN);
  w.bytes(2, sha256Hex('bytecodeSha256', claim.bytecodeSha256));
  w.string(3, claim.fn);
  if ('legacy' in claim.inputs) w.field(4, T_STRINGS, encodeStrings(claim.inputs.legacy));
  else w.field(4, T_VALUES, encodeValues(claim.inputs as readonly WasmValue[]));
  w.string(5, claim.mode);
  w.u64(6, claim.gasLimit);
  w.bytes(7, claim.nonce);
  return w.done();
}

/** The output side: domain, request id, status, outputs, exit code, gas used, cost table, stdout/stderr hashes (ids 1..9). */
export function outputSide(claim: ExecutionClaim): Uint8Array {
  const w = new Writer();
  w.string(1, OUTPUT_DOMAIN);
  w.string(2, claim.requestId);
  w.string(3, claim.status);
  w.field(4, T_VALUES, encodeValues(claim.outputs));
  w.i64(5, claim.exitCode === undefined ? undefined : BigInt(claim.exitCode));
  w.u64(6, claim.gasUsed);
  w.string(7, claim.costTableVersion);
  w.bytes(8, sha256Hex('stdoutSha256', claim.stdoutSha256));
  w.bytes(9, sha256Hex('stderrSha256', claim.stderrSha256));
  return w.done();
}

export function inputSideHash(claim: ExecutionClaim): Uint8Array {
  return new Uint8Array(createHash('sha256').update(inputSide(claim)).digest());
}

export function outputSideHash(claim: ExecutionClaim): Uint8Array {
  return new Uint8Array(createHash('sha256').update(outputSide(claim)).digest());
}

/** The whole claim: u32be len ‖ input side ‖ u32be len ‖ output side (what a session key signs). */
export function encodeClaim(claim: ExecutionClaim): Uint8Array {
  const a = inputSide(claim);
  const b = outputSide(claim);
  const la = new Uint8Array(4);
  const lb = new Uint8Array(4);
  new DataView(la.buffer).setUint32(0, a.length, false);
  new DataView(lb.buffer).setUint32(0, b.length, false);
  return concat([la, a, lb, b]);
}

/** REPORT_DATA (64 bytes) = SHA-256(input side) ‖ SHA-256(output side). */
export function reportDataFor(claim: ExecutionClaim): Uint8Array {
  return concat([inputSideHash(claim), outputSideHash(claim)]);
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
}

function sha256HexOf(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Build the claim from a request and the engine's result (stdout/stderr are hashed here). */
export function claimFromExecution(req: ClaimRequest, result: ExecuteResult): ExecutionClaim {
  const bytecodeSha256 =
    result.bytecodeSha256 ?? req.bytecodeSha256 ?? (req.bytecode ? sha256HexOf(req.bytecode) : undefined);
  if (!bytecodeSha256) throw new BindingError('INVALID_CLAIM', 'no bytecode hash');
  const claim: ExecutionClaim = {
    bytecodeSha256: bytecodeSha256.toLowerCase(),
    fn: req.fn,
    inputs: req.inputs,
    mode: result.mode ?? req.mode ?? 'interp',
    status: result.status,
    outputs: result.outputs,
  };
  if (req.gasLimit !== undefined) claim.gasLimit = req.gasLimit;
  if (req.nonce !== undefined) claim.nonce = req.nonce;
  if (req.requestId !== undefined) claim.requestId = req.requestId;
  if (result.exitCode !== undefined) claim.exitCode = result.exitCode;
  if (result.gasUsed !== undefined) claim.gasUsed = result.gasUsed;
  if (result.costTableVersion !== undefined) claim.costTableVersion = result.costTableVersion;
  if (result.stdout !== undefined && result.stdout.length > 0)
    claim.stdoutSha256 = sha256HexOf(result.stdout);
  if (result.stderr !== undefined && result.stderr.length > 0)
    claim.stderrSha256 = sha256HexOf(result.stderr);
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
  v: 1;
  bytecodeSha256: string;
  fn: string;
  inputs: WasmValueJson[] | { legacy: string[] };
  mode: ExecutionMode;
  gasLimit?: string;
  nonce?: string;
  requestId?: string;
  status: ExecutionStatus;
  outputs: WasmValueJson[];
  exitCode?: number;
  gasUsed?: string;
  costTableVersion?: string;
  stdoutSha256?: string;
  stderrSha256?: string;
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

function parseBig(s: unknown, what: string): bigint {
  if (typeof s !== 'string' || !/^-?[0-9]+$/.test(s))
    throw new BindingError('INVALID_CLAIM', `${what}: not an integer string`);
  return BigInt(s);
}

export function valueFromJson(j: unknown): WasmValue {
  const o = j as Record<string, unknown>;
  if (!o || typeof o !== 'object') throw new BindingError('INVALID_CLAIM', 'value: not an object');
  switch (o.type) {
    case 'i32':
      if (typeof o.value !== 'number' || !Number.isInteger(o.value))
        throw new BindingError('INVALID_CLAIM', 'i32 value: not an integer');
      return { type: 'i32', value: o.value | 0 };
    case 'i64':
      return { type: 'i64', value: BigInt.asIntN(64, parseBig(o.value, 'i64 value')) };
    case 'f32':
      if (typeof o.bits !== 'number' || !Number.isInteger(o.bits))
        throw new BindingError('INVALID_CLAIM', 'f32 bits: not an integer');
      return { type: 'f32', bits: o.bits >>> 0 };
    case 'f64':
      return { type: 'f64', bits: BigInt.asUintN(64, parseBig(o.bits, 'f64 bits')) };
    default:
      throw new BindingError('INVALID_CLAIM', `value: unknown type ${String(o.type)}`);
  }
}

export function claimToJson(c: ExecutionClaim): ExecutionClaimJson {
  const j: ExecutionClaimJson = {
    v: 1,
    bytecodeSha256: c.bytecodeSha256,
    fn: c.fn,
    inputs:
      'legacy' in c.inputs ? { legacy: [...c.inputs.legacy] } : (c.inputs as WasmValue[]).map(valueToJson),
    mode: c.mode,
    status: c.status,
    outputs: c.outputs.map(valueToJson),
  };
  if (c.gasLimit !== undefined) j.gasLimit = c.gasLimit.toString();
  if (c.nonce !== undefined) j.nonce = bytesToHex(c.nonce);
  if (c.requestId !== undefined) j.requestId = c.requestId;
  if (c.exitCode !== undefined) j.exitCode = c.exitCode;
  if (c.gasUsed !== undefined) j.gasUsed = c.gasUsed.toString();
  if (c.costTableVersion !== undefined) j.costTableVersion = c.costTableVersion;
  if (c.stdoutSha256 !== undefined) j.stdoutSha256 = c.stdoutSha256;
  if (c.stderrSha256 !== undefined) j.stderrSha256 = c.stderrSha256;
  return j;
}

function str(o: Record<string, unknown>, k: string, optional = false): string | undefined {
  const v = o[k];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string') throw new BindingError('INVALID_CLAIM', `claim.${k}: expected a string`);
  return v;
}

export function claimFromJson(j: unknown): ExecutionClaim {
  const o = j as Record<string, unknown>;
  if (!o || typeof o !== 'object') throw new BindingError('INVALID_CLAIM', 'claim: not an object');
  if (o.v !== 1) throw new BindingError('INVALID_CLAIM', `claim.v: unsupported version ${String(o.v)}`);
  const inputsJ = o.inputs as unknown;
  let inputs: ClaimInputs;
  if (Array.isArray(inputsJ)) inputs = inputsJ.map(valueFromJson);
  else if (
    inputsJ &&
    typeof inputsJ === 'object' &&
    Array.isArray((inputsJ as { legacy?: unknown }).legacy)
  ) {
    const l = (inputsJ as { legacy: unknown[] }).legacy;
    if (!l.every((s) => typeof s === 'string'))
      throw new BindingError('INVALID_CLAIM', 'claim.inputs.legacy: strings');
    inputs = { legacy: l as string[] };
  } else throw new BindingError('INVALID_CLAIM', 'claim.inputs: expected an array or {legacy}');
  if (!Array.isArray(o.outputs)) throw new BindingError('INVALID_CLAIM', 'claim.outputs: expected an array');
  const c: ExecutionClaim = {
    bytecodeSha256: str(o, 'bytecodeSha256')!,
    fn: str(o, 'fn')!,
    inputs,
    mode: str(o, 'mode') as ExecutionMode,
    status: str(o, 'status') as ExecutionStatus,
    outputs: o.outputs.map(valueFromJson),
  };
  if (o.gasLimit !== undefined) c.gasLimit = parseBig(o.gasLimit, 'claim.gasLimit');
  if (o.nonce !== undefined) c.nonce = hexToBytes(str(o, 'nonce')!, 'claim.nonce');
  if (o.requestId !== undefined) c.requestId = str(o, 'requestId');
  if (o.exitCode !== undefined) {
    if (typeof o.exitCode !== 'number' || !Number.isInteger(o.exitCode))
      throw new BindingError('INVALID_CLAIM', 'claim.exitCode: expected an integer');
    c.exitCode = o.exitCode;
  }
  if (o.gasUsed !== undefined) c.gasUsed = parseBig(o.gasUsed, 'claim.gasUsed');
  if (o.costTableVersion !== undefined) c.costTableVersion = str(o, 'costTableVersion');
  if (o.stdoutSha256 !== undefined) c.stdoutSha256 = str(o, 'stdoutSha256');
  if (o.stderrSha256 !== undefined) c.stderrSha256 = str(o, 'stderrSha256');
  return c;
}
