import 'reflect-metadata';
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { verifyGpuEvidence } from '../../../src/verify/nvidia/local.ts';
import {
  buildOcspRequest,
  certId,
  checkOcspResponse,
  createOcspChecker,
  ocspUrlOf,
} from '../../../src/verify/nvidia/ocsp.ts';
import { checkOf, hopperEvidence } from './helpers.ts';
import { NOW, ocspResponse, pki } from './ocsp-pki.ts';

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
