/**
 * Intel SGX/TDX PKI: the pinned Intel SGX Root CA, PCK certificate SGX extensions, chain checks, CRLs.
 */
import {
  createHash,
  createPublicKey,
  verify as cryptoVerify,
  type KeyObject,
  X509Certificate,
} from 'node:crypto';
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
  return createHash('sha256').update(b).digest('hex');
}

/** The pinned root, with a self-check that the embedded PEM is the expected certificate. */
export function pinnedRoot(): X509Certificate {
  const c = new X509Certificate(INTEL_SGX_ROOT_CA_PEM);
  if (sha256Hex(c.raw) !== INTEL_SGX_ROOT_CA_SHA256) throw new TdxError('TDX_CERT', 'pinned root corrupted');
  return c;
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

/** tbsCertificate parts read with our DER reader (Node's X509Certificate has no extension access). */
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

export function verifyCrlSignature(crl: Crl, issuerKey: KeyObject): boolean {
  if (crl.sigAlgOid !== ECDSA_SHA256) return false;
  return cryptoVerify('sha256', crl.tbs, issuerKey, crl.signatureDer);
}

export function serialHex(c: X509Certificate): string {
  return c.serialNumber.toLowerCase().replace(/^(00)+(?=.)/, '');
}

/** P-256 public key from the 64-byte X‖Y attestation key. */
export function p256Key(xy: Uint8Array): KeyObject {
  if (xy.length !== 64) throw new TdxError('TDX_QUOTE_FORMAT', 'attestation key must be 64 bytes');
  return createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: Buffer.from(xy.subarray(0, 32)).toString('base64url'),
      y: Buffer.from(xy.subarray(32)).toString('base64url'),
    },
    format: 'jwk',
  });
}

/** Verify a raw r‖s (64 bytes, big-endian) ECDSA P-256/SHA-256 signature. */
export function verifyP256Raw(data: Uint8Array, sig: Uint8Array, key: KeyObject): boolean {
  if (sig.length !== 64) return false;
  try {
    return cryptoVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig);
  } catch {
    return false;
  }
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
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
export function checkChainToPinnedRoot(
  chain: X509Certificate[],
  now: Date,
  root: X509Certificate,
): ChainResult {
  if (chain.length === 0) return { ok: false, detail: 'empty certificate chain' };
  const certs = [...chain];
  const last = certs[certs.length - 1]!;
  if (last.subject === last.issuer && last.verify(last.publicKey)) {
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
    const unknown = unknownCriticalExtensions(new Uint8Array(c.raw), [SGX_EXTENSIONS_OID]);
    if (unknown.length > 0)
      return {
        ok: false,
        detail: `'${c.subject.replace(/\n/g, ', ')}' has unknown critical extension(s) ${unknown.join(', ')}`,
      };
  }
  for (let i = 0; i < full.length; i++) {
    const c = full[i]!;
    const from = new Date(c.validFrom);
    const to = new Date(c.validTo);
    if (now < from || now > to)
      return {
        ok: false,
        detail: `'${c.subject.replace(/\n/g, ', ')}' not valid at ${now.toISOString()} (${from.toISOString()} to ${to.toISOString()})`,
      };
    if (i + 1 < full.length) {
      const issuer = full[i + 1]!;
      if (!issuer.ca)
        return { ok: false, detail: `issuer '${issuer.subject.replace(/\n/g, ', ')}' is not a CA` };
      if (!c.checkIssued(issuer) || !c.verify(issuer.publicKey))
        return {
          ok: false,
          detail: `'${c.subject.replace(/\n/g, ', ')}' is not signed by '${issuer.subject.replace(/\n/g, ', ')}'`,
        };
    }
  }
  return {
    ok: true,
    detail: full.map((c) => c.subject.split('\n').find((l) => l.startsWith('CN=')) ?? c.subject).join(' → '),
  };
}

export function toX509(ders: Uint8Array[]): X509Certificate[] {
  return ders.map((d, i) => {
    try {
      const c = new X509Certificate(d);
      void c.publicKey; // throws on a malformed SubjectPublicKeyInfo
      return c;
    } catch (e) {
      throw new TdxError(
        'TDX_CERT',
        `certificate ${i}: cannot parse (${e instanceof Error ? e.message : String(e)})`,
      );
    }
  });
}
