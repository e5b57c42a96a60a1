/**
 * TPM 2.0 structures (TCG TPM 2.0 Library, Part 2), big-endian: TPMS_ATTEST (quotes), TPMT_SIGNATURE
 * (RSASSA, RSAPSS, ECDSA), TPMT_PUBLIC (RSA and ECC keys), TPML_PCR_SELECTION, and the writer the
 * command marshalling of src/tee/azure uses. Only what a vTPM quote and its attestation key need.
 */
import type { PublicJwk } from '../../util/signature.ts';
import { bytesToBase64Url } from '../../util/text-codec.ts';
import { AzureFormatError } from './errors.ts';

export const TPM_GENERATED_VALUE = 0xff544347;
export const TPM_ST_ATTEST_QUOTE = 0x8018;

/** TPM_ALG_ID values used here. */
export const TPM_ALG = {
  RSA: 0x0001,
  SHA1: 0x0004,
  HMAC: 0x0005,
  AES: 0x0006,
  KEYEDHASH: 0x0008,
  SHA256: 0x000b,
  SHA384: 0x000c,
  SHA512: 0x000d,
  NULL: 0x0010,
  RSASSA: 0x0014,
  RSAES: 0x0015,
  RSAPSS: 0x0016,
  OAEP: 0x0017,
  ECDSA: 0x0018,
  ECDH: 0x0019,
  ECC: 0x0023,
  CFB: 0x0043,
} as const;

export const TPM_ECC_NIST_P256 = 0x0003;

export type TpmHashName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

const HASHES: Record<number, { name: TpmHashName; size: number }> = {
  [TPM_ALG.SHA1]: { name: 'sha1', size: 20 },
  [TPM_ALG.SHA256]: { name: 'sha256', size: 32 },
  [TPM_ALG.SHA384]: { name: 'sha384', size: 48 },
  [TPM_ALG.SHA512]: { name: 'sha512', size: 64 },
};

/** The hash behind a TPM_ALG_ID, or undefined when it is not a hash this code knows. */
export function tpmHash(alg: number): { name: TpmHashName; size: number } | undefined {
  return HASHES[alg];
}

/** TPM_ALG_ID of a hash name. */
export function tpmHashAlg(name: TpmHashName): number {
  return { sha1: TPM_ALG.SHA1, sha256: TPM_ALG.SHA256, sha384: TPM_ALG.SHA384, sha512: TPM_ALG.SHA512 }[name];
}

/** A bounds-checked big-endian cursor (TPM marshalling is big-endian). */
export class TpmReader {
  pos = 0;
  constructor(
    readonly b: Uint8Array,
    readonly what: string,
  ) {}
  private need(n: number, field: string): void {
    if (this.pos + n > this.b.length)
      throw new AzureFormatError(
        'TPM_TRUNCATED',
        `${this.what}: truncated at ${field} (offset ${this.pos}, need ${n} bytes, have ${this.b.length - this.pos})`,
      );
  }
  u8(field: string): number {
    this.need(1, field);
    return this.b[this.pos++]!;
  }
  u16(field: string): number {
    this.need(2, field);
    const v = (this.b[this.pos]! << 8) | this.b[this.pos + 1]!;
    this.pos += 2;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = new DataView(this.b.buffer, this.b.byteOffset + this.pos, 4).getUint32(0, false);
    this.pos += 4;
    return v;
  }
  u64(field: string): bigint {
    this.need(8, field);
    const v = new DataView(this.b.buffer, this.b.byteOffset + this.pos, 8).getBigUint64(0, false);
    this.pos += 8;
    return v;
  }
  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    const v = this.b.slice(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /** A TPM2B_*: u16 size, then that many bytes. */
  tpm2b(field: string): Uint8Array {
    return this.bytes(this.u16(`${field}.size`), field);
  }
  rest(): Uint8Array {
    return this.b.slice(this.pos);
  }
  end(): void {
    if (this.pos !== this.b.length)
      throw new AzureFormatError(
        'TPM_TRAILING',
        `${this.what}: ${this.b.length - this.pos} unexpected bytes after the structure (offset ${this.pos})`,
      );
  }
}

/** A big-endian appending writer for TPM commands and structures. */
export class TpmWriter {
  private parts: Uint8Array[] = [];
  private n = 0;
  u8(v: number): this {
    return this.raw(Uint8Array.of(v & 0xff));
  }
  u16(v: number): this {
    return this.raw(Uint8Array.of((v >>> 8) & 0xff, v & 0xff));
  }
  u32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, false);
    return this.raw(b);
  }
  u64(v: bigint): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v, false);
    return this.raw(b);
  }
  raw(b: Uint8Array): this {
    this.parts.push(b);
    this.n += b.length;
    return this;
  }
  tpm2b(b: Uint8Array): this {
    if (b.length > 0xffff)
      throw new AzureFormatError('TPM_TRUNCATED', `TPM2B of ${b.length} bytes is over 65535`);
    return this.u16(b.length).raw(b);
  }
  get length(): number {
    return this.n;
  }
  done(): Uint8Array {
    const out = new Uint8Array(this.n);
    let p = 0;
    for (const part of this.parts) {
      out.set(part, p);
      p += part.length;
    }
    return out;
  }
}

// ---- PCR selection ----

export interface PcrSelection {
  /** TPM_ALG_ID of the bank. */
  hashAlg: number;
  /** Selected PCR indices, ascending. */
  pcrs: number[];
}

/** TPML_PCR_SELECTION: u32 count, then per bank hash u16, sizeofSelect u8, the select bitmap. */
export function readPcrSelections(r: TpmReader): PcrSelection[] {
  const count = r.u32('pcrSelect.count');
  if (count > 16)
    throw new AzureFormatError('TPM_PCR_SELECTION', `${r.what}: ${count} PCR banks (at most 16)`);
  const out: PcrSelection[] = [];
  for (let i = 0; i < count; i++) {
    const hashAlg = r.u16(`pcrSelect[${i}].hash`);
    const size = r.u8(`pcrSelect[${i}].sizeofSelect`);
    if (size > 32)
      throw new AzureFormatError('TPM_PCR_SELECTION', `${r.what}: sizeofSelect ${size} (at most 32)`);
    const bits = r.bytes(size, `pcrSelect[${i}].pcrSelect`);
    const pcrs: number[] = [];
    for (let byte = 0; byte < size; byte++)
      for (let bit = 0; bit < 8; bit++) if (bits[byte]! & (1 << bit)) pcrs.push(byte * 8 + bit);
    out.push({ hashAlg, pcrs });
  }
  return out;
}

/** Marshal a TPML_PCR_SELECTION (3-byte bitmaps: PCRs 0..23). */
export function writePcrSelections(w: TpmWriter, sels: readonly PcrSelection[]): TpmWriter {
  w.u32(sels.length);
  for (const s of sels) {
    const bits = new Uint8Array(3);
    for (const p of s.pcrs) {
      if (!Number.isInteger(p) || p < 0 || p > 23)
        throw new AzureFormatError('TPM_PCR_SELECTION', `PCR index ${p} is not 0..23`);
      bits[p >> 3]! |= 1 << (p & 7);
    }
    w.u16(s.hashAlg).u8(3).raw(bits);
  }
  return w;
}

// ---- TPMS_ATTEST ----

export interface TpmsAttest {
  magic: number;
  type: number;
  qualifiedSigner: Uint8Array;
  extraData: Uint8Array;
  clock: bigint;
  resetCount: number;
  restartCount: number;
  safe: boolean;
  firmwareVersion: bigint;
  /** TPMS_QUOTE_INFO (type TPM_ST_ATTEST_QUOTE). */
  pcrSelect: PcrSelection[];
  pcrDigest: Uint8Array;
}

/** Parse a TPMS_ATTEST that must be a quote (magic TPM_GENERATED_VALUE, type TPM_ST_ATTEST_QUOTE). */
export function parseTpmsAttest(b: Uint8Array): TpmsAttest {
  const r = new TpmReader(b, 'TPMS_ATTEST');
  const magic = r.u32('magic');
  if (magic !== TPM_GENERATED_VALUE)
    throw new AzureFormatError(
      'TPM_MAGIC',
      `TPMS_ATTEST: magic 0x${magic.toString(16)} is not TPM_GENERATED_VALUE (0xff544347)`,
    );
  const type = r.u16('type');
  if (type !== TPM_ST_ATTEST_QUOTE)
    throw new AzureFormatError(
      'TPM_ATTEST_TYPE',
      `TPMS_ATTEST: type 0x${type.toString(16)} is not TPM_ST_ATTEST_QUOTE (0x8018)`,
    );
  const qualifiedSigner = r.tpm2b('qualifiedSigner');
  const extraData = r.tpm2b('extraData');
  const clock = r.u64('clockInfo.clock');
  const resetCount = r.u32('clockInfo.resetCount');
  const restartCount = r.u32('clockInfo.restartCount');
  const safe = r.u8('clockInfo.safe');
  const firmwareVersion = r.u64('firmwareVersion');
  const pcrSelect = readPcrSelections(r);
  const pcrDigest = r.tpm2b('pcrDigest');
  r.end();
  return {
    magic,
    type,
    qualifiedSigner,
    extraData,
    clock,
    resetCount,
    restartCount,
    safe: safe !== 0,
    firmwareVersion,
    pcrSelect,
    pcrDigest,
  };
}

/** TPM2B_ATTEST: u16 size, then a TPMS_ATTEST. Returns the TPMS_ATTEST bytes (what the signature covers). */
export function unwrapTpm2bAttest(b: Uint8Array): Uint8Array {
  const r = new TpmReader(b, 'TPM2B_ATTEST');
  const inner = r.tpm2b('attestationData');
  r.end();
  return inner;
}

// ---- TPMT_SIGNATURE ----

export type TpmtSignature =
  | { sigAlg: 'rsassa' | 'rsapss'; hashAlg: number; signature: Uint8Array }
  | { sigAlg: 'ecdsa'; hashAlg: number; r: Uint8Array; s: Uint8Array };

export function readTpmtSignature(r: TpmReader): TpmtSignature {
  const alg = r.u16('sigAlg');
  const hashAlg = r.u16('hash');
  if (alg === TPM_ALG.RSASSA || alg === TPM_ALG.RSAPSS)
    return { sigAlg: alg === TPM_ALG.RSASSA ? 'rsassa' : 'rsapss', hashAlg, signature: r.tpm2b('sig') };
  if (alg === TPM_ALG.ECDSA)
    return { sigAlg: 'ecdsa', hashAlg, r: r.tpm2b('signatureR'), s: r.tpm2b('signatureS') };
  throw new AzureFormatError(
    'TPM_ALGORITHM',
    `TPMT_SIGNATURE: sigAlg 0x${alg.toString(16)} is not RSASSA, RSAPSS or ECDSA`,
  );
}

/** Parse a whole TPMT_SIGNATURE. */
export function parseTpmtSignature(b: Uint8Array): TpmtSignature {
  const r = new TpmReader(b, 'TPMT_SIGNATURE');
  const s = readTpmtSignature(r);
  r.end();
  return s;
}

export function serializeTpmtSignature(s: TpmtSignature): Uint8Array {
  const w = new TpmWriter();
  if (s.sigAlg === 'ecdsa') return w.u16(TPM_ALG.ECDSA).u16(s.hashAlg).tpm2b(s.r).tpm2b(s.s).done();
  return w
    .u16(s.sigAlg === 'rsassa' ? TPM_ALG.RSASSA : TPM_ALG.RSAPSS)
    .u16(s.hashAlg)
    .tpm2b(s.signature)
    .done();
}

// ---- TPMT_PUBLIC ----

export type TpmtPublic =
  | {
      type: 'rsa';
      nameAlg: number;
      objectAttributes: number;
      authPolicy: Uint8Array;
      scheme: number;
      schemeHash?: number;
      keyBits: number;
      /** 0 in the structure means 65537; reported here as the real value. */
      exponent: number;
      modulus: Uint8Array;
    }
  | {
      type: 'ecc';
      nameAlg: number;
      objectAttributes: number;
      authPolicy: Uint8Array;
      scheme: number;
      schemeHash?: number;
      curveId: number;
      x: Uint8Array;
      y: Uint8Array;
    };

function readSymmetric(r: TpmReader): void {
  const alg = r.u16('parameters.symmetric.algorithm');
  if (alg !== TPM_ALG.NULL) {
    r.u16('parameters.symmetric.keyBits');
    r.u16('parameters.symmetric.mode');
  }
}

function readScheme(r: TpmReader): { scheme: number; schemeHash?: number } {
  const scheme = r.u16('parameters.scheme');
  if (scheme === TPM_ALG.NULL) return { scheme };
  return { scheme, schemeHash: r.u16('parameters.scheme.hashAlg') };
}

export function readTpmtPublic(r: TpmReader): TpmtPublic {
  const type = r.u16('type');
  const nameAlg = r.u16('nameAlg');
  const objectAttributes = r.u32('objectAttributes');
  const authPolicy = r.tpm2b('authPolicy');
  if (type === TPM_ALG.RSA) {
    readSymmetric(r);
    const { scheme, schemeHash } = readScheme(r);
    const keyBits = r.u16('parameters.keyBits');
    const exp = r.u32('parameters.exponent');
    const modulus = r.tpm2b('unique.rsa');
    const out: TpmtPublic = {
      type: 'rsa',
      nameAlg,
      objectAttributes,
      authPolicy,
      scheme,
      keyBits,
      exponent: exp === 0 ? 65537 : exp,
      modulus,
    };
    if (schemeHash !== undefined) out.schemeHash = schemeHash;
    return out;
  }
  if (type === TPM_ALG.ECC) {
    readSymmetric(r);
    const { scheme, schemeHash } = readScheme(r);
    const curveId = r.u16('parameters.curveID');
    const kdf = r.u16('parameters.kdf.scheme');
    if (kdf !== TPM_ALG.NULL) r.u16('parameters.kdf.hashAlg');
    const x = r.tpm2b('unique.ecc.x');
    const y = r.tpm2b('unique.ecc.y');
    const out: TpmtPublic = { type: 'ecc', nameAlg, objectAttributes, authPolicy, scheme, curveId, x, y };
    if (schemeHash !== undefined) out.schemeHash = schemeHash;
    return out;
  }
  throw new AzureFormatError('TPM_ALGORITHM', `TPMT_PUBLIC: type 0x${type.toString(16)} is not RSA or ECC`);
}

/** TPM2B_PUBLIC: u16 size, then a TPMT_PUBLIC. */
export function parseTpm2bPublic(b: Uint8Array): { pub: TpmtPublic; tpmtBytes: Uint8Array } {
  const outer = new TpmReader(b, 'TPM2B_PUBLIC');
  const inner = outer.tpm2b('publicArea');
  outer.end();
  const r = new TpmReader(inner, 'TPMT_PUBLIC');
  const pub = readTpmtPublic(r);
  r.end();
  return { pub, tpmtBytes: inner };
}

const b64u = bytesToBase64Url;

function minimalBytes(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0);
  let i = 0;
  while (i < 3 && b[i] === 0) i++;
  return b.slice(i);
}

/** The public key of a TPMT_PUBLIC as a JWK (RSA n/e, or EC P-256 x/y). Other curves: TPM_ALGORITHM. */
export function tpmPublicToJwk(p: TpmtPublic): PublicJwk {
  if (p.type === 'rsa') return { kty: 'RSA', n: b64u(p.modulus), e: b64u(minimalBytes(p.exponent)) };
  if (p.curveId !== TPM_ECC_NIST_P256)
    throw new AzureFormatError(
      'AZURE_AK_KEY',
      `TPMT_PUBLIC: ECC curve 0x${p.curveId.toString(16)} is not NIST P-256`,
    );
  return { kty: 'EC', crv: 'P-256', x: b64u(p.x), y: b64u(p.y) };
}

/** The PCR digest a quote carries: hash(PCR values of the selection, concatenated in selection order). */
export function pcrSelectionOrder(sels: readonly PcrSelection[]): Array<{ hashAlg: number; pcr: number }> {
  const out: Array<{ hashAlg: number; pcr: number }> = [];
  for (const s of sels) for (const pcr of s.pcrs) out.push({ hashAlg: s.hashAlg, pcr });
  return out;
}
