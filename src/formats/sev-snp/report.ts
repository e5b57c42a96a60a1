/**
 * AMD SEV-SNP ATTESTATION_REPORT (SEV-SNP Firmware ABI, Table "ATTESTATION_REPORT Structure"),
 * versions 2 to 5: parse and serialize byte-exactly. Pure format code (no I/O), shared by src/tee and src/verify.
 */
import { toHex } from '../encoding.ts';
import { SnpFormatError } from './errors.ts';

export const REPORT_SIZE = 0x4a0;
export const SIGNED_REGION_END = 0x2a0;
export const SIG_R_OFFSET = 0x2a0;
export const SIG_S_OFFSET = 0x2e8;
export const SIG_COMPONENT_SIZE = 72;

/** AMD product lines: each has its own ARK. Turin changes the TCB_VERSION layout. */
export type SnpProduct = 'Milan' | 'Genoa' | 'Turin';

type Kind = 'u8' | 'u32' | 'u64' | 'bytes';
interface FieldDef {
  name: keyof SnpReportFields;
  offset: number;
  size: number;
  kind: Kind;
}

const F = (name: keyof SnpReportFields, offset: number, size: number, kind: Kind): FieldDef => ({
  name,
  offset,
  size,
  kind,
});

/** Every byte of the report belongs to exactly one field (reserved ones included), so serialize(parse(x)) = x. */
export const REPORT_LAYOUT: readonly FieldDef[] = [
  F('version', 0x000, 4, 'u32'),
  F('guestSvn', 0x004, 4, 'u32'),
  F('policy', 0x008, 8, 'u64'),
  F('familyId', 0x010, 16, 'bytes'),
  F('imageId', 0x020, 16, 'bytes'),
  F('vmpl', 0x030, 4, 'u32'),
  F('signatureAlgo', 0x034, 4, 'u32'),
  F('currentTcb', 0x038, 8, 'u64'),
  F('platformInfo', 0x040, 8, 'u64'),
  F('signerInfo', 0x048, 4, 'u32'),
  F('reserved0', 0x04c, 4, 'bytes'),
  F('reportData', 0x050, 64, 'bytes'),
  F('measurement', 0x090, 48, 'bytes'),
  F('hostData', 0x0c0, 32, 'bytes'),
  F('idKeyDigest', 0x0e0, 48, 'bytes'),
  F('authorKeyDigest', 0x110, 48, 'bytes'),
  F('reportId', 0x140, 32, 'bytes'),
  F('reportIdMa', 0x160, 32, 'bytes'),
  F('reportedTcb', 0x180, 8, 'u64'),
  F('cpuidFamId', 0x188, 1, 'u8'),
  F('cpuidModId', 0x189, 1, 'u8'),
  F('cpuidStep', 0x18a, 1, 'u8'),
  F('reserved1', 0x18b, 21, 'bytes'),
  F('chipId', 0x1a0, 64, 'bytes'),
  F('committedTcb', 0x1e0, 8, 'u64'),
  F('currentBuild', 0x1e8, 1, 'u8'),
  F('currentMinor', 0x1e9, 1, 'u8'),
  F('currentMajor', 0x1ea, 1, 'u8'),
  F('reserved2', 0x1eb, 1, 'bytes'),
  F('committedBuild', 0x1ec, 1, 'u8'),
  F('committedMinor', 0x1ed, 1, 'u8'),
  F('committedMajor', 0x1ee, 1, 'u8'),
  F('reserved3', 0x1ef, 1, 'bytes'),
  F('launchTcb', 0x1f0, 8, 'u64'),
  F('launchMitVector', 0x1f8, 8, 'u64'),
  F('currentMitVector', 0x200, 8, 'u64'),
  F('reserved4', 0x208, 0x2a0 - 0x208, 'bytes'),
  F('signatureR', 0x2a0, 72, 'bytes'),
  F('signatureS', 0x2e8, 72, 'bytes'),
  F('signatureReserved', 0x330, REPORT_SIZE - 0x330, 'bytes'),
];

/** The raw fields, every byte (u64 as bigint, little-endian in the report). */
export interface SnpReportFields {
  version: number;
  guestSvn: number;
  policy: bigint;
  familyId: Uint8Array;
  imageId: Uint8Array;
  vmpl: number;
  signatureAlgo: number;
  currentTcb: bigint;
  platformInfo: bigint;
  signerInfo: number;
  reserved0: Uint8Array;
  reportData: Uint8Array;
  measurement: Uint8Array;
  hostData: Uint8Array;
  idKeyDigest: Uint8Array;
  authorKeyDigest: Uint8Array;
  reportId: Uint8Array;
  reportIdMa: Uint8Array;
  reportedTcb: bigint;
  /** CPUID family/model/stepping: version 3 and later (0 in version 2, where the bytes are reserved). */
  cpuidFamId: number;
  cpuidModId: number;
  cpuidStep: number;
  reserved1: Uint8Array;
  chipId: Uint8Array;
  committedTcb: bigint;
  currentBuild: number;
  currentMinor: number;
  currentMajor: number;
  reserved2: Uint8Array;
  committedBuild: number;
  committedMinor: number;
  committedMajor: number;
  reserved3: Uint8Array;
  launchTcb: bigint;
  /** Version 5 and later (reserved before). */
  launchMitVector: bigint;
  currentMitVector: bigint;
  reserved4: Uint8Array;
  /** ECDSA P-384 r and s, little-endian, zero-extended to 72 bytes. */
  signatureR: Uint8Array;
  signatureS: Uint8Array;
  signatureReserved: Uint8Array;
}

/** Parse a 1184-byte report, versions 2..5. Throws SnpFormatError. */
export function parseReport(bytes: Uint8Array): SnpReportFields {
  if (!(bytes instanceof Uint8Array)) throw new SnpFormatError('SNP_REPORT_TYPE', 'report must be bytes');
  if (bytes.length !== REPORT_SIZE)
    throw new SnpFormatError(
      'SNP_REPORT_SIZE',
      `report is ${bytes.length} bytes, expected ${REPORT_SIZE} (0x4A0)`,
    );
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Record<string, unknown> = {};
  for (const f of REPORT_LAYOUT) {
    switch (f.kind) {
      case 'u8':
        out[f.name] = bytes[f.offset]!;
        break;
      case 'u32':
        out[f.name] = dv.getUint32(f.offset, true);
        break;
      case 'u64':
        out[f.name] = dv.getBigUint64(f.offset, true);
        break;
      case 'bytes':
        out[f.name] = bytes.slice(f.offset, f.offset + f.size);
        break;
    }
  }
  const r = out as unknown as SnpReportFields;
  if (r.version < 2 || r.version > 5)
    throw new SnpFormatError(
      'SNP_REPORT_VERSION',
      `unsupported report version ${r.version} (supported: 2 to 5)`,
    );
  return r;
}

/** Serialize fields back into the exact 1184 bytes. */
export function serializeReport(r: SnpReportFields): Uint8Array {
  const out = new Uint8Array(REPORT_SIZE);
  const dv = new DataView(out.buffer);
  for (const f of REPORT_LAYOUT) {
    const v = r[f.name];
    switch (f.kind) {
      case 'u8':
        out[f.offset] = v as number;
        break;
      case 'u32':
        dv.setUint32(f.offset, v as number, true);
        break;
      case 'u64':
        dv.setBigUint64(f.offset, v as bigint, true);
        break;
      case 'bytes': {
        const b = v as Uint8Array;
        if (b.length !== f.size)
          throw new SnpFormatError('SNP_FIELD_SIZE', `${f.name}: ${b.length} bytes, expected ${f.size}`);
        out.set(b, f.offset);
        break;
      }
    }
  }
  return out;
}

/** A report with every field zero except the given ones (for builders: the simulated TEE, tests). */
export function emptyReport(version = 5): SnpReportFields {
  const b = new Uint8Array(REPORT_SIZE);
  new DataView(b.buffer).setUint32(0, version, true);
  return parseReport(b);
}

// ---------------------------------------------------------------- TCB_VERSION

/** Decoded TCB_VERSION. Milan/Genoa: bl, tee, -, -, -, -, snp, ucode. Turin: fmc, bl, tee, snp, -, -, -, ucode. */
export interface TcbParts {
  /** Turin only. */
  fmcSPL?: number;
  blSPL: number;
  teeSPL: number;
  snpSPL: number;
  ucodeSPL: number;
}

export function tcbLayoutIsTurin(product: SnpProduct | undefined): boolean {
  return product === 'Turin';
}

export function decodeTcb(raw: bigint, product: SnpProduct | undefined): TcbParts {
  const b = (i: number) => Number((raw >> BigInt(8 * i)) & 0xffn);
  if (tcbLayoutIsTurin(product))
    return { fmcSPL: b(0), blSPL: b(1), teeSPL: b(2), snpSPL: b(3), ucodeSPL: b(7) };
  return { blSPL: b(0), teeSPL: b(1), snpSPL: b(6), ucodeSPL: b(7) };
}

export function encodeTcb(t: TcbParts, product: SnpProduct | undefined): bigint {
  const put = (v: number | undefined, i: number) => BigInt((v ?? 0) & 0xff) << BigInt(8 * i);
  if (tcbLayoutIsTurin(product))
    return put(t.fmcSPL, 0) | put(t.blSPL, 1) | put(t.teeSPL, 2) | put(t.snpSPL, 3) | put(t.ucodeSPL, 7);
  return put(t.blSPL, 0) | put(t.teeSPL, 1) | put(t.snpSPL, 6) | put(t.ucodeSPL, 7);
}

/** The TCB as the 8 bytes in report order, hex (as in expected-results.json `reportedTcbHex`). */
export function tcbHex(raw: bigint): string {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, raw, true);
  return toHex(b);
}

/** Component-wise comparison: true when every SPL of `a` >= the one of `b`. */
export function tcbAtLeast(a: TcbParts, b: TcbParts): boolean {
  return (
    a.blSPL >= b.blSPL &&
    a.teeSPL >= b.teeSPL &&
    a.snpSPL >= b.snpSPL &&
    a.ucodeSPL >= b.ucodeSPL &&
    (a.fmcSPL ?? 0) >= (b.fmcSPL ?? 0)
  );
}

// ---------------------------------------------------------------- product from CPUID

/** Product line from CPUID family/model (report version 3+). Undefined when unknown or version 2. */
export function productFromCpuid(fam: number, model: number): SnpProduct | undefined {
  if (fam === 0x19) {
    if (model <= 0x0f) return 'Milan';
    if ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf)) return 'Genoa';
  }
  if (fam === 0x1a && model <= 0x1f) return 'Turin';
  return undefined;
}

export function reportProduct(r: SnpReportFields): SnpProduct | undefined {
  if (r.version < 3) return undefined;
  return productFromCpuid(r.cpuidFamId, r.cpuidModId);
}

// ---------------------------------------------------------------- bit fields

/** Guest POLICY (u64). */
export interface GuestPolicy {
  abiMinor: number;
  abiMajor: number;
  smt: boolean;
  /** Bit 17: reserved, must be 1. */
  reserved17: boolean;
  migrateMa: boolean;
  debug: boolean;
  singleSocket: boolean;
  cxlAllow: boolean;
  memAes256Xts: boolean;
  raplDis: boolean;
  ciphertextHiding: boolean;
  pageSwapDisable: boolean;
}

export function decodePolicy(p: bigint): GuestPolicy {
  const bit = (i: number) => ((p >> BigInt(i)) & 1n) === 1n;
  return {
    abiMinor: Number(p & 0xffn),
    abiMajor: Number((p >> 8n) & 0xffn),
    smt: bit(16),
    reserved17: bit(17),
    migrateMa: bit(18),
    debug: bit(19),
    singleSocket: bit(20),
    cxlAllow: bit(21),
    memAes256Xts: bit(22),
    raplDis: bit(23),
    ciphertextHiding: bit(24),
    pageSwapDisable: bit(25),
  };
}

/** PLATFORM_INFO (u64). */
export interface PlatformInfo {
  smtEnabled: boolean;
  tsmeEnabled: boolean;
  eccEnabled: boolean;
  raplDisabled: boolean;
  ciphertextHidingEnabled: boolean;
  aliasCheckComplete: boolean;
  tioEnabled: boolean;
}

export function decodePlatformInfo(p: bigint): PlatformInfo {
  const bit = (i: number) => ((p >> BigInt(i)) & 1n) === 1n;
  return {
    smtEnabled: bit(0),
    tsmeEnabled: bit(1),
    eccEnabled: bit(2),
    raplDisabled: bit(3),
    ciphertextHidingEnabled: bit(4),
    aliasCheckComplete: bit(5),
    tioEnabled: bit(7),
  };
}

export type SigningKey = 'VCEK' | 'VLEK' | 'none' | 'reserved';

/** SIGNER_INFO (u32): bit 0 AUTHOR_KEY_EN, bit 1 MASK_CHIP_KEY, bits 4:2 SIGNING_KEY (0 VCEK, 1 VLEK, 7 none). */
export interface SignerInfo {
  authorKeyEn: boolean;
  maskChipKey: boolean;
  signingKey: SigningKey;
  signingKeyRaw: number;
}

export function decodeSignerInfo(s: number): SignerInfo {
  const k = (s >>> 2) & 7;
  return {
    authorKeyEn: (s & 1) === 1,
    maskChipKey: (s & 2) === 2,
    signingKey: k === 0 ? 'VCEK' : k === 1 ? 'VLEK' : k === 7 ? 'none' : 'reserved',
    signingKeyRaw: k,
  };
}

/** The report signature as IEEE P1363 r‖s (96 bytes big-endian) for node:crypto, or undefined if r/s exceed 48 bytes. */
export function signatureP1363(r: SnpReportFields): Uint8Array | undefined {
  const out = new Uint8Array(96);
  for (const [src, at] of [
    [r.signatureR, 0],
    [r.signatureS, 48],
  ] as const) {
    for (let i = 48; i < 72; i++) if (src[i] !== 0) return undefined;
    for (let i = 0; i < 48; i++) out[at + i] = src[47 - i]!;
  }
  return out;
}

/** Store a P1363 r‖s (96 bytes) into the report's little-endian 72-byte fields. */
export function setSignatureP1363(r: SnpReportFields, sig: Uint8Array): void {
  if (sig.length !== 96)
    throw new SnpFormatError('SNP_SIGNATURE_SIZE', 'P-384 signature must be 96 bytes (r‖s)');
  const R = new Uint8Array(72);
  const S = new Uint8Array(72);
  for (let i = 0; i < 48; i++) {
    R[i] = sig[47 - i]!;
    S[i] = sig[95 - i]!;
  }
  r.signatureR = R;
  r.signatureS = S;
}

const hex = toHex;

/** A JSON-friendly view of every field (hex strings, decoded bit fields, TCBs for the product's layout). */
export function describeReport(r: SnpReportFields, product?: SnpProduct): Record<string, unknown> {
  const p = product ?? reportProduct(r);
  const ver = (maj: number, min: number, build: number) => `${maj}.${min}.${build}`;
  return {
    version: r.version,
    guestSvn: r.guestSvn,
    policy: `0x${r.policy.toString(16)}`,
    policyDecoded: decodePolicy(r.policy),
    familyId: hex(r.familyId),
    imageId: hex(r.imageId),
    vmpl: r.vmpl,
    signatureAlgo: r.signatureAlgo,
    currentTcb: { hex: tcbHex(r.currentTcb), ...decodeTcb(r.currentTcb, p) },
    platformInfo: `0x${r.platformInfo.toString(16)}`,
    platformInfoDecoded: decodePlatformInfo(r.platformInfo),
    signerInfo: decodeSignerInfo(r.signerInfo),
    reportData: hex(r.reportData),
    measurement: hex(r.measurement),
    hostData: hex(r.hostData),
    idKeyDigest: hex(r.idKeyDigest),
    authorKeyDigest: hex(r.authorKeyDigest),
    reportId: hex(r.reportId),
    reportIdMa: hex(r.reportIdMa),
    reportedTcb: { hex: tcbHex(r.reportedTcb), ...decodeTcb(r.reportedTcb, p) },
    cpuid:
      r.version >= 3
        ? {
            family: r.cpuidFamId,
            model: r.cpuidModId,
            stepping: r.cpuidStep,
            hex: hex(Uint8Array.of(r.cpuidFamId, r.cpuidModId, r.cpuidStep)),
          }
        : null,
    product: p ?? null,
    chipId: hex(r.chipId),
    committedTcb: { hex: tcbHex(r.committedTcb), ...decodeTcb(r.committedTcb, p) },
    currentVersion: ver(r.currentMajor, r.currentMinor, r.currentBuild),
    committedVersion: ver(r.committedMajor, r.committedMinor, r.committedBuild),
    launchTcb: { hex: tcbHex(r.launchTcb), ...decodeTcb(r.launchTcb, p) },
    launchMitVector: r.version >= 5 ? `0x${r.launchMitVector.toString(16)}` : null,
    currentMitVector: r.version >= 5 ? `0x${r.currentMitVector.toString(16)}` : null,
  };
}
