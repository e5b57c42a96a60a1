/**
 * GPU attestation certificate chains: leaf (GSP FMC LF) → BROM → Provisioner ICA → GHxxx/GBxxx
 * Identity → NVIDIA Device Identity CA (pinned). The chain that comes with the evidence may or may
 * not repeat the root; if it does, it must equal the pinned root byte for byte.
 */
import {
  DerError,
  type DerTree,
  decodeBase64Loose,
  decodeOid,
  children as derChildren,
  content as derContent,
  whole as derWhole,
  oidToString,
  readNode,
  readTree,
  unknownCriticalExtensions,
  walkTree,
} from '../../formats/index.ts';
import { digestHex } from '../../util/digest.ts';
import {
  CURVE_BYTES,
  type HashName,
  type NamedCurve,
  type SignatureScheme,
  verifySignature,
} from '../../util/signature.ts';
import { bytesEqual, bytesToHex, concatBytes } from '../../util/text-codec.ts';
import { Certificate } from '../x509.ts';
import { NVIDIA_DEVICE_IDENTITY_ROOT_PEM } from './roots.ts';

export const OID_TCG_DICE_TCBINFO = '2.23.133.5.4.1';
export const OID_TCG_DICE_MULTI_TCBINFO = '2.23.133.5.4.5';
const OID_SHA384 = '2.16.840.1.101.3.4.2.2';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_KEY_USAGE = '2.5.29.15';
const OID_EXT_KEY_USAGE = '2.5.29.37';
const OID_SUBJECT_KEY_ID = '2.5.29.14';
const OID_AUTHORITY_KEY_ID = '2.5.29.35';

export function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

export function parseCertChain(pemText: string): Certificate[] {
  return splitPem(pemText).map((p, i) => parseCertificateCached(p, () => p, `certificate #${i}`));
}

let pinnedRoot: Certificate | undefined;
export function pinnedDeviceRoot(): Certificate {
  pinnedRoot ??= Certificate.parse(NVIDIA_DEVICE_IDENTITY_ROOT_PEM, 'NVIDIA Device Identity CA');
  return pinnedRoot;
}

export function sha256Hex(b: Uint8Array): string {
  return digestHex('sha256', b);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A certificate time as OpenSSL prints it (and node:crypto's validFrom/validTo): 'Nov  5 00:00:00 2021 GMT'. */
export function opensslTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()} GMT`;
}

const extensionMaps = new WeakMap<Certificate, Map<string, Uint8Array>>();

/** One extension's value (the OCTET STRING's content), or undefined when absent or the DER is bad. */
function extensionValue(c: Certificate, oid: string): Uint8Array | undefined {
  let m = extensionMaps.get(c);
  if (!m) {
    m = new Map();
    try {
      // lazily through the DER (certExtensions reads the whole tree): tbsCertificate [3] { Extension... }
      const tbs = derChildren(readNode(c.raw))[0]!;
      for (const f of derChildren(tbs))
        if (f.tag === 0xa3)
          for (const ext of derChildren(derChildren(f)[0]!)) {
            const kids = derChildren(ext);
            const oid = kids[0]?.tag === 0x06 ? oidToString(kids[0]) : '';
            const value = kids[kids.length - 1];
            if (oid && value?.tag === 0x04 && !m.has(oid)) m.set(oid, derContent(value));
          }
    } catch {
      // malformed extensions: none usable (unknownCriticalExtensions reports them)
    }
    extensionMaps.set(c, m);
  }
  return m.get(oid);
}

const parsedCerts = new Map<string, Certificate>();
const MAX_PARSED = 256;

/**
 * Certificate.parse with a bounded cache keyed by the exact input text (PEM or base64 DER): device chains,
 * their CAs and NRAS signing chains repeat from one verification to the next, and parsing is the larger
 * part of a chain check. Certificates are immutable, so sharing them is safe.
 */
export function parseCertificateCached(
  text: string,
  der: () => Uint8Array | string,
  what: string,
): Certificate {
  let c = parsedCerts.get(text);
  if (c) return c;
  c = Certificate.parse(der(), what);
  if (parsedCerts.size >= MAX_PARSED) parsedCerts.delete(parsedCerts.keys().next().value!);
  parsedCerts.set(text, c);
  return c;
}

const SIGNATURE_ALGORITHMS: Record<string, { hash: HashName; key: 'ECDSA' | 'RSASSA-PKCS1-v1_5' }> = {
  '1.2.840.10045.4.3.2': { hash: 'SHA-256', key: 'ECDSA' },
  '1.2.840.10045.4.3.3': { hash: 'SHA-384', key: 'ECDSA' },
  '1.2.840.10045.4.3.4': { hash: 'SHA-512', key: 'ECDSA' },
  '1.2.840.113549.1.1.11': { hash: 'SHA-256', key: 'RSASSA-PKCS1-v1_5' },
  '1.2.840.113549.1.1.12': { hash: 'SHA-384', key: 'RSASSA-PKCS1-v1_5' },
  '1.2.840.113549.1.1.13': { hash: 'SHA-512', key: 'RSASSA-PKCS1-v1_5' },
};

/**
 * Whether `issuer`'s key verifies `c`'s signature (signature only; false on any error), as OpenSSL's
 * X509_verify: the signature algorithm inside tbsCertificate must equal the outer one. ECDSA and
 * PKCS#1 v1.5 signatures go through util/signature (OpenSSL in Node, WebCrypto in browsers, imported keys
 * cached); any other algorithm through Certificate.signedBy. A verified pair is remembered (verifiedBy).
 */
export async function certSignatureValid(c: Certificate, issuer: Certificate): Promise<boolean> {
  const known = verifiedBy.get(c);
  if (known?.has(issuer)) return true;
  const ok = await checkCertSignature(c, issuer);
  if (ok) {
    if (known) known.add(issuer);
    else verifiedBy.set(c, new WeakSet([issuer]));
  }
  return ok;
}

/**
 * The issuers whose key verified a certificate's signature. Certificates are immutable and a repeated
 * chain is the same objects (parseCertificateCached), so a verified (certificate, issuer) pair is not
 * verified again, as the SEV-SNP verifier caches its AMD chain; entries go with the certificates.
 */
const verifiedBy = new WeakMap<Certificate, WeakSet<Certificate>>();

/** What the signature check and the issuer match read from a certificate's DER, read once per certificate. */
interface SignedParts {
  tbs: Uint8Array;
  /** The signature algorithm OID, '' when the inner and outer AlgorithmIdentifiers differ. */
  alg: string;
  sig: Uint8Array;
  /** The issuer and subject Names as DER. */
  issuer: Uint8Array;
  subject: Uint8Array;
}
const signedParts = new WeakMap<Certificate, SignedParts | null>();

function partsOf(c: Certificate): SignedParts | null {
  let p = signedParts.get(c);
  if (p !== undefined) return p;
  try {
    const [tbs, outerAlg, sig] = derChildren(readNode(c.raw));
    const f = derChildren(tbs!);
    const i = f[0]?.tag === 0xa0 ? 1 : 0; // [0] version
    const [innerAlg, issuer, , subject] = [f[i + 1], f[i + 2], f[i + 3], f[i + 4]];
    p =
      outerAlg && innerAlg && issuer && subject && sig?.tag === 0x03
        ? {
            tbs: derWhole(tbs!),
            alg: bytesEqual(derWhole(outerAlg), derWhole(innerAlg))
              ? oidToString(derChildren(outerAlg)[0]!)
              : '',
            sig: derContent(sig).subarray(1),
            issuer: derWhole(issuer),
            subject: derWhole(subject),
          }
        : null;
  } catch {
    p = null;
  }
  signedParts.set(c, p);
  return p;
}

async function checkCertSignature(c: Certificate, issuer: Certificate): Promise<boolean> {
  const parts = partsOf(c);
  if (!parts || parts.alg === '') return false;
  const known = SIGNATURE_ALGORITHMS[parts.alg];
  if (!known) return c.signedBy(issuer);
  const scheme = schemeForKey(issuer.spki, known.hash);
  if (!scheme || scheme.name !== known.key) return false;
  return verifySignature(scheme, { spki: issuer.spki }, parts.tbs, parts.sig);
}

/** The keyUsage bits (byte 0: digitalSignature 0x80 … keyCertSign 0x04), or undefined without the extension. */
function keyUsageAllows(c: Certificate, mask: number): boolean {
  const v = extensionValue(c, OID_KEY_USAGE);
  if (!v) return true; // no keyUsage extension: every use allowed
  try {
    const bits = readTree(v);
    return bits.tag === 0x03 && bits.value.length >= 2 && (bits.value[1]! & mask) !== 0;
  } catch {
    return false;
  }
}
const KU_KEY_CERT_SIGN = 0x04;

/**
 * basicConstraints CA:TRUE and, when keyUsage is present, keyCertSign: what node:crypto's `ca` reports
 * (OpenSSL's X509_check_ca() == 1).
 */
export function isCa(c: Certificate): boolean {
  const v = extensionValue(c, OID_BASIC_CONSTRAINTS);
  if (!v || !keyUsageAllows(c, KU_KEY_CERT_SIGN)) return false;
  try {
    const first = readTree(v).children?.[0];
    return first?.tag === 0x01 && first.value[0] !== 0;
  } catch {
    return false;
  }
}

/** The extendedKeyUsage OIDs, or undefined without the extension (node:crypto's `keyUsage`). */
export function extendedKeyUsage(c: Certificate): string[] | undefined {
  const v = extensionValue(c, OID_EXT_KEY_USAGE);
  if (!v) return undefined;
  try {
    return (readTree(v).children ?? []).filter((n) => n.tag === 0x06).map((n) => decodeOid(n.value));
  } catch {
    return [];
  }
}

/**
 * `issuer` may have issued `c`, as OpenSSL's X509_check_issued (node:crypto's `checkIssued`) decides:
 * the names match (compared as DER), `c`'s authorityKeyIdentifier (key id, serial) agrees with the issuer,
 * and the issuer's keyUsage, when present, allows certificate signing. The signature is not checked.
 */
export function checkIssued(c: Certificate, issuer: Certificate): boolean {
  const a = partsOf(c);
  const b = partsOf(issuer);
  if (!a || !b || !bytesEqual(a.issuer, b.subject)) return false; // Certificate.namedBy, without re-encoding
  const akid = extensionValue(c, OID_AUTHORITY_KEY_ID);
  if (akid) {
    try {
      for (const f of readTree(akid).children ?? []) {
        if (f.tag === 0x80) {
          const skid = extensionValue(issuer, OID_SUBJECT_KEY_ID);
          if (skid && !bytesEqual(readTree(skid).value, f.value)) return false;
        } else if (f.tag === 0x82) {
          if (BigInt(`0x${bytesToHex(f.value) || '0'}`) !== BigInt(`0x${issuer.serialNumber || '0'}`))
            return false;
        }
      }
    } catch {
      return false;
    }
  }
  return keyUsageAllows(issuer, KU_KEY_CERT_SIGN);
}

/** `c` names `issuer` as its issuer (checkIssued) AND is signed with its key. Never throws. */
export async function issuedBy(c: Certificate, issuer: Certificate): Promise<boolean> {
  return checkIssued(c, issuer) && (await certSignatureValid(c, issuer));
}

const CURVES: Record<string, NamedCurve> = {
  '1.2.840.10045.3.1.7': 'P-256',
  '1.3.132.0.34': 'P-384',
  '1.3.132.0.35': 'P-521',
};

/**
 * The signature scheme of a DER SubjectPublicKeyInfo's key with `hash`, the way node:crypto's verify picks
 * it from the key: ECDSA (DER signature) for an EC key on a NIST curve, RSASSA-PKCS1-v1_5 for an RSA key;
 * undefined for any other key.
 */
export function schemeForKey(spki: Uint8Array, hash: HashName): SignatureScheme | undefined {
  try {
    const alg = readTree(spki).children?.[0]?.children ?? [];
    const oid = alg[0]?.tag === 0x06 ? decodeOid(alg[0].value) : '';
    if (oid === '1.2.840.113549.1.1.1') return { name: 'RSASSA-PKCS1-v1_5', hash };
    if (oid === '1.2.840.10045.2.1' && alg[1]?.tag === 0x06) {
      const namedCurve = CURVES[decodeOid(alg[1].value)];
      return namedCurve ? { name: 'ECDSA', namedCurve, hash, encoding: 'der' } : undefined;
    }
  } catch {
    // not a SubjectPublicKeyInfo
  }
  return undefined;
}

/** Unsigned big-endian integer bytes without leading zeros. */
function unsignedBytes(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

/**
 * Whether a public JWK (EC P-256/384/521 x/y, or RSA n/e) holds the same key as a DER
 * SubjectPublicKeyInfo: same curve and point (uncompressed), or same modulus and exponent. A plain
 * comparison of the key material (what node:crypto's KeyObject comparison amounted to): no key import,
 * the same in Node and browsers. False for anything else.
 */
export function jwkMatchesSpki(jwk: Record<string, unknown>, spki: Uint8Array): boolean {
  try {
    const [algId, bits] = readTree(spki).children ?? [];
    const alg = algId?.children ?? [];
    if (bits?.tag !== 0x03 || alg[0]?.tag !== 0x06) return false;
    const key = bits.value.subarray(1);
    const oid = decodeOid(alg[0].value);
    if (jwk.kty === 'EC' && oid === '1.2.840.10045.2.1' && alg[1]?.tag === 0x06) {
      const curve = CURVES[decodeOid(alg[1].value)];
      if (!curve || jwk.crv !== curve || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') return false;
      const size = CURVE_BYTES[curve];
      const point = concatBytes(new Uint8Array([4]), decodeBase64Loose(jwk.x), decodeBase64Loose(jwk.y));
      return point.length === 1 + 2 * size && bytesEqual(point, key);
    }
    if (jwk.kty === 'RSA' && oid === '1.2.840.113549.1.1.1') {
      if (typeof jwk.n !== 'string' || typeof jwk.e !== 'string') return false;
      const [n, e] = readTree(key).children ?? [];
      return (
        n?.tag === 0x02 &&
        e?.tag === 0x02 &&
        bytesEqual(unsignedBytes(n.value), unsignedBytes(decodeBase64Loose(jwk.n))) &&
        bytesEqual(unsignedBytes(e.value), unsignedBytes(decodeBase64Loose(jwk.e)))
      );
    }
  } catch {
    // not a SubjectPublicKeyInfo
  }
  return false;
}

/** 'CN=…' of a subject for messages: the CN attribute, or the whole name without one. */
export function cnOrSubject(c: Certificate): string {
  const cn = c.parsed.subjectName.getField('CN')[0];
  return cn === undefined ? c.subject : `CN=${cn}`;
}

export interface ChainResult {
  /** The chain as verified, leaf first, ending with the pinned root. */
  chain: Certificate[];
  rootPinned: { ok: boolean; detail: string };
  signatures: { ok: boolean; detail: string };
  validity: { ok: boolean; detail: string };
  caFlags: { ok: boolean; detail: string };
  /** No certificate has a critical extension this verifier does not process (as `openssl verify`). */
  criticalExtensions: { ok: boolean; detail: string };
}

/** Verify a leaf-first chain up to the pinned NVIDIA Device Identity CA at time `now`. */
export async function verifyChainToPinnedRoot(
  certs: Certificate[],
  now: Date,
  root = pinnedDeviceRoot(),
): Promise<ChainResult> {
  const chain = [...certs];
  let rootPinned: ChainResult['rootPinned'];
  const last = chain[chain.length - 1];
  if (!last) {
    rootPinned = { ok: false, detail: 'empty certificate chain' };
  } else if (bytesEqual(last.raw, root.raw)) {
    rootPinned = {
      ok: true,
      detail: `chain ends at the ${root === pinnedDeviceRoot() ? 'pinned' : 'explicitly trusted'} ${root.subject} (sha256 ${sha256Hex(root.raw)})`,
    };
  } else if (last.issuer === last.subject) {
    rootPinned = {
      ok: false,
      detail: `chain ends at a self-signed '${last.subject}' (sha256 ${sha256Hex(last.raw)}) that is not the pinned NVIDIA Device Identity CA`,
    };
  } else if (await issuedBy(last, root)) {
    chain.push(root);
    rootPinned = {
      ok: true,
      detail: 'chain (without a root) is completed by the pinned NVIDIA Device Identity CA',
    };
  } else {
    rootPinned = {
      ok: false,
      detail: `last certificate '${last.subject}' is not issued by the pinned root`,
    };
  }
  const bad: string[] = [];
  for (let i = 0; i + 1 < chain.length; i++) {
    const c = chain[i]!;
    const issuer = chain[i + 1]!;
    const name = cnOrSubject(c);
    if (!checkIssued(c, issuer)) bad.push(`#${i} ${name}: issuer name does not match the next certificate`);
    else if (!(await certSignatureValid(c, issuer)))
      bad.push(`#${i} ${name}: signature does not verify with the next certificate's key`);
  }
  if (chain.length > 0 && rootPinned.ok && !(await certSignatureValid(root, root)))
    bad.push('pinned root self-signature invalid');
  const signatures =
    chain.length < 2
      ? { ok: false, detail: 'chain has fewer than 2 certificates' }
      : bad.length === 0
        ? { ok: true, detail: `${chain.length - 1} certificate signatures verify up to the root` }
        : { ok: false, detail: bad.join('; ') };
  const expired: string[] = [];
  for (const [i, c] of chain.entries())
    if (!c.validAt(now))
      expired.push(`#${i} valid ${opensslTime(c.notBefore)} .. ${opensslTime(c.notAfter)}`);
  const validity =
    expired.length === 0
      ? { ok: true, detail: `every certificate is valid at ${now.toISOString()}` }
      : { ok: false, detail: `not valid at ${now.toISOString()}: ${expired.join('; ')}` };
  const notCa = chain.slice(1).flatMap((c, i) => (isCa(c) ? [] : [`#${i + 1}`]));
  const caFlags =
    notCa.length === 0
      ? { ok: true, detail: 'every issuing certificate has basicConstraints CA:TRUE' }
      : { ok: false, detail: `issuing certificate(s) without CA:TRUE: ${notCa.join(', ')}` };
  const critical = chain.flatMap((c, i) => {
    const u = unknownCriticalExtensions(c.raw, [OID_TCG_DICE_TCBINFO, OID_TCG_DICE_MULTI_TCBINFO]);
    return u.length > 0 ? [`#${i} ${commonName(c)}: ${u.join(', ')}`] : [];
  });
  const criticalExtensions =
    critical.length === 0
      ? { ok: true, detail: 'no certificate has an unknown critical extension' }
      : { ok: false, detail: `unknown critical extension(s): ${critical.join('; ')}` };
  return { chain, rootPinned, signatures, validity, caFlags, criticalExtensions };
}

/** Extensions of a certificate: [oid, value-bytes]. */
export function certExtensions(der: Uint8Array): { oid: string; critical: boolean; value: Uint8Array }[] {
  const cert = readTree(der);
  const tbs = cert.children?.[0];
  const ctx3 = tbs?.children?.find((n) => n.tag === 0xa3);
  const list = ctx3?.children?.[0]?.children ?? [];
  return list.map((ext) => {
    const kids = ext.children ?? [];
    const oid = decodeOid(kids[0]?.value ?? new Uint8Array());
    const critical = kids.length === 3 && kids[1]?.tag === 0x01 && kids[1].value[0] !== 0;
    const value = kids[kids.length - 1]?.value ?? new Uint8Array();
    return { oid, critical, value };
  });
}

/**
 * FWIDs (SHA-384 digests) from the leaf's TCG DICE TcbInfo extension (2.23.133.5.4.1 and its
 * sub-arcs, or MultiTcbInfo 2.23.133.5.4.5). Hopper leaves carry a NVIDIA-specific SEQUENCE
 * { INTEGER, SubjectPublicKeyInfo, SEQUENCE { sha384, OCTET STRING } }, Blackwell leaves a standard
 * TcbInfo with `fwids [6]`; both hold (hashAlg OID, digest) pairs, which is what is collected.
 */
export function leafFwids(der: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const ext of certExtensions(der)) {
    if (
      !(
        ext.oid === OID_TCG_DICE_TCBINFO ||
        ext.oid.startsWith(`${OID_TCG_DICE_TCBINFO}.`) ||
        ext.oid === OID_TCG_DICE_MULTI_TCBINFO
      )
    )
      continue;
    let root: DerTree;
    try {
      root = readTree(ext.value);
    } catch (e) {
      if (e instanceof DerError) continue;
      throw e;
    }
    for (const n of walkTree(root)) {
      const kids = n.children ?? [];
      for (let i = 0; i + 1 < kids.length; i++) {
        if (
          kids[i]!.tag === 0x06 &&
          decodeOid(kids[i]!.value) === OID_SHA384 &&
          kids[i + 1]!.tag === 0x04 &&
          kids[i + 1]!.value.length === 48
        )
          out.push(kids[i + 1]!.value.slice());
      }
    }
  }
  return out;
}

/** ECDSA P-384 / SHA-384 over `data`, signature as raw r ‖ s (96 bytes). */
export async function verifyP384RawSignature(
  cert: Certificate,
  data: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  if (signature.length !== 96) return false;
  return verifySignature(
    { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384', encoding: 'p1363' },
    { spki: cert.spki },
    data,
    signature,
  );
}

/** The CN of a certificate's subject ('' without one). */
export function commonName(c: Certificate): string {
  return c.parsed.subjectName.getField('CN')[0] ?? '';
}
