/**
 * Sign a RIM as NVIDIA signs them (enveloped XML signature, C14N 1.1, SHA-384, ECDSA P-384, KeyInfo =
 * the chain, leaf first) with a TEST key: the tests' synthetic PKI (ocsp-pki.ts) re-signs a REAL RIM's
 * content, and the test trusts that PKI's root explicitly (rimTrustRoot / trustRoot).
 */
import { createHash, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { SignedXml } from '../../../src/verify/nvidia/xml-libs.ts';
import type { Certificate } from '../../../src/verify/x509.ts';

/** Sign `xml` (its ds:Signature removed) with `key`, KeyInfo = `certs` (leaf first), as NVIDIA signs RIMs. */
export function signRim(xml: string, key: KeyObject, certs: Certificate[]): string {
  const C14N11 = 'http://www.w3.org/2006/12/xml-c14n11';
  const ECDSA = 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384';
  const SHA384 = 'http://www.w3.org/2001/04/xmldsig-more#sha384';
  class Signer {
    getAlgorithmName() {
      return ECDSA;
    }
    getSignature(data: string) {
      return cryptoSign('sha384', Buffer.from(data), { key, dsaEncoding: 'ieee-p1363' }).toString('base64');
    }
    verifySignature() {
      return false;
    }
  }
  class Sha384 {
    getAlgorithmName() {
      return SHA384;
    }
    getHash(s: string) {
      return createHash('sha384').update(s, 'utf8').digest('base64');
    }
  }
  const sx = new SignedXml({
    privateKey: 'unused',
    canonicalizationAlgorithm: C14N11,
    signatureAlgorithm: ECDSA,
    getKeyInfoContent: () =>
      `<ds:X509Data>${certs.map((c) => `<ds:X509Certificate>${Buffer.from(c.raw).toString('base64')}</ds:X509Certificate>`).join('')}</ds:X509Data>`,
  });
  sx.CanonicalizationAlgorithms[C14N11] = (sx.CanonicalizationAlgorithms as Record<string, unknown>)[
    'http://www.w3.org/TR/2001/REC-xml-c14n-20010315'
  ];
  sx.SignatureAlgorithms[ECDSA] = Signer;
  sx.HashAlgorithms[SHA384] = Sha384;
  sx.addReference({
    xpath: '/*',
    isEmptyUri: true,
    digestAlgorithm: SHA384,
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', C14N11],
  });
  sx.computeSignature(xml.replace(/<ds:Signature[\s\S]*<\/ds:Signature>/, ''), { prefix: 'ds' });
  return sx.getSignedXml();
}
