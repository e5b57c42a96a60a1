/**
 * Intel SGX/TDX PKI: the pinned Intel SGX Root CA, PCK certificate SGX extensions, chain checks, CRLs.
 * Runs in Node and in browsers: certificates are src/verify/x509.ts Certificates, signatures go through
 * util/signature (OpenSSL in Node, WebCrypto in browsers).
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import {
  children,
  content,
  DerError,
  type DerNode,
  expect,
  intHex,
  intValue,
  oidToString,
  readNode,
  TAG,
  timeValue,
  unknownCriticalExtensions,
  whole,
} from '../../formats/index.ts';
import { digestHex } from '../../util/digest.ts';
import { type PublicKeyInput, verifySignature } from '../../util/signature.ts';
import { bytesEqual } from '../../util/text-codec.ts';
import { VerifyError } from '../errors.ts';
import { ecCurveOf, verifyCertSignature } from '../sev-snp/sigalg.ts';
import { Certificate } from '../x509.ts';
import { TdxError } from './errors.ts';

/**
 * PINNED: Intel SGX Root CA (CN=Intel SGX Root CA, O=Intel Corporation, L=Santa Clara, ST=CA, C=US),
 * valid 2018-05-21 to 2049-12-31, SHA-256 of the DER: 44a0196b…74d3. A root that arrives with
 * evidence or collateral is only compared with this one, never trusted on its own.
 */
export const INTEL_SGX_ROOT_CA_PEM = `-----BEGIN CERTIFICATE-----
MIICjzCCAjSgAwIBAgIUImUM1lqdNInzg7SVUr9QGzknBqwwCgYIKoZIzj0EAwIw
aDEaMBgGA1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENv
cnBvcmF0aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJ
BgNVBAYTAlVTMB4XDTE4MDUyMTEwNDUxMFoXDTQ5MTIzMTIzNTk1OVowaDEaMBgG
A1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENvcnBvcmF0
aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJBgNVBAYT
AlVTMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEC6nEwMDIYZOj/iPWsCzaEKi7
1OiOSLRFhWGjbnBVJfVnkY4u3IjkDYYL0MxO4mqsyYjlBalTVYxFP2sJBK5zlKOB
uzCBuDAfBgNVHSMEGDAWgBQiZQzWWp00ifODtJVSv1AbOScGrDBSBgNVHR8ESzBJ
MEegRaBDhkFodHRwczovL2NlcnRpZmljYXRlcy50cnVzdGVkc2VydmljZXMuaW50
ZWwuY29tL0ludGVsU0dYUm9vdENBLmRlcjAdBgNVHQ4EFgQUImUM1lqdNInzg7SV
Ur9QGzknBqwwDgYDVR0PAQH/BAQDAgEGMBIGA1UdEwEB/wQIMAYBAf8CAQEwCgYI
KoZIzj0EAwIDSQAwRgIhAOW/5QkR+S9CiSDcNoowLuPRLsWGf/Yi7GSX94BgwTwg
AiEA4J0lrHoMs+Xo5o/sX6O9QWxHRAvZUGOdRQ7cvqRXaqI=
-----END CERTIFICATE-----
`;

export const INTEL_SGX_ROOT_CA_SHA256 = '44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3';

export const SGX_EXTENSIONS_OID = '1.2.840.113741.1.13.1';

export function sha256Hex(b: Uint8Array): string {
  return digestHex('sha256', b);
}

let pinned: Certificate | undefined;

/** The pinned root (parsed once), with a self-check that the embedded PEM is the expected certificate. */
export function pinnedRoot(): Certificate {
  if (!pinned) {
    const c = Certificate.parse(INTEL_SGX_ROOT_CA_PEM, 'pinned Intel SGX Root CA');
    if (c.fingerprint256 !== INTEL_SGX_ROOT_CA_SHA256)
      throw new TdxError('TDX_CERT', 'pinned root corrupted');
    pinned = c;
  }
  return pinned;
}

export interface PckExtensions {
  ppid: Uint8Array;
  /** 16 SGX TCB component SVNs (OIDs …13.1.2.1 to …2.16). */
  tcbComponents: number[];
  pceSvn: number;
  cpuSvn: Uint8Array;
  pceId: Uint8Array;
  fmspc: Uint8Array;
  /** 0 = Standard, 1 = Scalable, 2 = Scalable with integrity. */
  sgxType: number;
}

/** tbsCertificate parts read with our DER reader (the SGX extensions are not X.509 standard ones). */
function tbsFields(der: Uint8Array): { issuer: Uint8Array; subject: Uint8Array; extensions: DerNode[] } {
  const cert = expect(readNode(der), TAG.SEQUENCE, 'Certificate');
  const tbs = expect(children(cert)[0], TAG.SEQUENCE, 'tbsCertificate');
  const f = children(tbs);
  let i = 0;
  if (f[0]?.tag === 0xa0) i = 1; // version
  const issuer = whole(expect(f[i + 2], TAG.SEQUENCE, 'issuer'));
  const subject = whole(expect(f[i + 4], TAG.SEQUENCE, 'subject'));
  let extensions: DerNode[] = [];
  for (const x of f.slice(i + 6)) {
    if (x.tag === 0xa3) extensions = children(expect(children(x)[0], TAG.SEQUENCE, 'extensions'));
  }
  return { issuer, subject, extensions };
}

/** Run a DER read, reporting the shared reader's DerError as TdxError('TDX_DER'). */
function tdxDer<T>(read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof DerError) throw new TdxError('TDX_DER', e.message);
    throw e;
  }
}

export function subjectDer(der: Uint8Array): Uint8Array {
  return tdxDer(() => tbsFields(der).subject);
}

export function parsePckExtensions(der: Uint8Array): PckExtensions {
  return tdxDer(() => readPckExtensions(der));
}

function readPckExtensions(der: Uint8Array): PckExtensions {
  const { extensions } = tbsFields(der);
  let value: Uint8Array | undefined;
  for (const ext of extensions) {
    const parts = children(ext);
    if (oidToString(parts[0]!) === SGX_EXTENSIONS_OID) {
      value = content(expect(parts[parts.length - 1], TAG.OCTET_STRING, 'SGX extensions value'));
    }
  }
  if (!value) throw new TdxError('TDX_CERT', `PCK certificate has no SGX extensions (${SGX_EXTENSIONS_OID})`);
  const seq = expect(readNode(value), TAG.SEQUENCE, 'SGX extensions');
  const out: Partial<PckExtensions> = {};
  for (const item of children(seq)) {
    const [oidN, v] = children(item);
    const oid = oidToString(oidN!);
    const sub = oid.slice(SGX_EXTENSIONS_OID.length + 1);
    if (sub === '1') out.ppid = content(expect(v, TAG.OCTET_STRING, 'PPID'));
    else if (sub === '2') {
      const comps = new Array<number>(16).fill(-1);
      for (const t of children(expect(v, TAG.SEQUENCE, 'TCB'))) {
        const [tOid, tv] = children(t);
        const ts = oidToString(tOid!).slice(SGX_EXTENSIONS_OID.length + 3);
        const n = Number(ts);
        if (n >= 1 && n <= 16) comps[n - 1] = intValue(tv!);
        else if (n === 17) out.pceSvn = intValue(tv!);
        else if (n === 18) out.cpuSvn = content(expect(tv, TAG.OCTET_STRING, 'CPUSVN'));
      }
      if (comps.some((c) => c < 0))
        throw new TdxError('TDX_CERT', 'PCK SGX extension: TCB components missing');
      out.tcbComponents = comps;
    } else if (sub === '3') out.pceId = content(expect(v, TAG.OCTET_STRING, 'PCE-ID'));
    else if (sub === '4') out.fmspc = content(expect(v, TAG.OCTET_STRING, 'FMSPC'));
    else if (sub === '5') out.sgxType = intValue(v!);
  }
  for (const k of ['ppid', 'tcbComponents', 'pceSvn', 'cpuSvn', 'pceId', 'fmspc', 'sgxType'] as const) {
    if (out[k] === undefined) throw new TdxError('TDX_CERT', `PCK SGX extension: ${k} missing`);
  }
  if (out.fmspc!.length !== 6 || out.pceId!.length !== 2 || out.cpuSvn!.length !== 16)
    throw new TdxError('TDX_CERT', 'PCK SGX extension: FMSPC/PCE-ID/CPUSVN has the wrong length');
  return out as PckExtensions;
}

export interface Crl {
  issuer: Uint8Array;
  thisUpdate: Date;
  nextUpdate?: Date;
  revokedSerials: Set<string>;
  tbs: Uint8Array;
  signatureDer: Uint8Array;
  sigAlgOid: string;
}

/** Parse a DER X.509 CRL (RFC 5280 CertificateList). */
export function parseCrl(der: Uint8Array): Crl {
  try {
    const top = readNode(der);
    if (top.end !== der.length) throw new TdxError('TDX_CRL', 'CRL: trailing bytes');
    const [tbsN, algN, sigN] = children(expect(top, TAG.SEQUENCE, 'CertificateList'));
    const tbs = expect(tbsN, TAG.SEQUENCE, 'tbsCertList');
    const f = children(tbs);
    let i = 0;
    if (f[0]?.tag === TAG.INTEGER) i = 1;
    const issuer = whole(expect(f[i + 1], TAG.SEQUENCE, 'CRL issuer'));
    const thisUpdate = timeValue(f[i + 2]!);
    let j = i + 3;
    let nextUpdate: Date | undefined;
    if (f[j] && (f[j]!.tag === TAG.UTC_TIME || f[j]!.tag === TAG.GENERALIZED_TIME))
      nextUpdate = timeValue(f[j++]!);
    const revokedSerials = new Set<string>();
    if (f[j]?.tag === TAG.SEQUENCE) {
      for (const e of children(f[j]!)) revokedSerials.add(intHex(children(e)[0]!));
    }
    const sigAlgOid = oidToString(children(expect(algN, TAG.SEQUENCE, 'signatureAlgorithm'))[0]!);
    const bits = content(expect(sigN, TAG.BIT_STRING, 'CRL signature'));
    if (bits[0] !== 0) throw new TdxError('TDX_CRL', 'CRL: signature BIT STRING has unused bits');
    const crl: Crl = {
      issuer,
      thisUpdate,
      revokedSerials,
      tbs: whole(tbs),
      signatureDer: bits.subarray(1),
      sigAlgOid,
    };
    if (nextUpdate) crl.nextUpdate = nextUpdate;
    return crl;
  } catch (e) {
    if (e instanceof TdxError && e.code === 'TDX_CRL') throw e;
    throw new TdxError('TDX_CRL', `CRL: cannot parse (${e instanceof Error ? e.message : String(e)})`);
  }
}

const ECDSA_SHA256 = '1.2.840.10045.4.3.2';

/** The CRL's ECDSA-SHA-256 signature (DER) verifies with the issuer certificate's EC key. */
export async function verifyCrlSignature(crl: Crl, issuer: Certificate): Promise<boolean> {
  if (crl.sigAlgOid !== ECDSA_SHA256) return false;
  const namedCurve = ecCurveOf(issuer);
  if (!namedCurve) return false;
  return verifySignature(
    { name: 'ECDSA', namedCurve, hash: 'SHA-256', encoding: 'der' },
    { spki: issuer.spki },
    crl.tbs,
    crl.signatureDer,
  );
}

export function serialHex(c: Certificate): string {
  return c.serialNumber.toLowerCase().replace(/^(00)+(?=.)/, '');
}

/** DER SubjectPublicKeyInfo of an uncompressed P-256 point: id-ecPublicKey, prime256v1, BIT STRING 04‖X‖Y. */
const P256_SPKI_PREFIX = Uint8Array.of(
  0x30,
  0x59,
  0x30,
  0x13,
  0x06,
  0x07,
  0x2a,
  0x86,
  0x48,
  0xce,
  0x3d,
  0x02,
  0x01,
  0x06,
  0x08,
  0x2a,
  0x86,
  0x48,
  0xce,
  0x3d,
  0x03,
  0x01,
  0x07,
  0x03,
  0x42,
  0x00,
  0x04,
);

/**
 * P-256 public key from the 64-byte X‖Y attestation key (as DER SubjectPublicKeyInfo). A point that is not
 * on the curve is rejected by the signature check (verifySignature answers false).
 */
export function p256Key(xy: Uint8Array): PublicKeyInput {
  if (xy.length !== 64) throw new TdxError('TDX_QUOTE_FORMAT', 'attestation key must be 64 bytes');
  const spki = new Uint8Array(P256_SPKI_PREFIX.length + 64);
  spki.set(P256_SPKI_PREFIX);
  spki.set(xy, P256_SPKI_PREFIX.length);
  return { spki };
}

/** The public key of a certificate, for verifyP256Raw. */
export const keyOf = (c: Certificate): PublicKeyInput => ({ spki: c.spki });

/** Verify a raw r‖s (64 bytes, big-endian) ECDSA P-256/SHA-256 signature. Never throws. */
export async function verifyP256Raw(
  data: Uint8Array,
  sig: Uint8Array,
  key: PublicKeyInput,
): Promise<boolean> {
  if (sig.length !== 64) return false;
  return verifySignature(
    { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256', encoding: 'p1363' },
    key,
    data,
    sig,
  );
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return bytesEqual(a, b);
}

const signedCache = new Map<string, boolean>();

/**
 * `issuer`'s key verifies `cert`'s signature and the certificate's signature is well-formed as OpenSSL's X509_verify
 * requires (one signature algorithm, no unused bits: certSignatureWellFormed). Cached by both fingerprints (a pure function
 * of the two certificates' bytes), bounded.
 */
export async function signedBy(cert: Certificate, issuer: Certificate): Promise<boolean> {
  const k = `${cert.fingerprint256}:${issuer.fingerprint256}`;
  let v = signedCache.get(k);
  if (v === undefined) {
    v = await verifyCertSignature(cert, issuer);
    if (signedCache.size >= 4096) signedCache.clear();
    signedCache.set(k, v);
  }
  return v;
}

/** basicConstraints cA is TRUE. */
export function isCa(c: Certificate): boolean {
  let v = caCache.get(c);
  if (v === undefined) {
    try {
      v = c.parsed.getExtension(x509.BasicConstraintsExtension)?.ca === true;
    } catch {
      v = false; // an extension that does not parse
    }
    caCache.set(c, v);
  }
  return v;
}

// Facts about parsed certificates (immutable, shared through toX509's cache), so that a chain seen before
// costs map lookups: extension parsing in @peculiar/x509 is slow (about a millisecond per certificate).
const caCache = new WeakMap<Certificate, boolean>();
const criticalCache = new WeakMap<Certificate, string[]>();
const issuedCache = new Map<string, boolean>();

/** unknownCriticalExtensions of a certificate (the SGX extensions are known), cached per certificate. */
function unknownCritical(c: Certificate): string[] {
  let u = criticalCache.get(c);
  if (u === undefined) {
    u = unknownCriticalExtensions(c.raw, [SGX_EXTENSIONS_OID]);
    criticalCache.set(c, u);
  }
  return u;
}

/**
 * Whether `issuer` may have issued `cert`, as OpenSSL's X509_check_issued decides: the issuer's subject
 * name is the certificate's issuer name; when the certificate has an authority key identifier, its key id
 * equals the issuer's subject key identifier (when the issuer has one) and its serial (when given) is the
 * issuer's; and the issuer's keyUsage, when present, allows keyCertSign. Names compare as DER (OpenSSL
 * compares canonical forms: the same for the Intel PKI, which encodes its names one way).
 */
export function checkIssued(cert: Certificate, issuer: Certificate): boolean {
  const k = `${cert.fingerprint256}:${issuer.fingerprint256}`;
  let v = issuedCache.get(k);
  if (v === undefined) {
    try {
      v = issuedBy(cert, issuer);
    } catch {
      v = false; // a name or an extension that does not parse (OpenSSL: an invalid certificate)
    }
    if (issuedCache.size >= 4096) issuedCache.clear();
    issuedCache.set(k, v);
  }
  return v;
}

function issuedBy(cert: Certificate, issuer: Certificate): boolean {
  if (!cert.namedBy(issuer)) return false;
  const akid = cert.parsed.getExtension(x509.AuthorityKeyIdentifierExtension);
  if (akid) {
    const skid = issuer.parsed.getExtension(x509.SubjectKeyIdentifierExtension);
    if (akid.keyId !== undefined && skid && akid.keyId.toLowerCase() !== skid.keyId.toLowerCase())
      return false;
    if (akid.certId && akid.certId.serialNumber.toLowerCase() !== issuer.parsed.serialNumber.toLowerCase())
      return false;
  }
  const ku = issuer.parsed.getExtension(x509.KeyUsagesExtension);
  if (ku && (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0) return false;
  return true;
}

export interface ChainResult {
  ok: boolean;
  detail: string;
}

/**
 * Check `chain` (leaf first; a root at the end is optional and is only MATCHED to the pinned root):
 * each cert is signed by the next, issuer/subject names chain, intermediates are CAs, all valid at
 * `now`, and the last one is issued by the pinned root.
 */
export async function checkChainToPinnedRoot(
  chain: Certificate[],
  now: Date,
  root: Certificate,
): Promise<ChainResult> {
  if (chain.length === 0) return { ok: false, detail: 'empty certificate chain' };
  const certs = [...chain];
  const last = certs[certs.length - 1]!;
  if (last.subject === last.issuer && (await signedBy(last, last))) {
    // A self-signed root came along: it must be byte-identical to the pinned root.
    if (!sameBytes(last.raw, root.raw))
      return {
        ok: false,
        detail: `the chain ends in a self-signed root that is NOT the pinned Intel SGX Root CA (SHA-256 ${sha256Hex(last.raw)})`,
      };
    certs.pop();
  }
  if (certs.length === 0) return { ok: false, detail: 'chain has no certificate below the root' };
  const full = [...certs, root];
  // A critical extension this verifier does not process rejects the chain (as `openssl verify` does).
  // The SGX extensions (1.2.840.113741.1.13.1) are read, but Intel marks them non-critical.
  for (const c of full) {
    const unknown = unknownCritical(c);
    if (unknown.length > 0)
      return {
        ok: false,
        detail: `'${c.subject.replace(/\n/g, ', ')}' has unknown critical extension(s) ${unknown.join(', ')}`,
      };
  }
  for (let i = 0; i < full.length; i++) {
    const c = full[i]!;
    const from = c.notBefore;
    const to = c.notAfter;
    if (now < from || now > to)
      return {
        ok: false,
        detail: `'${c.subject.replace(/\n/g, ', ')}' not valid at ${now.toISOString()} (${from.toISOString()} to ${to.toISOString()})`,
      };
    if (i + 1 < full.length) {
      const issuer = full[i + 1]!;
      if (!isCa(issuer))
        return { ok: false, detail: `issuer '${issuer.subject.replace(/\n/g, ', ')}' is not a CA` };
      if (!checkIssued(c, issuer) || !(await signedBy(c, issuer)))
        return {
          ok: false,
          detail: `'${c.subject.replace(/\n/g, ', ')}' is not signed by '${issuer.subject.replace(/\n/g, ', ')}'`,
        };
    }
  }
  return {
    ok: true,
    detail: full.map((c) => cnOf(c.subject) ?? c.subject).join(' → '),
  };
}

/** "CN=…" of a distinguished name as text (", "- or newline-separated), or undefined without one. */
function cnOf(name: string): string | undefined {
  const m = /(?:^|\n|, )(CN=[^\n,]+)/.exec(name);
  return m?.[1]?.trim();
}

const parsedCache = new Map<string, Certificate>();

/**
 * DER certificates → Certificates. Parsed certificates are cached by the SHA-256 of their bytes (bounded):
 * the PCK chain and the TCB signing chain repeat across quotes, and parsing is the slow part.
 */
export function toX509(ders: Uint8Array[]): Certificate[] {
  return ders.map((d, i) => {
    const key = digestHex('sha256', d);
    const hit = parsedCache.get(key);
    if (hit) return hit;
    try {
      const c = Certificate.parse(d, `certificate ${i}`);
      void c.parsed.publicKey.algorithm; // throws on a malformed SubjectPublicKeyInfo
      if (parsedCache.size >= 256) parsedCache.delete(parsedCache.keys().next().value!);
      parsedCache.set(key, c);
      return c;
    } catch (e) {
      const m = e instanceof Error ? e.message : String(e);
      throw new TdxError('TDX_CERT', e instanceof VerifyError ? m : `certificate ${i}: cannot parse (${m})`);
    }
  });
}
