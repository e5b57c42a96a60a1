/**
 * Critical X.509 extensions: a certificate with a critical extension the verifier does not process must be
 * rejected (RFC 5280 §4.2; `openssl verify` does the same: X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION). Node's
 * X509Certificate.verify only checks the signature, so every chain verifier (SEV-SNP, TDX, NVIDIA) asks here.
 */
import { children, content, DerError, expect, oidToString, readNode, TAG } from './der.ts';

/**
 * Extensions processed (or harmless) for the vendor chains verified here: basicConstraints, keyUsage,
 * extKeyUsage, subjectAltName, certificatePolicies, cRLDistributionPoints. OpenSSL also knows name and policy
 * constraints, policy mappings, inhibitAnyPolicy, proxy and RFC 3779 extensions; those restrict a chain in
 * ways these verifiers do not enforce, so they are rejected when critical (stricter than OpenSSL). Real AMD,
 * Intel and NVIDIA chains mark only basicConstraints and keyUsage critical.
 */
export const KNOWN_CRITICAL_EXTENSIONS: ReadonlySet<string> = new Set([
  '2.5.29.19', // basicConstraints
  '2.5.29.15', // keyUsage
  '2.5.29.37', // extKeyUsage
  '2.5.29.17', // subjectAltName
  '2.5.29.32', // certificatePolicies
  '2.5.29.31', // cRLDistributionPoints
]);

export interface CertExtension {
  oid: string;
  critical: boolean;
}

/** The extensions of a DER certificate (OID and critical flag). Throws DerError on malformed DER. */
export function extensionsOf(der: Uint8Array): CertExtension[] {
  const cert = expect(readNode(der), TAG.SEQUENCE, 'Certificate');
  const tbs = expect(children(cert)[0], TAG.SEQUENCE, 'tbsCertificate');
  const out: CertExtension[] = [];
  for (const f of children(tbs)) {
    if (f.tag !== 0xa3) continue;
    for (const ext of children(expect(children(f)[0], TAG.SEQUENCE, 'extensions'))) {
      const parts = children(expect(ext, TAG.SEQUENCE, 'extension'));
      const oid = oidToString(expect(parts[0], TAG.OID, 'extnID'));
      const crit = parts.length === 3 && parts[1]!.tag === TAG.BOOLEAN && content(parts[1]!)[0] !== 0;
      out.push({ oid, critical: crit });
    }
  }
  return out;
}

/**
 * OIDs of the critical extensions of `der` that are not in KNOWN_CRITICAL_EXTENSIONS ∪ `alsoKnown`.
 * Unparseable extensions count as unknown ('unparseable').
 */
export function unknownCriticalExtensions(der: Uint8Array, alsoKnown: readonly string[] = []): string[] {
  let exts: CertExtension[];
  try {
    exts = extensionsOf(der);
  } catch (e) {
    if (e instanceof DerError) return ['unparseable extensions'];
    throw e;
  }
  return exts
    .filter((e) => e.critical && !KNOWN_CRITICAL_EXTENSIONS.has(e.oid) && !alsoKnown.includes(e.oid))
    .map((e) => e.oid);
}
