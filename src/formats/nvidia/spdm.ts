/**
 * SPDM GET_MEASUREMENTS (DSP0274 1.1) as produced by NVIDIA GPUs through NVML
 * (`attestationReport` = request ‖ response):
 *
 * Request (37 bytes for 1.1 with a signature):
 *   SPDMVersion(1) 0xE0 Param1(bit0: signature requested) Param2(operation; 0xFF = all)
 *   Nonce(32) SlotIDParam(1)
 * Response:
 *   SPDMVersion(1) 0x60 Param1 Param2(slot) NumberOfBlocks(1) MeasurementRecordLength(3, LE)
 *   MeasurementRecord: blocks of { Index(1) MeasurementSpecification(1) MeasurementSize(2, LE)
 *     Measurement: DMTF { ValueType(1) ValueSize(2, LE) Value } }
 *   Nonce(32) OpaqueLength(2, LE) OpaqueData Signature(96 for ECDSA P-384: r ‖ s)
 * Opaque data (NVIDIA): TLV list { Type(2, LE) Size(2, LE) Value }.
 * The signature is ECDSA P-384 / SHA-384 over request ‖ response-without-signature.
 */

import { u16le as u16, u24le as u24, u32le } from '../bytes.ts';
import { toHex } from '../encoding.ts';
import { FormatError } from '../errors.ts';

/** Malformed SPDM evidence (code NVIDIA_SPDM_MALFORMED). */
export class SpdmError extends FormatError<'NVIDIA_SPDM_MALFORMED'> {
  constructor(message: string) {
    super('NVIDIA_SPDM_MALFORMED', message);
  }
}

export const SPDM_GET_MEASUREMENTS = 0xe0;
export const SPDM_MEASUREMENTS = 0x60;
export const P384_SIGNATURE_SIZE = 96;
/** At most this many zero bytes of padding after the signature are tolerated (NVML's report buffer size). */
export const MAX_TRAILING_ZERO_BYTES = 8192;

export interface SpdmRequest {
  version: number;
  param1: number;
  param2: number;
  signatureRequested: boolean;
  nonce: Uint8Array;
  slotId: number;
  bytes: Uint8Array;
}

export interface MeasurementBlock {
  index: number;
  /** MeasurementSpecification: bit0 = DMTF. */
  spec: number;
  /** DMTFSpecMeasurementValueType (bit7: raw bitstream; low bits: 0 immutable ROM, 1 mutable FW, ...). */
  valueType: number;
  value: Uint8Array;
}

export interface OpaqueField {
  type: number;
  name: string;
  value: Uint8Array;
}

export interface SpdmResponse {
  version: number;
  param1: number;
  param2: number;
  numberOfBlocks: number;
  blocks: MeasurementBlock[];
  nonce: Uint8Array;
  opaque: Uint8Array;
  opaqueFields: OpaqueField[];
  signature: Uint8Array;
  /** The response bytes up to (not including) the signature. */
  signed: Uint8Array;
  /** The response bytes up to the end of the signature (zero padding after it excluded). */
  bytes: Uint8Array;
  /** Zero bytes found after the signature (padding some stacks add); 0 for exact evidence. */
  trailingZeroBytes: number;
}

export interface SpdmEvidence {
  request: SpdmRequest;
  response: SpdmResponse;
  /** request ‖ response-without-signature: what the signature covers. */
  signedData: Uint8Array;
}

/** NVIDIA opaque-data field ids (nvtrust / NVIDIA attestation SDK). */
export const OPAQUE_FIELD_NAMES: Record<number, string> = {
  1: 'CERT_ISSUER_NAME',
  2: 'CERT_AUTHORITY_KEY_IDENTIFIER',
  3: 'DRIVER_VERSION',
  4: 'GPU_INFO',
  5: 'SKU',
  6: 'VBIOS_VERSION',
  7: 'MANUFACTURER_ID',
  8: 'TAMPER_DETECTION',
  9: 'SMC',
  10: 'VPR',
  11: 'NVDEC0_STATUS',
  12: 'MSRSCNT',
  13: 'CPRINFO',
  14: 'BOARD_ID',
  15: 'CHIP_SKU',
  16: 'CHIP_SKU_MOD',
  17: 'PROJECT',
  18: 'PROJECT_SKU',
  19: 'PROJECT_SKU_MOD',
  20: 'FWID',
  21: 'PROTECTED_PCIE_STATUS',
  22: 'SWITCH_PDI',
  23: 'FLOORSWEPT_PORTS',
  24: 'POSITION_ID',
  25: 'LOCK_SWITCH_STATUS',
  32: 'GPU_LINK_CONN',
  33: 'SYS_ENABLE_STATUS',
  34: 'OPAQUE_DATA_VERSION',
  35: 'CHIP_INFO',
  36: 'FEATURE_FLAG',
  255: 'INVALID',
};

function need(b: Uint8Array, p: number, n: number, what: string): void {
  if (p + n > b.length)
    throw new SpdmError(`SPDM: truncated ${what} at offset ${p} (need ${n} bytes, have ${b.length - p})`);
}

export function parseSpdmRequest(b: Uint8Array): SpdmRequest {
  need(b, 0, 4, 'GET_MEASUREMENTS header');
  const version = b[0]!;
  if (version < 0x10 || version > 0x13)
    throw new SpdmError(`SPDM: unknown version byte 0x${version.toString(16)}`);
  if (b[1] !== SPDM_GET_MEASUREMENTS)
    throw new SpdmError(`SPDM: request code 0x${b[1]!.toString(16)} is not GET_MEASUREMENTS (0xe0)`);
  const param1 = b[2]!;
  const param2 = b[3]!;
  const signatureRequested = (param1 & 1) === 1;
  let p = 4;
  let nonce = new Uint8Array(0);
  let slotId = 0;
  if (signatureRequested) {
    need(b, p, 32, 'request nonce');
    nonce = b.slice(p, p + 32);
    p += 32;
    if (version >= 0x11) {
      need(b, p, 1, 'SlotIDParam');
      slotId = b[p]!;
      p += 1;
    }
    if (version >= 0x13) {
      need(b, p, 8, 'RequesterContext');
      p += 8;
    }
  }
  return { version, param1, param2, signatureRequested, nonce, slotId, bytes: b.slice(0, p) };
}

export function parseOpaqueData(b: Uint8Array): OpaqueField[] {
  const out: OpaqueField[] = [];
  let p = 0;
  while (p < b.length) {
    need(b, p, 4, 'opaque field header');
    const type = u16(b, p);
    const size = u16(b, p + 2);
    need(b, p + 4, size, `opaque field ${type}`);
    out.push({
      type,
      name: OPAQUE_FIELD_NAMES[type] ?? `UNKNOWN_${type}`,
      value: b.slice(p + 4, p + 4 + size),
    });
    p += 4 + size;
  }
  return out;
}

export function parseMeasurementRecord(record: Uint8Array, count: number): MeasurementBlock[] {
  const blocks: MeasurementBlock[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    need(record, p, 4, `measurement block ${i} header`);
    const index = record[p]!;
    const spec = record[p + 1]!;
    const size = u16(record, p + 2);
    need(record, p + 4, size, `measurement block ${index}`);
    if (size < 3)
      throw new SpdmError(`SPDM: measurement block ${index} is ${size} bytes, too short for a DMTF header`);
    const valueType = record[p + 4]!;
    const valueSize = u16(record, p + 5);
    if (valueSize !== size - 3)
      throw new SpdmError(
        `SPDM: measurement block ${index}: DMTF value size ${valueSize} does not match block size ${size} - 3`,
      );
    blocks.push({ index, spec, valueType, value: record.slice(p + 7, p + 7 + valueSize) });
    p += 4 + size;
  }
  if (p !== record.length)
    throw new SpdmError(`SPDM: measurement record has ${record.length - p} bytes after ${count} blocks`);
  return blocks;
}

export function parseSpdmResponse(b: Uint8Array, signatureSize = P384_SIGNATURE_SIZE): SpdmResponse {
  need(b, 0, 8, 'MEASUREMENTS header');
  const version = b[0]!;
  if (b[1] !== SPDM_MEASUREMENTS)
    throw new SpdmError(`SPDM: response code 0x${b[1]!.toString(16)} is not MEASUREMENTS (0x60)`);
  const numberOfBlocks = b[4]!;
  const recLen = u24(b, 5);
  let p = 8;
  need(b, p, recLen, 'measurement record');
  const blocks = parseMeasurementRecord(b.subarray(p, p + recLen), numberOfBlocks);
  p += recLen;
  need(b, p, 32, 'response nonce');
  const nonce = b.slice(p, p + 32);
  p += 32;
  need(b, p, 2, 'OpaqueLength');
  const opLen = u16(b, p);
  p += 2;
  need(b, p, opLen, 'opaque data');
  const opaque = b.slice(p, p + opLen);
  p += opLen;
  if (version >= 0x13) {
    need(b, p, 8, 'RequesterContext');
    p += 8;
  }
  if (b.length - p < signatureSize)
    throw new SpdmError(
      `SPDM: ${b.length - p} bytes left for the signature, expected ${signatureSize} (ECDSA P-384 r‖s)`,
    );
  // Some confidential-container stacks pad the evidence with zero bytes after the signature (see
  // trustee's hopper_coco_report1): accepted and reported; anything else after the signature is not.
  const sigEnd = p + signatureSize;
  const padding = b.subarray(sigEnd);
  if (padding.length > MAX_TRAILING_ZERO_BYTES || padding.some((x) => x !== 0))
    throw new SpdmError(
      `SPDM: ${padding.length} byte(s) after the ${signatureSize}-byte signature${padding.some((x) => x !== 0) ? ' are not all zero' : ` exceed the ${MAX_TRAILING_ZERO_BYTES}-byte padding limit`} (only zero padding is accepted)`,
    );
  return {
    version,
    param1: b[2]!,
    param2: b[3]!,
    numberOfBlocks,
    blocks,
    nonce,
    opaque,
    opaqueFields: parseOpaqueData(opaque),
    signature: b.slice(p, sigEnd),
    signed: b.slice(0, p),
    bytes: b.slice(0, sigEnd),
    trailingZeroBytes: padding.length,
  };
}

/** Parse NVML's `attestationReport`: GET_MEASUREMENTS request ‖ MEASUREMENTS response. */
export function parseSpdmEvidence(bytes: Uint8Array): SpdmEvidence {
  const request = parseSpdmRequest(bytes);
  const response = parseSpdmResponse(bytes.subarray(request.bytes.length));
  if (response.version !== request.version)
    throw new SpdmError(
      `SPDM: response version 0x${response.version.toString(16)} differs from request 0x${request.version.toString(16)}`,
    );
  const signedData = new Uint8Array(request.bytes.length + response.signed.length);
  signedData.set(request.bytes, 0);
  signedData.set(response.signed, request.bytes.length);
  return { request, response, signedData };
}

export function opaqueField(r: SpdmResponse, name: string): Uint8Array | undefined {
  return r.opaqueFields.find((f) => f.name === name)?.value;
}

function cString(v: Uint8Array): string {
  const end = v.indexOf(0);
  return latin1(end >= 0 ? v.subarray(0, end) : v);
}

/** Text of bytes read as ISO-8859-1 (one character per byte, as Buffer's 'latin1'). */
function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

/**
 * VBIOS version as NVIDIA prints it (e.g. '96.00.9F.00.01'): the 8-byte little-endian field read as
 * two u32 halves, formatted like nvtrust's `format_vbios_version`.
 */
export function formatVbiosVersion(v: Uint8Array): string {
  if (v.length < 8) return toHex(v);
  const lo = u32le(v, 0);
  const hi = u32le(v, 4);
  const h = (n: number, w: number) => n.toString(16).toUpperCase().padStart(w, '0');
  const major = h(lo >>> 24, 2);
  const a = h((lo >>> 16) & 0xff, 2);
  const b = h((lo >>> 8) & 0xff, 2);
  const c = h(lo & 0xff, 2);
  return `${major}.${a}.${b}.${c}.${h(hi & 0xff, 2)}`;
}

/** Opaque fields decoded for display and policy (strings where the field is text). */
export function describeOpaque(r: SpdmResponse): Record<string, string | number[]> {
  const out: Record<string, string | number[]> = {};
  for (const f of r.opaqueFields) {
    switch (f.name) {
      case 'DRIVER_VERSION':
      case 'PROJECT':
      case 'PROJECT_SKU':
      case 'CHIP_SKU':
      case 'CHIP_SKU_MOD':
      case 'PROJECT_SKU_MOD':
      case 'SKU':
      case 'CERT_ISSUER_NAME':
        out[f.name] = cString(f.value);
        break;
      case 'VBIOS_VERSION':
        out[f.name] = formatVbiosVersion(f.value);
        break;
      case 'MSRSCNT': {
        const counts: number[] = [];
        for (let i = 0; i + 4 <= f.value.length; i += 4) counts.push(u32le(f.value, i));
        out[f.name] = counts;
        break;
      }
      default:
        out[f.name] = toHex(f.value);
    }
  }
  return out;
}
