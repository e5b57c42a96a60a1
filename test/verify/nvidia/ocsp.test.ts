import 'reflect-metadata';
import { strict as assert } from 'node:assert';
import { sign as cryptoSign, KeyObject, webcrypto } from 'node:crypto';
import { describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import { verifyGpuEvidence } from '../../../src/verify/nvidia/local.ts';
import {
  buildOcspRequest,
  certId,
  checkOcspResponse,
  createOcspChecker,
  ocspUrlOf,
  oidDer,
  tlv,
} from '../../../src/verify/nvidia/ocsp.ts';
import { Certificate } from '../../../src/verify/x509.ts';
import { checkOf, hopperEvidence } from './helpers.ts';

type CryptoKeyPair = webcrypto.CryptoKeyPair;
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const alg = { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' };
const NOW = new Date('2026-06-29T02:10:00Z');

async function pki() {
  const rootKeys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const devKeys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const respKeys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Test Root',
    notBefore: new Date('2020-01-01'),
    notAfter: new Date('2040-01-01'),
    keys: rootKeys as CryptoKeyPair,
    signingAlgorithm: alg,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const dev = await x509.X509CertificateGenerator.create({
    serialNumber: '4242',
    subject: 'CN=Test Device',
    issuer: root.subject,
    notBefore: new Date('2020-01-01'),
    notAfter: new Date('2040-01-01'),
    publicKey: (devKeys as CryptoKeyPair).publicKey,
    signingKey: (rootKeys as CryptoKeyPair).privateKey,
    signingAlgorithm: alg,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const responder = await x509.X509CertificateGenerator.create({
    serialNumber: '77',
    subject: 'CN=Test OCSP',
    issuer: root.subject,
    notBefore: new Date('2020-01-01'),
    notAfter: new Date('2040-01-01'),
    publicKey: (respKeys as CryptoKeyPair).publicKey,
    signingKey: (rootKeys as CryptoKeyPair).privateKey,
    signingAlgorithm: alg,
    extensions: [new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.9'])],
  });
  const nodeCert = (c: x509.X509Certificate) => Certificate.parse(new Uint8Array(c.rawData));
  return {
    root: nodeCert(root),
    dev: nodeCert(dev),
    responder: nodeCert(responder),
    rootKey: KeyObject.from((rootKeys as CryptoKeyPair).privateKey),
    respKey: KeyObject.from((respKeys as CryptoKeyPair).privateKey),
    devKey: KeyObject.from((devKeys as CryptoKeyPair).privateKey),
  };
}

const gt = (d: Date) =>
  tlv(0x18, new Uint8Array(Buffer.from(`${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`)));

function ocspResponse(
  id: Uint8Array,
  status: 'good' | 'revoked' | 'unknown',
  key: KeyObject,
  opts: { thisUpdate?: Date; nextUpdate?: Date; certs?: Certificate[]; respStatus?: number } = {},
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
    tlv(0xa0, gt(opts.nextUpdate ?? new Date(NOW.getTime() + 86400_000))),
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

describe('OCSP (online revocation), against a local test PKI', async () => {
  const p = await pki();
  const id = certId(p.dev, p.root);

  it('request encodes a SHA-1 CertID for the certificate', () => {
    const req = buildOcspRequest(p.dev, p.root);
    assert.equal(req[0], 0x30);
    assert.ok(Buffer.from(req).includes(Buffer.from(id)));
    assert.ok(Buffer.from(id).includes(Buffer.from([0x02, 0x02, 0x42, 0x42])), 'serial 0x4242');
  });

  it('good (issuer-signed and delegated responder), revoked, unknown', async () => {
    const r = (b: Uint8Array) => checkOcspResponse(b, p.dev, p.root, NOW);
    assert.equal((await r(ocspResponse(id, 'good', p.rootKey))).status, 'good');
    assert.equal((await r(ocspResponse(id, 'good', p.respKey, { certs: [p.responder] }))).status, 'good');
    assert.equal((await r(ocspResponse(id, 'revoked', p.rootKey))).status, 'revoked');
    assert.equal((await r(ocspResponse(id, 'unknown', p.rootKey))).status, 'unknown');
  });

  it('rejects: wrong signer, responder without authority, stale, other certificate, unsuccessful, garbage', async () => {
    const r = (b: Uint8Array) => checkOcspResponse(b, p.dev, p.root, NOW);
    assert.match((await r(ocspResponse(id, 'good', p.devKey))).detail, /not signed/);
    assert.match((await r(ocspResponse(id, 'good', p.devKey, { certs: [p.dev] }))).detail, /not signed/); // no OCSPSigning EKU
    assert.match(
      (await r(ocspResponse(id, 'good', p.rootKey, { nextUpdate: new Date(NOW.getTime() - 1000) }))).detail,
      /stale/,
    );
    assert.match(
      (await r(ocspResponse(certId(p.responder, p.root), 'good', p.rootKey))).detail,
      /does not cover/,
    );
    assert.match(
      (await r(ocspResponse(id, 'good', p.rootKey, { respStatus: 6 }))).detail,
      /responseStatus 6/,
    );
    assert.equal((await r(new Uint8Array([1, 2, 3]))).status, 'error');
  });

  it('createOcspChecker POSTs each non-leaf, non-root certificate and feeds verifyGpuEvidence', async () => {
    const seen: string[] = [];
    const fetchGood = (async (url: string | URL | Request, init?: RequestInit) => {
      seen.push(`${String(url)} ${(init?.headers as Record<string, string>)['content-type']}`);
      return new Response(ocspResponse(id, 'good', p.rootKey), { status: 200 });
    }) as typeof fetch;
    const chain = [p.dev, p.dev, p.root]; // [leaf, device, root]: only index 1 is checked
    const ok = await createOcspChecker({ fetch: fetchGood, now: NOW })(chain);
    assert.equal(ok.ok, true, ok.detail);
    assert.deepEqual(seen, ['https://ocsp.ndis.nvidia.com/ application/ocsp-request']);
    const fetchRevoked = (async () =>
      new Response(ocspResponse(id, 'revoked', p.rootKey), { status: 200 })) as typeof fetch;
    assert.equal((await createOcspChecker({ fetch: fetchRevoked, now: NOW })(chain)).ok, false);

    // wired into the verifier: NVIDIA's real responder is unreachable here → revocation fails (not skip)
    const down = (async () => {
      throw new Error('offline');
    }) as typeof fetch;
    const e = hopperEvidence();
    const v = await verifyGpuEvidence(e, {
      nonce: e.nonce,
      now: NOW,
      ocsp: createOcspChecker({ fetch: down, now: NOW }),
    });
    assert.equal(checkOf(v, 'nvidia.chain.revocation').outcome, 'fail');
    assert.match(checkOf(v, 'nvidia.chain.revocation').detail, /ocsp\.ndis\.nvidia\.com/);
  });

  it('AIA OCSP URLs of the real chain are read', async () => {
    const { parseCertChain } = await import('../../../src/verify/nvidia/certs.ts');
    const chain = parseCertChain(Buffer.from(hopperEvidence().certificate, 'base64').toString('latin1'));
    assert.deepEqual(
      chain.map((c) => ocspUrlOf(c)),
      [undefined, undefined, 'http://ocsp.ndis.nvidia.com', 'http://ocsp.ndis.nvidia.com', undefined],
    );
  });
});
