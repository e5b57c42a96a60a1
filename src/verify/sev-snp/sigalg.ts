/**
 * The AMD chain's signature algorithm, pinned: ARK → ASK/ASVK → VCEK/VLEK are all signed with RSASSA-PSS,
 * SHA-384, MGF1-SHA-384, salt length 48, trailer field 1 (AMD's KDS specification). A certificate signed any
 * other way (even one OpenSSL would verify, e.g. PKCS#1 v1.5 or PSS with SHA-256) is rejected.
 */
import {
  children,
  content,
  DerError,
  expect,
  intValue,
  oidToString,
  readNode,
  TAG,
  whole,
} from '../../formats/index.ts';
import { type HashName, type NamedCurve, verifySignature } from '../../util/signature.ts';
import { bytesEqual } from '../../util/text-codec.ts';
import type { Certificate } from '../x509.ts';

const RSASSA_PSS = '1.2.840.113549.1.1.10';
const MGF1 = '1.2.840.113549.1.1.8';
const SHA384 = '2.16.840.1.101.3.4.2.2';

/** A hash AlgorithmIdentifier: SHA-384 with absent or NULL parameters. */
function isSha384(n: ReturnType<typeof readNode> | undefined): boolean {
  if (!n || n.tag !== TAG.SEQUENCE) return false;
  const k = children(n);
  if (oidToString(k[0]!) !== SHA384) return false;
  return k.length === 1 || (k.length === 2 && k[1]!.tag === TAG.NULL && content(k[1]!).length === 0);
}

/** undefined when `alg` (an AlgorithmIdentifier node) is RSASSA-PSS/SHA-384/MGF1-SHA-384/salt 48; else why not. */
function pssProblem(alg: ReturnType<typeof readNode>): string | undefined {
  const k = children(expect(alg, TAG.SEQUENCE, 'AlgorithmIdentifier'));
  const oid = oidToString(k[0]!);
  if (oid !== RSASSA_PSS) return `signature algorithm ${oid}, not RSASSA-PSS (${RSASSA_PSS})`;
  const params = expect(k[1], TAG.SEQUENCE, 'RSASSA-PSS-params');
  let hash = false;
  let mgf = false;
  let salt = -1;
  let trailer = 1;
  for (const p of children(params)) {
    const inner = children(p)[0];
    if (p.tag === 0xa0) hash = isSha384(inner);
    else if (p.tag === 0xa1) {
      const m = inner && inner.tag === TAG.SEQUENCE ? children(inner) : [];
      mgf = m.length === 2 && oidToString(m[0]!) === MGF1 && isSha384(m[1]);
    } else if (p.tag === 0xa2) salt = intValue(expect(inner, TAG.INTEGER, 'saltLength'));
    else if (p.tag === 0xa3) trailer = intValue(expect(inner, TAG.INTEGER, 'trailerField'));
    else return `unexpected RSASSA-PSS parameter [${p.tag & 0x1f}]`;
  }
  if (!hash) return 'RSASSA-PSS hash is not SHA-384';
  if (!mgf) return 'RSASSA-PSS mask generation is not MGF1 with SHA-384';
  if (salt !== 48) return `RSASSA-PSS salt length ${salt === -1 ? '20 (default)' : salt}, not 48`;
  if (trailer !== 1) return `RSASSA-PSS trailer field ${trailer}, not 1`;
  return undefined;
}

const cache = new Map<string, string | undefined>();

/**
 * undefined when the certificate (DER) is signed with the pinned algorithm and its tbsCertificate.signature
 * equals the outer signatureAlgorithm; otherwise the reason. `key` caches the answer (a fingerprint).
 */
export function amdSignatureAlgorithmProblem(der: Uint8Array, key: string): string | undefined {
  if (cache.has(key)) return cache.get(key);
  let r: string | undefined;
  try {
    const c = children(expect(readNode(der), TAG.SEQUENCE, 'Certificate'));
    const tbs = children(expect(c[0], TAG.SEQUENCE, 'tbsCertificate'));
    const inner = tbs[tbs[0]?.tag === 0xa0 ? 2 : 1];
    r = pssProblem(expect(c[1], TAG.SEQUENCE, 'signatureAlgorithm'));
    if (!r && (!inner || !bytesEqual(whole(inner), whole(c[1]!))))
      r = 'tbsCertificate.signature differs from signatureAlgorithm';
  } catch (e) {
    if (!(e instanceof DerError)) throw e;
    r = `cannot read the signature algorithm: ${e.message}`;
  }
  if (cache.size > 1024) cache.clear();
  cache.set(key, r);
  return r;
}

/**
 * Whether a certificate (DER) is well-formed where OpenSSL's X509_verify looks before it checks a signature:
 * the outer signatureAlgorithm equals tbsCertificate.signature byte for byte, and the signature BIT STRING has
 * no unused bits. False when the DER does not read. (WebCrypto through @peculiar/x509 checks neither.)
 */
export function certSignatureWellFormed(der: Uint8Array): boolean {
  try {
    const c = children(expect(readNode(der), TAG.SEQUENCE, 'Certificate'));
    const tbs = children(expect(c[0], TAG.SEQUENCE, 'tbsCertificate'));
    const inner = tbs[tbs[0]?.tag === 0xa0 ? 2 : 1];
    if (!inner || !c[1] || !bytesEqual(whole(inner), whole(c[1]))) return false;
    const bits = content(expect(c[2], TAG.BIT_STRING, 'signatureValue'));
    return bits.length > 1 && bits[0] === 0;
  } catch (e) {
    if (e instanceof DerError) return false;
    throw e;
  }
}

const ECDSA_HASH: Readonly<Record<string, HashName>> = {
  '1.2.840.10045.4.3.2': 'SHA-256',
  '1.2.840.10045.4.3.3': 'SHA-384',
  '1.2.840.10045.4.3.4': 'SHA-512',
};

/** The named curve of a certificate's EC public key, or undefined for any other key. */
export function ecCurveOf(c: Certificate): NamedCurve | undefined {
  try {
    const alg = c.parsed.publicKey.algorithm as { name?: string; namedCurve?: string };
    const curve = alg.namedCurve;
    return alg.name === 'ECDSA' && (curve === 'P-256' || curve === 'P-384' || curve === 'P-521')
      ? curve
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `issuer`'s key verifies `cert`'s signature, for a certificate whose signature is well-formed
 * (certSignatureWellFormed). ECDSA signatures go through util/signature as strict DER (OpenSSL in Node,
 * WebCrypto after a strict DER → r‖s conversion in browsers): @peculiar/x509 reads an ECDSA-Sig-Value
 * leniently (a wrong SEQUENCE tag still verifies). Other algorithms (AMD's RSA-PSS) go through
 * Certificate.signedBy. False on any error.
 */
export async function verifyCertSignature(cert: Certificate, issuer: Certificate): Promise<boolean> {
  if (!certSignatureWellFormed(cert.raw)) return false;
  let hash: HashName | undefined;
  let tbs: Uint8Array;
  let sig: Uint8Array;
  try {
    const c = children(readNode(cert.raw));
    hash = ECDSA_HASH[oidToString(children(c[1]!)[0]!)];
    tbs = whole(c[0]!);
    sig = content(c[2]!).subarray(1);
  } catch (e) {
    if (e instanceof DerError) return false;
    throw e;
  }
  if (!hash) return cert.signedBy(issuer);
  const namedCurve = ecCurveOf(issuer);
  if (!namedCurve) return false;
  return verifySignature(
    { name: 'ECDSA', namedCurve, hash, encoding: 'der' },
    { spki: issuer.spki },
    tbs,
    sig,
  );
}
