/**
 * Intel TDX DCAP quote, versions 4 and 5: byte-exact parse and serialize.
 *
 * Layout (all integers little-endian), after Intel's "TDX DCAP Quote Generation Library and
 * Quote Verification Library" (quote format appendix):
 *   header (48)   version u16, attestation key type u16 (2 = ECDSA-256-with-P-256), TEE type u32
 *                 (0x81 = TDX), QE SVN u16, PCE SVN u16 (reserved in v4/v5), QE vendor id (16),
 *                 user data (20)
 *   v4:  TD report body (584, TDX 1.0)
 *   v5:  body type u16 (2 = TDX 1.0 / 584, 3 = TDX 1.5 / 648), body size u32, body
 *   signature data length u32, then: quote signature r‖s (64, big-endian each), attestation
 *   public key X‖Y (64), certification data type u16 (6 = QE report certification data) + size u32:
 *     QE report (SGX report body, 384), QE report signature (64), QE auth data (u16 size + bytes),
 *     certification data type u16 (5 = PCK cert chain PEM) + size u32 + bytes.
 * Bytes after the signed data (some quotes carry zero padding) are kept for a byte-exact round trip.
 */
import { base64ToBytes } from '../../util/text-codec.ts';
import { ByteReader, ByteWriter } from '../bytes.ts';
import { TdxFormatError } from './errors.ts';

export const TEE_TYPE_TDX = 0x81;
export const ATT_KEY_TYPE_ECDSA_P256 = 2;
export const HEADER_SIZE = 48;
export const TD_REPORT10_SIZE = 584;
export const TD_REPORT15_SIZE = 648;
export const SGX_REPORT_BODY_SIZE = 384;
export const CERT_DATA_QE_REPORT = 6;
export const CERT_DATA_PCK_CHAIN = 5;

/**
 * Bounds (issue 14): real quotes are 4–8 KB with a 3-certificate PCK chain (PCK, PCK CA, root). Larger
 * input is rejected before any certificate is parsed: TDX_QUOTE_SIZE, TDX_CERT_COUNT, TDX_CERT.
 */
export const TDX_LIMITS = {
  /** Bytes of a whole quote (header, body, signature data, certification data, padding). */
  maxQuoteBytes: 64 * 1024,
  /** Certificates in an embedded PCK chain (or a collateral issuer chain). */
  maxChainCerts: 8,
  /** Bytes of one DER certificate. */
  maxCertBytes: 16 * 1024,
} as const;

export interface QuoteHeader {
  version: number;
  attestationKeyType: number;
  teeType: number;
  /** Reserved in v4/v5 (QE SVN / PCE SVN in older layouts). Kept verbatim. */
  qeSvn: number;
  pceSvn: number;
  qeVendorId: Uint8Array;
  userData: Uint8Array;
}

export interface TdReport {
  teeTcbSvn: Uint8Array;
  mrSeam: Uint8Array;
  mrSignerSeam: Uint8Array;
  seamAttributes: Uint8Array;
  tdAttributes: Uint8Array;
  xfam: Uint8Array;
  mrTd: Uint8Array;
  mrConfigId: Uint8Array;
  mrOwner: Uint8Array;
  mrOwnerConfig: Uint8Array;
  rtmr: [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  reportData: Uint8Array;
  /** TDX 1.5 only. */
  teeTcbSvn2?: Uint8Array;
  mrServiceTd?: Uint8Array;
}

/** SGX REPORT body (the QE's report). */
export interface SgxReportBody {
  cpuSvn: Uint8Array;
  miscSelect: number;
  reserved1: Uint8Array;
  attributes: Uint8Array;
  mrEnclave: Uint8Array;
  reserved2: Uint8Array;
  mrSigner: Uint8Array;
  reserved3: Uint8Array;
  isvProdId: number;
  isvSvn: number;
  reserved4: Uint8Array;
  reportData: Uint8Array;
}

export interface CertificationData {
  type: number;
  /** Raw data when the type is not 6 (QE report certification data). */
  data: Uint8Array;
}

export interface QeReportCertificationData {
  qeReport: SgxReportBody;
  /** Raw 384 bytes of the QE report (what the PCK signs). */
  qeReportRaw: Uint8Array;
  qeReportSignature: Uint8Array;
  qeAuthData: Uint8Array;
  /** Inner certification data: type 5 = PCK certificate chain (PEM, leaf first). */
  inner: CertificationData;
}

export interface TdxQuote {
  header: QuoteHeader;
  /** v5 only: body type (2 = TDX 1.0, 3 = TDX 1.5); for v4 undefined (always TDX 1.0). */
  bodyType?: number;
  body: TdReport;
  signature: Uint8Array;
  attestationKey: Uint8Array;
  certificationType: number;
  /** Set when certificationType is 6. */
  qeCert?: QeReportCertificationData;
  /** Raw certification data when certificationType is not 6. */
  certificationRaw?: Uint8Array;
  /** Bytes after the signed data (kept for a byte-exact round trip). */
  trailing: Uint8Array;
  /** The signed bytes: header ‖ (v5 body descriptor) ‖ body. Views into the input. */
  signedRegion: Uint8Array;
}

type Reader = ByteReader;

/** A reader whose truncation error is TdxFormatError('TDX_QUOTE_FORMAT') naming the field. */
function reader(b: Uint8Array, what: string): Reader {
  return new ByteReader(
    b,
    what,
    (f) =>
      new TdxFormatError(
        'TDX_QUOTE_FORMAT',
        `${f.what}: truncated at ${f.field} (offset ${f.offset}, need ${f.need} bytes, have ${f.have})`,
      ),
  );
}

/** A writer whose size error is TdxFormatError('TDX_QUOTE_FORMAT'). */
function writer(): ByteWriter {
  return new ByteWriter((m) => new TdxFormatError('TDX_QUOTE_FORMAT', m));
}

export function parseSgxReportBody(b: Uint8Array): SgxReportBody {
  if (b.length !== SGX_REPORT_BODY_SIZE)
    throw new TdxFormatError('TDX_QUOTE_FORMAT', `QE report: expected 384 bytes, got ${b.length}`);
  const r = reader(b, 'QE report');
  return {
    cpuSvn: r.bytes(16, 'cpuSvn'),
    miscSelect: r.u32('miscSelect'),
    reserved1: r.bytes(28, 'reserved1'),
    attributes: r.bytes(16, 'attributes'),
    mrEnclave: r.bytes(32, 'mrEnclave'),
    reserved2: r.bytes(32, 'reserved2'),
    mrSigner: r.bytes(32, 'mrSigner'),
    reserved3: r.bytes(96, 'reserved3'),
    isvProdId: r.u16('isvProdId'),
    isvSvn: r.u16('isvSvn'),
    reserved4: r.bytes(60, 'reserved4'),
    reportData: r.bytes(64, 'reportData'),
  };
}

export function serializeSgxReportBody(q: SgxReportBody): Uint8Array {
  return writer()
    .bytes(q.cpuSvn, 16, 'cpuSvn')
    .u32(q.miscSelect)
    .bytes(q.reserved1, 28, 'reserved1')
    .bytes(q.attributes, 16, 'attributes')
    .bytes(q.mrEnclave, 32, 'mrEnclave')
    .bytes(q.reserved2, 32, 'reserved2')
    .bytes(q.mrSigner, 32, 'mrSigner')
    .bytes(q.reserved3, 96, 'reserved3')
    .u16(q.isvProdId)
    .u16(q.isvSvn)
    .bytes(q.reserved4, 60, 'reserved4')
    .bytes(q.reportData, 64, 'reportData')
    .done();
}

function parseTdReport(r: Reader, v15: boolean): TdReport {
  const body: TdReport = {
    teeTcbSvn: r.bytes(16, 'TEE_TCB_SVN'),
    mrSeam: r.bytes(48, 'MRSEAM'),
    mrSignerSeam: r.bytes(48, 'MRSIGNERSEAM'),
    seamAttributes: r.bytes(8, 'SEAMATTRIBUTES'),
    tdAttributes: r.bytes(8, 'TDATTRIBUTES'),
    xfam: r.bytes(8, 'XFAM'),
    mrTd: r.bytes(48, 'MRTD'),
    mrConfigId: r.bytes(48, 'MRCONFIGID'),
    mrOwner: r.bytes(48, 'MROWNER'),
    mrOwnerConfig: r.bytes(48, 'MROWNERCONFIG'),
    rtmr: [r.bytes(48, 'RTMR0'), r.bytes(48, 'RTMR1'), r.bytes(48, 'RTMR2'), r.bytes(48, 'RTMR3')],
    reportData: r.bytes(64, 'REPORTDATA'),
  };
  if (v15) {
    body.teeTcbSvn2 = r.bytes(16, 'TEE_TCB_SVN2');
    body.mrServiceTd = r.bytes(48, 'MRSERVICETD');
  }
  return body;
}

export function serializeTdReport(b: TdReport, v15: boolean): Uint8Array {
  const w = writer()
    .bytes(b.teeTcbSvn, 16, 'TEE_TCB_SVN')
    .bytes(b.mrSeam, 48, 'MRSEAM')
    .bytes(b.mrSignerSeam, 48, 'MRSIGNERSEAM')
    .bytes(b.seamAttributes, 8, 'SEAMATTRIBUTES')
    .bytes(b.tdAttributes, 8, 'TDATTRIBUTES')
    .bytes(b.xfam, 8, 'XFAM')
    .bytes(b.mrTd, 48, 'MRTD')
    .bytes(b.mrConfigId, 48, 'MRCONFIGID')
    .bytes(b.mrOwner, 48, 'MROWNER')
    .bytes(b.mrOwnerConfig, 48, 'MROWNERCONFIG');
  for (let i = 0; i < 4; i++) w.bytes(b.rtmr[i]!, 48, `RTMR${i}`);
  w.bytes(b.reportData, 64, 'REPORTDATA');
  if (v15) {
    if (!b.teeTcbSvn2 || !b.mrServiceTd)
      throw new TdxFormatError(
        'TDX_QUOTE_FORMAT',
        'serialize: TDX 1.5 body needs TEE_TCB_SVN2 and MRSERVICETD',
      );
    w.bytes(b.teeTcbSvn2, 16, 'TEE_TCB_SVN2').bytes(b.mrServiceTd, 48, 'MRSERVICETD');
  }
  return w.done();
}

function parseCertData(type: number, data: Uint8Array): QeReportCertificationData {
  if (type !== CERT_DATA_QE_REPORT)
    throw new TdxFormatError('TDX_QUOTE_FORMAT', `certification data type ${type}: expected 6 (QE report)`);
  const r = reader(data, 'QE report certification data');
  const qeReportRaw = r.bytes(SGX_REPORT_BODY_SIZE, 'QE report');
  const qeReportSignature = r.bytes(64, 'QE report signature');
  const authSize = r.u16('QE auth data size');
  const qeAuthData = r.view(authSize, 'QE auth data');
  const innerType = r.u16('inner certification data type');
  const innerSize = r.u32('inner certification data size');
  const innerData = r.view(innerSize, 'inner certification data');
  if (r.pos !== data.length)
    throw new TdxFormatError(
      'TDX_QUOTE_FORMAT',
      `QE report certification data: ${data.length - r.pos} unexpected bytes after the inner data`,
    );
  return {
    qeReport: parseSgxReportBody(qeReportRaw),
    qeReportRaw,
    qeReportSignature,
    qeAuthData,
    inner: { type: innerType, data: innerData },
  };
}

function serializeCertData(c: QeReportCertificationData): Uint8Array {
  const report = serializeSgxReportBody(c.qeReport);
  return writer()
    .bytes(report)
    .bytes(c.qeReportSignature, 64, 'QE report signature')
    .u16(c.qeAuthData.length)
    .bytes(c.qeAuthData)
    .u16(c.inner.type)
    .u32(c.inner.data.length)
    .bytes(c.inner.data)
    .done();
}

/** Parse a TDX quote (v4 or v5). Throws TdxFormatError('TDX_QUOTE_FORMAT') with the failing field. */
export function parseTdxQuote(input: Uint8Array): TdxQuote {
  // a Uint8Array subclass (Node's Buffer) is read as a plain view of the same bytes
  const bytes =
    Object.getPrototypeOf(input) === Uint8Array.prototype
      ? input
      : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (bytes.length > TDX_LIMITS.maxQuoteBytes)
    throw new TdxFormatError(
      'TDX_QUOTE_SIZE',
      `TDX quote: ${bytes.length} bytes, over the ${TDX_LIMITS.maxQuoteBytes}-byte limit (real quotes are 4–8 KB)`,
    );
  const r = reader(bytes, 'TDX quote');
  const header: QuoteHeader = {
    version: r.u16('version'),
    attestationKeyType: r.u16('attestation key type'),
    teeType: r.u32('TEE type'),
    qeSvn: r.u16('QE SVN'),
    pceSvn: r.u16('PCE SVN'),
    qeVendorId: r.bytes(16, 'QE vendor id'),
    userData: r.bytes(20, 'user data'),
  };
  if (header.version !== 4 && header.version !== 5)
    throw new TdxFormatError(
      'TDX_QUOTE_FORMAT',
      `TDX quote: version ${header.version} not supported (4 or 5)`,
    );
  if (header.teeType !== TEE_TYPE_TDX)
    throw new TdxFormatError(
      'TDX_QUOTE_FORMAT',
      `TDX quote: TEE type 0x${header.teeType.toString(16)} is not TDX (0x81)`,
    );
  if (header.attestationKeyType !== ATT_KEY_TYPE_ECDSA_P256)
    throw new TdxFormatError(
      'TDX_QUOTE_FORMAT',
      `TDX quote: attestation key type ${header.attestationKeyType} not supported (2 = ECDSA P-256)`,
    );
  let bodyType: number | undefined;
  let v15 = false;
  if (header.version === 5) {
    bodyType = r.u16('body type');
    const size = r.u32('body size');
    if (bodyType === 2) {
      if (size !== TD_REPORT10_SIZE)
        throw new TdxFormatError(
          'TDX_QUOTE_FORMAT',
          `TDX quote: body type 2 with size ${size} (expected 584)`,
        );
    } else if (bodyType === 3) {
      if (size !== TD_REPORT15_SIZE)
        throw new TdxFormatError(
          'TDX_QUOTE_FORMAT',
          `TDX quote: body type 3 with size ${size} (expected 648)`,
        );
      v15 = true;
    } else {
      throw new TdxFormatError('TDX_QUOTE_FORMAT', `TDX quote: body type ${bodyType} not supported (2 or 3)`);
    }
  }
  const body = parseTdReport(r, v15);
  const signedEnd = r.pos;
  const sigLen = r.u32('signature data length');
  r.need(sigLen, 'signature data');
  const sigEnd = r.pos + sigLen;
  const sr = reader(bytes.subarray(r.pos, sigEnd), 'TDX quote signature data');
  const signature = sr.bytes(64, 'quote signature');
  const attestationKey = sr.bytes(64, 'attestation key');
  const certificationType = sr.u16('certification data type');
  const certSize = sr.u32('certification data size');
  const certData = sr.view(certSize, 'certification data');
  if (sr.pos !== sigLen)
    throw new TdxFormatError(
      'TDX_QUOTE_FORMAT',
      `TDX quote: ${sigLen - sr.pos} unexpected bytes in the signature data`,
    );
  const quote: TdxQuote = {
    header,
    body,
    signature,
    attestationKey,
    certificationType,
    trailing: bytes.subarray(sigEnd),
    signedRegion: bytes.subarray(0, signedEnd),
  };
  if (bodyType !== undefined) quote.bodyType = bodyType;
  if (certificationType === CERT_DATA_QE_REPORT) quote.qeCert = parseCertData(certificationType, certData);
  else quote.certificationRaw = certData;
  return quote;
}

/** Serialize a parsed quote back to bytes (byte-exact for every parsed input). */
export function serializeTdxQuote(q: TdxQuote): Uint8Array {
  const h = q.header;
  const w = writer()
    .u16(h.version)
    .u16(h.attestationKeyType)
    .u32(h.teeType)
    .u16(h.qeSvn)
    .u16(h.pceSvn)
    .bytes(h.qeVendorId, 16, 'QE vendor id')
    .bytes(h.userData, 20, 'user data');
  let v15 = false;
  if (h.version === 5) {
    const t = q.bodyType ?? 2;
    v15 = t === 3;
    w.u16(t).u32(v15 ? TD_REPORT15_SIZE : TD_REPORT10_SIZE);
  } else if (h.version !== 4) {
    throw new TdxFormatError('TDX_QUOTE_FORMAT', `serialize: version ${h.version} not supported`);
  }
  w.bytes(serializeTdReport(q.body, v15));
  let cert: Uint8Array;
  if (q.certificationType === CERT_DATA_QE_REPORT) {
    if (!q.qeCert)
      throw new TdxFormatError('TDX_QUOTE_FORMAT', 'serialize: certification type 6 needs qeCert');
    cert = serializeCertData(q.qeCert);
  } else {
    cert = q.certificationRaw ?? new Uint8Array(0);
  }
  const sig = writer()
    .bytes(q.signature, 64, 'quote signature')
    .bytes(q.attestationKey, 64, 'attestation key')
    .u16(q.certificationType)
    .u32(cert.length)
    .bytes(cert)
    .done();
  w.u32(sig.length).bytes(sig).bytes(q.trailing);
  return w.done();
}

/** Bytes signed by the attestation key: header ‖ (v5 descriptor) ‖ TD report body. */
export function signedBytes(q: TdxQuote): Uint8Array {
  const all = serializeTdxQuote(q);
  const bodyLen = q.body.teeTcbSvn2 ? TD_REPORT15_SIZE : TD_REPORT10_SIZE;
  return all.subarray(0, HEADER_SIZE + (q.header.version === 5 ? 6 : 0) + bodyLen);
}

/**
 * TD_ATTRIBUTES bits defined by the TDX module ABI (1.0 to 2.0): everything else is reserved and must be 0.
 * Bit 0 DEBUG; 4–6 profiling (HGS_PLUS_PROF, PERF_PROF, PMT_PROF: the host can observe the TD); 16 ICSSD;
 * 17 SERVTD_EXT; 27 LASS; 28 SEPT_VE_DISABLE; 29 MIGRATABLE; 30 PKS; 31 KL; 62 TPA; 63 PERFMON.
 */
export const TD_ATTRIBUTE_BITS = {
  DEBUG: 0,
  HGS_PLUS_PROF: 4,
  PERF_PROF: 5,
  PMT_PROF: 6,
  ICSSD: 16,
  SERVTD_EXT: 17,
  LASS: 27,
  SEPT_VE_DISABLE: 28,
  MIGRATABLE: 29,
  PKS: 30,
  KL: 31,
  TPA: 62,
  PERFMON: 63,
} as const;

/** TD_ATTRIBUTES as a 64-bit number (little-endian in the report). */
export function tdAttributesValue(body: TdReport): bigint {
  const a = body.tdAttributes;
  return new DataView(a.buffer, a.byteOffset, a.byteLength).getBigUint64(0, true);
}

/** The set bits of TD_ATTRIBUTES: defined ones by name, reserved ones by number. */
export function decodeTdAttributes(body: TdReport): { set: string[]; reservedBits: number[] } {
  const v = tdAttributesValue(body);
  const byBit = new Map<number, string>(Object.entries(TD_ATTRIBUTE_BITS).map(([k, b]) => [b, k]));
  const set: string[] = [];
  const reservedBits: number[] = [];
  for (let i = 0; i < 64; i++) {
    if (((v >> BigInt(i)) & 1n) === 0n) continue;
    const name = byBit.get(i);
    if (name) set.push(name);
    else reservedBits.push(i);
  }
  return { set, reservedBits };
}

/** TD_ATTRIBUTES bit 0 (DEBUG). */
export function isDebugTd(body: TdReport): boolean {
  return (body.tdAttributes[0]! & 1) === 1;
}

/** Bytes as ISO-8859-1 text (one character per byte). */
function latin1Text(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 0x2000) s += String.fromCharCode(...b.subarray(i, i + 0x2000));
  return s;
}

/**
 * Split a PEM bundle into DER certificates, in order. At most `maxCerts` certificates (TDX_CERT_COUNT) of
 * at most TDX_LIMITS.maxCertBytes each (TDX_CERT): counted before anything is decoded.
 */
export function pemToDerList(
  pem: string | Uint8Array,
  maxCerts: number = TDX_LIMITS.maxChainCerts,
): Uint8Array[] {
  const text = typeof pem === 'string' ? pem : latin1Text(pem);
  const out: Uint8Array[] = [];
  const re = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (out.length >= maxCerts)
      throw new TdxFormatError('TDX_CERT_COUNT', `PEM: more than ${maxCerts} certificates in one chain`);
    const b64 = m[1]!.replace(/\s+/g, '');
    if (b64.length > Math.ceil(TDX_LIMITS.maxCertBytes / 3) * 4)
      throw new TdxFormatError('TDX_CERT', `PEM: a certificate over ${TDX_LIMITS.maxCertBytes} bytes`);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64))
      throw new TdxFormatError('TDX_CERT', 'PEM: bad base64 in a certificate');
    out.push(base64ToBytes(b64));
  }
  return out;
}
