/**
 * A local test PKI and an OCSP responder's answers (RFC 6960 BasicOCSPResponse, ECDSA P-384) for the
 * OCSP tests: no real NVIDIA OCSP response is recorded in the test vectors, and only NVIDIA can sign
 * one for the real device chain, so responses are generated here.
 *   root ─┬─ dev ── ica ── leaf     a 4-certificate chain [leaf, ica, dev, root]: OCSP for ica and dev
 *         └─ responder              a delegated responder (OCSPSigning EKU) issued by root
 *   otherKey                        an unrelated key
 */
import 'reflect-metadata';
import { sign as cryptoSign, KeyObject, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { oidDer, tlv } from '../../../src/verify/nvidia/ocsp.ts';
import { Certificate } from '../../../src/verify/x509.ts';

type CryptoKeyPair = webcrypto.CryptoKeyPair;
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const alg = { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' };
export const NOW = new Date('2026-06-29T02:10:00Z');

export async function pki() {
  const gen = async () =>
    (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const rootKeys = await gen();
  const devKeys = await gen();
  const respKeys = await gen();
  const icaKeys = await gen();
  const leafKeys = await gen();
  const otherKeys = await gen();
  const validity = { notBefore: new Date('2020-01-01'), notAfter: new Date('2040-01-01') };
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Test Root',
    ...validity,
    keys: rootKeys,
    signingAlgorithm: alg,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const issue = (
    serialNumber: string,
    subject: string,
    issuer: x509.X509Certificate,
    issuerKeys: CryptoKeyPair,
    keys: CryptoKeyPair,
    extensions: x509.Extension[],
  ) =>
    x509.X509CertificateGenerator.create({
      serialNumber,
      subject,
      issuer: issuer.subject,
      ...validity,
      publicKey: keys.publicKey,
      signingKey: issuerKeys.privateKey,
      signingAlgorithm: alg,
      extensions,
    });
  const ca = [new x509.BasicConstraintsExtension(true, undefined, true)];
  const dev = await issue('4242', 'CN=Test Device', root, rootKeys, devKeys, ca);
  const responder = await issue('77', 'CN=Test OCSP', root, rootKeys, respKeys, [
    new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.9']),
  ]);
  const ica = await issue('5151', 'CN=Test ICA', dev, devKeys, icaKeys, ca);
  const leaf = await issue('6161', 'CN=Test Leaf', ica, icaKeys, leafKeys, []);
  const nodeCert = (c: x509.X509Certificate) => Certificate.parse(new Uint8Array(c.rawData));
  return {
    root: nodeCert(root),
    dev: nodeCert(dev),
    responder: nodeCert(responder),
    ica: nodeCert(ica),
    leaf: nodeCert(leaf),
    rootKey: KeyObject.from(rootKeys.privateKey),
    respKey: KeyObject.from(respKeys.privateKey),
    devKey: KeyObject.from(devKeys.privateKey),
    icaKey: KeyObject.from(icaKeys.privateKey),
    /** the leaf's key (a test RIM signer: rim-ocsp.test.ts signs RIMs with it) */
    leafKey: KeyObject.from(leafKeys.privateKey),
    otherKey: KeyObject.from(otherKeys.privateKey),
  };
}

export const gt = (d: Date) =>
  tlv(0x18, new Uint8Array(Buffer.from(`${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`)));

/** A BasicOCSPResponse for CertID `id` saying `status`, signed with `key` (SHA-384 ECDSA). */
export function ocspResponse(
  id: Uint8Array,
  status: 'good' | 'revoked' | 'unknown',
  key: KeyObject,
  opts: {
    thisUpdate?: Date;
    nextUpdate?: Date;
    /** no nextUpdate at all */
    noNextUpdate?: boolean;
    certs?: Certificate[];
    respStatus?: number;
  } = {},
): Uint8Array {
  if (opts.respStatus) return tlv(0x30, tlv(0x0a, new Uint8Array([opts.respStatus])));
  const st =
    status === 'good'
      ? new Uint8Array([0x80, 0])
      : status === 'revoked'
        ? tlv(0xa1, gt(new Date('2025-01-01')))
        : new Uint8Array([0x82, 0]);
  const single = tlv(
    0x30,
    id,
    st,
    gt(opts.thisUpdate ?? new Date(NOW.getTime() - 3600_000)),
    ...(opts.noNextUpdate ? [] : [tlv(0xa0, gt(opts.nextUpdate ?? new Date(NOW.getTime() + 86400_000)))]),
  );
  const tbs = tlv(0x30, tlv(0xa2, tlv(0x04, new Uint8Array(20))), gt(NOW), tlv(0x30, single));
  const sig = cryptoSign('sha384', tbs, key);
  const parts = [tbs, tlv(0x30, oidDer('1.2.840.10045.4.3.3')), tlv(0x03, new Uint8Array([0]), sig)];
  if (opts.certs) parts.push(tlv(0xa0, tlv(0x30, ...opts.certs.map((c) => new Uint8Array(c.raw)))));
  const basic = tlv(0x30, ...parts);
  return tlv(
    0x30,
    tlv(0x0a, new Uint8Array([0])),
    tlv(0xa0, tlv(0x30, oidDer('1.3.6.1.5.5.7.48.1.1'), tlv(0x04, basic))),
  );
}

/** The CertID inside a DER OCSPRequest built by buildOcspRequest (what a responder looks up). */
export function certIdOfRequest(req: Uint8Array): Uint8Array {
  // OCSPRequest { TBSRequest { requestList { Request { CertID } } } }: four nested SEQUENCE headers
  let p = 0;
  for (let depth = 0; depth < 4; depth++) {
    const l = req[p + 1]!;
    p += 2 + (l & 0x80 ? l & 0x7f : 0);
  }
  const l = req[p + 1]!;
  const n = l & 0x80 ? l & 0x7f : 0;
  let len = n === 0 ? l : 0;
  for (let i = 0; i < n; i++) len = len * 256 + req[p + 2 + i]!;
  return req.subarray(p, p + 2 + n + len);
}
