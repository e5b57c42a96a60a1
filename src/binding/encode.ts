/**
 * The claim's byte encoding (spec: docs/binding.md). Simple enough for a Python or Go client to re-implement:
 *   side   = field*                       (fields in a fixed order, every field present)
 *   field  = u8 id ‖ u8 type ‖ u32be len ‖ value[len]
 *   types  = 0x00 absent (len 0), 0x01 bytes, 0x02 UTF-8 string, 0x03 u64be (len 8),
 *            0x04 typed value list, 0x05 string list, 0x06 i64be (len 8), 0x07 bool (len 1),
 *            0x08 record (a nested field list, same format),
 *            0x09 record list (u32be count ‖ (u32be length ‖ record)*)
 * Output fields 18 (webgpu), 19 (server build), 20 (guest attestations) and 21 (sealed request digest)
 * are optional trailing fields: written only when present (claims without them encode exactly as before
 * they existed).
 * REPORT_DATA = SHA-256(input side) ‖ SHA-256(output side) (derivations.ts).
 */
import { toHex } from '../formats/index.ts';
import { digest } from '../util/digest.ts';
import { hexToBytes as rawHexToBytes } from '../util/text-codec.ts';
import type { ClaimInputSide, ClaimWebGpu, ExecutionClaim } from './claim.ts';
import { INPUT_DOMAIN, OUTPUT_DOMAIN } from './derivations.ts';
import { BindingError } from './errors.ts';
import {
  ATTESTATION_MODES,
  EXECUTION_MODES,
  GAS_LIMIT_MAX,
  GAS_LIMIT_MIN,
  GUEST_ATTESTATION_KINDS,
  GUEST_ATTESTATIONS_MAX,
  type GuestAttestations,
  REQUESTED_ATTESTATIONS,
  TEE_KINDS,
  VALUE_TYPE_CODE,
  type WasmValue,
} from './vocabulary.ts';

const T_ABSENT = 0x00;
const T_BYTES = 0x01;
const T_STRING = 0x02;
const T_U64 = 0x03;
const T_VALUES = 0x04;
const T_STRINGS = 0x05;
const T_I64 = 0x06;
const T_BOOL = 0x07;
const T_RECORD = 0x08;
const T_RECORDS = 0x09;

export const U64_MAX = (1n << 64n) - 1n;
const utf8 = new TextEncoder();

/** Appends fields to one growing buffer (no per-field allocation: claims are encoded on every verify). */
class Writer {
  private buf = new Uint8Array(512);
  private dv = new DataView(this.buf.buffer);
  private n = 0;
  private ensure(extra: number): void {
    if (this.n + extra <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.n + extra));
    next.set(this.buf.subarray(0, this.n));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }
  private header(id: number, type: number, len: number): void {
    this.ensure(6 + len);
    this.buf[this.n] = id;
    this.buf[this.n + 1] = type;
    this.dv.setUint32(this.n + 2, len, false);
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
    // UTF-8 takes at most 3 bytes per UTF-16 unit (a surrogate pair: 4 for 2; a lone surrogate: U+FFFD,
    // 3): write the text after room for the header, then the header with the length written.
    this.ensure(6 + 3 * v.length);
    const len = utf8.encodeInto(v, this.buf.subarray(this.n + 6)).written;
    this.header(id, T_STRING, len);
    this.n += len;
  }
  u64(id: number, v: bigint | undefined): void {
    if (v === undefined) {
      this.absent(id);
      return;
    }
    if (v < 0n || v > U64_MAX) throw new BindingError('INVALID_CLAIM', `field ${id}: ${v} is not a u64`);
    this.header(id, T_U64, 8);
    this.dv.setBigUint64(this.n, v, false);
    this.n += 8;
  }
  i64(id: number, v: bigint | undefined): void {
    if (v === undefined) {
      this.absent(id);
      return;
    }
    this.header(id, T_I64, 8);
    this.dv.setBigInt64(this.n, BigInt.asIntN(64, v), false);
    this.n += 8;
  }
  bool(id: number, v: boolean | undefined): void {
    if (v === undefined) {
      this.absent(id);
      return;
    }
    this.header(id, T_BOOL, 1);
    this.buf[this.n++] = v ? 1 : 0;
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.n);
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
  return rawHexToBytes(hex);
}

/** Lowercase hex (formats' toHex). */
export const bytesToHex: (b: Uint8Array) => string = toHex;

function sha256Hex(field: string, hex: string | undefined): Uint8Array | undefined {
  if (hex === undefined) return undefined;
  const b = hexToBytes(hex, field);
  if (b.length !== 32)
    throw new BindingError('INVALID_CLAIM', `${field}: expected 32 bytes, got ${b.length}`);
  return b;
}

const MODES: readonly string[] = EXECUTION_MODES;
const REQUESTED: readonly string[] = REQUESTED_ATTESTATIONS;
const ATT_MODES: readonly string[] = ATTESTATION_MODES;

export function bad(field: string, why: string): BindingError {
  return new BindingError('INVALID_CLAIM', `${field}: ${why}`, field);
}

export function oneOf(field: string, v: unknown, allowed: readonly string[]): string {
  if (typeof v !== 'string' || !allowed.includes(v))
    throw bad(field, `'${String(v)}' is not one of ${allowed.join(', ')}`);
  return v;
}

export function boolOf(field: string, v: unknown): boolean {
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
  if (claim.gasLimit !== undefined && !(claim.gasLimit >= GAS_LIMIT_MIN && claim.gasLimit <= GAS_LIMIT_MAX))
    throw bad('claim.gasLimit', `gas limit must be in 1..2^63-1 (got ${claim.gasLimit})`);
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
 * identity, GPU evidence digest, issuedAt; then, only when present, 18 webgpu (record), 19 server build
 * digest (32 bytes), 20 guest attestations (record) and 21 sealed request digest (32 bytes,
 * docs/sealed-execution.md).
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
  if (claim.guestAttestations !== undefined)
    w.field(20, T_RECORD, guestAttestationsRecord(claim.guestAttestations));
  if (claim.sealedRequestSha256 !== undefined)
    w.bytes(21, sha256Hex('claim.sealedRequestSha256', claim.sealedRequestSha256));
  return w.done();
}

const GUEST_KINDS: readonly string[] = GUEST_ATTESTATION_KINDS;

/**
 * Field 20 of the output side (record): 1 receipts (record list, in call order), 2 truncated (bool). Each
 * receipt (record): 1 kind ('vm' | 'gpu'), 2 gpuIndex (u64; gpu only), 3 teeType (string), 4 simulated
 * (bool), 5 dataSha256 (32 bytes), 6 evidenceSha256 (32 bytes), 7 outcome (string), 8 cached (bool);
 * 2-6 absent (type 0) when the receipt has none. 1..64 receipts; truncated only with 64.
 */
export function guestAttestationsRecord(g: GuestAttestations): Uint8Array {
  const where = 'claim.guestAttestations';
  if (!g || typeof g !== 'object' || !Array.isArray(g.receipts)) throw bad(where, 'not an object');
  const n = g.receipts.length;
  if (n === 0)
    throw bad(`${where}.receipts`, 'empty (the field is left out when the guest attested nothing)');
  if (n > GUEST_ATTESTATIONS_MAX) throw bad(`${where}.receipts`, `more than ${GUEST_ATTESTATIONS_MAX}`);
  if (boolOf(`${where}.truncated`, g.truncated) && n !== GUEST_ATTESTATIONS_MAX)
    throw bad(
      `${where}.truncated`,
      `true with ${n} receipts (only a full list of ${GUEST_ATTESTATIONS_MAX} is truncated)`,
    );
  const records = g.receipts.map((r, i) => {
    const at = `${where}.receipts[${i}]`;
    if (!r || typeof r !== 'object') throw bad(at, 'not an object');
    const w = new Writer();
    w.string(1, oneOf(`${at}.kind`, r.kind, GUEST_KINDS));
    if (r.gpuIndex !== undefined) {
      if (r.kind !== 'gpu') throw bad(`${at}.gpuIndex`, 'only for kind gpu');
      if (!Number.isInteger(r.gpuIndex) || r.gpuIndex < 0 || r.gpuIndex > 0xffffffff)
        throw bad(`${at}.gpuIndex`, 'not an unsigned 32-bit integer');
    }
    w.u64(2, r.gpuIndex === undefined ? undefined : BigInt(r.gpuIndex));
    if (r.teeType !== undefined && typeof r.teeType !== 'string')
      throw bad(`${at}.teeType`, 'expected a string');
    w.string(3, r.teeType);
    w.bool(4, r.simulated === undefined ? undefined : boolOf(`${at}.simulated`, r.simulated));
    w.bytes(5, sha256Hex(`${at}.dataSha256`, r.dataSha256));
    w.bytes(6, sha256Hex(`${at}.evidenceSha256`, r.evidenceSha256));
    if (typeof r.outcome !== 'string' || !/^[a-z][a-z0-9_]{0,63}$/.test(r.outcome))
      throw bad(`${at}.outcome`, "expected 'ok' or an error code ([a-z][a-z0-9_]*)");
    w.string(7, r.outcome);
    w.bool(8, boolOf(`${at}.cached`, r.cached));
    return w.done();
  });
  let size = 4;
  for (const r of records) size += 4 + r.length;
  const list = new Uint8Array(size);
  const dv = new DataView(list.buffer);
  dv.setUint32(0, n, false);
  let o = 4;
  for (const r of records) {
    dv.setUint32(o, r.length, false);
    list.set(r, o + 4);
    o += 4 + r.length;
  }
  const w = new Writer();
  w.field(1, T_RECORDS, list);
  w.bool(2, g.truncated);
  return w.done();
}

export const FEATURE_LEVELS: readonly string[] = ['core', 'compatibility'];

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

const sha256 = (b: Uint8Array) => digest('sha256', b);

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
