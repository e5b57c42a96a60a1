/**
 * NVIDIA OCSP responses in offline collateral bundles (kind nvidia-ocsp).
 * Positive path: a SYNTHETIC 4-certificate chain from a local test PKI (ocsp-pki.ts), its responses
 * generated here (no real NVIDIA OCSP response is recorded, and only NVIDIA can sign one for the real
 * chain): round trip, fetch through a loopback stub responder, the cache, and ocspFromBundle's
 * outcomes. The REAL Hopper device chain (hopperEvidence) is used for what can be shown without
 * NVIDIA's key: its missing items and a response for its CertID signed by another key, through
 * verifyGpuEvidence.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseCertChain } from '../../../src/verify/nvidia/certs.ts';
import { verifyGpuEvidence } from '../../../src/verify/nvidia/local.ts';
import { certId } from '../../../src/verify/nvidia/ocsp.ts';
import {
  type CollateralBundle,
  type CollateralError,
  type CollateralItem,
  parseCollateralBundle,
} from '../../../src/verify/reference/collateral.ts';
import {
  CollateralCache,
  fetchNvidiaOcspItems,
  makeItem,
} from '../../../src/verify/reference/collateral-fetch.ts';
import { ocspFromBundle, ocspItemId } from '../../../src/verify/reference/collateral-ocsp.ts';
import { itemValidity } from '../../../src/verify/reference/collateral-vendors.ts';
import type { Certificate } from '../../../src/verify/x509.ts';
import { checkOf, hopperEvidence } from '../nvidia/helpers.ts';
import { certIdOfRequest, NOW, ocspResponse, pki } from '../nvidia/ocsp-pki.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bundleOf = (items: CollateralItem[]): CollateralBundle => ({
  format: 'wasmvm-tee/collateral-bundle/v1',
  createdAt: NOW.toISOString(),
  items,
});
const item = (id: string, der: Uint8Array) => makeItem('nvidia-ocsp', id, 'test', der);

describe('nvidia-ocsp collateral items', async () => {
  const p = await pki();
  const chain: Certificate[] = [p.leaf, p.ica, p.dev, p.root];
  const icaId = certId(p.ica, p.dev);
  const devId = certId(p.dev, p.root);
  const good = () => [
    item(hex(icaId), ocspResponse(icaId, 'good', p.devKey)),
    item(hex(devId), ocspResponse(devId, 'good', p.rootKey)),
  ];
  const check = (items: CollateralItem[], at = NOW) => ocspFromBundle(bundleOf(items), at)(chain);

  it('round trip: id = hex of the CertID, body = the DER, validity thisUpdate − 5 min .. nextUpdate', () => {
    const der = ocspResponse(devId, 'good', p.rootKey, {
      thisUpdate: new Date('2026-06-29T00:00:00Z'),
      nextUpdate: new Date('2026-07-06T00:00:00Z'),
    });
    const i = item(ocspItemId(p.dev, p.root), der);
    assert.equal(i.id, hex(devId));
    assert.equal(i.encoding, 'base64');
    assert.equal(i.notBefore, '2026-06-28T23:55:00.000Z');
    assert.equal(i.notAfter, '2026-07-06T00:00:00.000Z');
    const back = parseCollateralBundle(JSON.parse(JSON.stringify(bundleOf([i]))));
    assert.deepEqual(back.items[0], i);
    assert.deepEqual(new Uint8Array(Buffer.from(back.items[0]!.body, 'base64')), der);
    assert.deepEqual(itemValidity(back.items[0]!), { notBefore: i.notBefore, notAfter: i.notAfter });
  });

  it('a response without nextUpdate is refused (COLLATERAL_MALFORMED)', () => {
    assert.throws(
      () => item(hex(devId), ocspResponse(devId, 'good', p.rootKey, { noNextUpdate: true })),
      (e: CollateralError) => e.code === 'COLLATERAL_MALFORMED' && /no nextUpdate/.test(e.message),
    );
  });

  it('offline: good responses (issuer-signed, and by a delegated responder) pass', async () => {
    const r = await check(good());
    assert.equal(r.ok, true, r.detail);
    assert.match(r.detail, /'Test ICA' \(serial 5151, issued by 'Test Device'\): good/);
    assert.match(r.detail, /'Test Device' \(serial 4242, issued by 'Test Root'\): good/);
    const delegated = item(hex(devId), ocspResponse(devId, 'good', p.respKey, { certs: [p.responder] }));
    const d = await check([good()[0]!, delegated]);
    assert.equal(d.ok, true, d.detail);
  });

  it('offline: revoked, unknown, missing, expired, another certificate, another key, a flipped byte: each fails distinctly', async () => {
    const [ica] = good();
    const one = async (dev: CollateralItem | undefined, at = NOW) => {
      const r = await check(dev ? [ica!, dev] : [ica!], at);
      assert.equal(r.ok, false, r.detail);
      return r.detail;
    };
    assert.match(
      await one(item(hex(devId), ocspResponse(devId, 'revoked', p.rootKey))),
      /^OCSP_REVOKED: .*'Test Device' \(serial 4242, issued by 'Test Root'\): OCSP_REVOKED: revoked at 2025-01-01/,
    );
    assert.match(
      await one(item(hex(devId), ocspResponse(devId, 'unknown', p.rootKey))),
      /^OCSP_UNKNOWN: .*'Test Device'.*: OCSP_UNKNOWN: responder does not know the certificate/,
    );
    assert.match(
      await one(undefined),
      new RegExp(
        `^COLLATERAL_MISSING_ITEM: .*'Test Device' \\(serial 4242, issued by 'Test Root'\\): COLLATERAL_MISSING_ITEM: the bundle has no nvidia-ocsp item for 'Test Device' .*\\(id ${hex(devId)}\\)`,
      ),
    );
    const expiredAt = new Date(NOW.getTime() + 2 * 86400_000);
    const exp = await check(good(), expiredAt);
    assert.equal(exp.ok, false);
    assert.match(exp.detail, /^COLLATERAL_EXPIRED: .*'Test ICA'.*is valid .* \.\. 2026-06-30T02:10:00\.000Z/);
    // the dev item's id, but the body answers for the ICA
    const other: CollateralItem = {
      ...item(hex(devId), ocspResponse(devId, 'good', p.rootKey)),
      body: ica!.body,
    };
    assert.match(
      await one(other),
      /^COLLATERAL_MALFORMED: .*'Test Device'.*: COLLATERAL_MALFORMED: .*does not cover the certificate its id names/,
    );
    assert.match(
      await one(item(hex(devId), ocspResponse(devId, 'good', p.otherKey))),
      /^COLLATERAL_SIGNATURE_INVALID: .*'Test Device'.*not signed by the issuer or an authorised responder/,
    );
    // a delegated responder certificate not issued by the issuer (the ICA's responder for the device)
    assert.match(
      await one(item(hex(devId), ocspResponse(devId, 'good', p.icaKey, { certs: [p.ica] }))),
      /^COLLATERAL_SIGNATURE_INVALID: /,
    );
    // one byte of the signed responderID flipped
    const der = ocspResponse(devId, 'good', p.rootKey);
    const at = Buffer.from(der).indexOf(Buffer.from([0xa2, 0x16, 0x04, 0x14]));
    assert.ok(at > 0);
    der[at + 4] = der[at + 4]! ^ 0x01;
    assert.match(await one(item(hex(devId), der)), /^COLLATERAL_SIGNATURE_INVALID: /);
    // a flipped byte inside the CertID: the item no longer names its certificate
    const der2 = ocspResponse(devId, 'good', p.rootKey);
    const idAt = Buffer.from(der2).indexOf(Buffer.from(devId));
    der2[idAt + devId.length - 1] = der2[idAt + devId.length - 1]! ^ 0x01;
    const bad: CollateralItem = { ...item(hex(devId), ocspResponse(devId, 'good', p.rootKey)) };
    bad.body = Buffer.from(der2).toString('base64');
    assert.match(await one(bad), /^COLLATERAL_MALFORMED: .*does not cover/);
  });

  describe('fetch through a loopback stub responder, and the cache', () => {
    let server: Server;
    let url: string;
    const posted: string[] = [];
    let devStatus: 'good' | 'revoked' = 'good';
    let devKey = p.rootKey;
    const tmp = mkdtempSync(join(tmpdir(), 'wasmvm-tee-ocsp-'));
    before(async () => {
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const id = certIdOfRequest(new Uint8Array(Buffer.concat(chunks)));
          posted.push(`${req.method} ${req.headers['content-type']} ${hex(id)}`);
          const body =
            hex(id) === hex(icaId)
              ? ocspResponse(icaId, 'good', p.devKey)
              : hex(id) === hex(devId)
                ? ocspResponse(devId, devStatus, devKey)
                : undefined;
          res.writeHead(body ? 200 : 404, { 'content-type': 'application/ocsp-response' });
          res.end(body ? Buffer.from(body) : undefined);
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });
    after(() => {
      server.close();
      rmSync(tmp, { recursive: true, force: true });
    });

    it('fetches one response per certificate, checks it, and the bundle verifies offline', async () => {
      const r = await fetchNvidiaOcspItems(chain, { responder: url, now: NOW });
      assert.deepEqual(r.failures, []);
      assert.deepEqual(posted, [
        `POST application/ocsp-request ${hex(icaId)}`,
        `POST application/ocsp-request ${hex(devId)}`,
      ]);
      assert.deepEqual(
        r.items.map((i) => `${i.kind}:${i.id}:${i.source}`),
        [`nvidia-ocsp:${hex(icaId)}:${url}`, `nvidia-ocsp:${hex(devId)}:${url}`],
      );
      assert.deepEqual(
        r.statuses.map((s) => s.status),
        ['good', 'good'],
      );
      const b = parseCollateralBundle(JSON.parse(JSON.stringify(bundleOf(r.items))));
      const v = await ocspFromBundle(b, NOW)(chain);
      assert.equal(v.ok, true, v.detail);
    });

    it('a revoked status is bundled and reported; a response by another key is not bundled', async () => {
      devStatus = 'revoked';
      const r = await fetchNvidiaOcspItems(chain, { responder: url, now: NOW });
      devStatus = 'good';
      assert.deepEqual(r.failures, []);
      assert.equal(r.items.length, 2);
      assert.equal(r.statuses[1]!.status, 'revoked');
      assert.match(r.statuses[1]!.certificate, /'Test Device' \(serial 4242/);
      // the device's response signed by an unrelated key: reported, not bundled
      devKey = p.otherKey;
      const forged = await fetchNvidiaOcspItems(chain, { responder: url, now: NOW });
      devKey = p.rootKey;
      assert.equal(forged.items.length, 1);
      assert.equal(forged.failures.length, 1);
      assert.match(
        forged.failures[0]!,
        /^COLLATERAL_SIGNATURE_INVALID: nvidia-ocsp '[0-9a-f]+': OCSP response not signed by the issuer/,
      );
      // a certificate the responder does not serve (the ICA under the root: another CertID): HTTP 404
      const wrong = await fetchNvidiaOcspItems([p.leaf, p.ica, p.root], { responder: url, now: NOW });
      assert.equal(wrong.items.length, 0);
      assert.match(wrong.failures[0]!, /^COLLATERAL_FETCH_FAILED: POST .* for 'Test ICA'.*: HTTP 404/);
      // a responder that is down
      const down = await fetchNvidiaOcspItems(chain, {
        now: NOW,
        fetch: async () => {
          throw new Error('offline');
        },
      });
      assert.equal(down.items.length, 0);
      assert.match(
        down.failures[0]!,
        /^COLLATERAL_FETCH_FAILED: POST http:\/\/ocsp|^COLLATERAL_FETCH_FAILED: POST https:\/\/ocsp/,
      );
    });

    it('the cache keeps them until nextUpdate, then prune removes them', async () => {
      const cache = new CollateralCache(join(tmp, 'cache'));
      const first = await fetchNvidiaOcspItems(chain, { responder: url, now: NOW, cache });
      assert.deepEqual(first.fromCache, []);
      const n = posted.length;
      const second = await fetchNvidiaOcspItems(chain, { responder: url, now: NOW, cache });
      assert.equal(posted.length, n, 'nothing fetched');
      assert.deepEqual(second.fromCache, [`nvidia-ocsp:${hex(icaId)}`, `nvidia-ocsp:${hex(devId)}`]);
      assert.deepEqual(
        second.statuses.map((s) => s.status),
        ['good', 'good'],
      );
      assert.deepEqual(cache.prune(NOW), { removed: [], kept: 2 });
      const later = new Date(NOW.getTime() + 2 * 86400_000);
      const pr = cache.prune(later);
      assert.equal(pr.kept, 0);
      assert.equal(pr.removed.length, 2);
      assert.match(pr.removed[0]!, /^nvidia-ocsp [0-9a-f]+ \(expired 2026-06-30T02:10:00\.000Z\)$/);
    });
  });

  it('the REAL Hopper device chain: missing items, and a response for its CertID by another key, fail the revocation check', async () => {
    const e = hopperEvidence();
    const real = parseCertChain(Buffer.from(e.certificate, 'base64').toString('latin1'));
    const empty = await verifyGpuEvidence(e, {
      nonce: e.nonce,
      now: NOW,
      ocsp: ocspFromBundle(bundleOf([]), NOW),
    });
    const c = checkOf(empty, 'nvidia.chain.revocation');
    assert.equal(c.outcome, 'fail');
    assert.match(c.detail, /^COLLATERAL_MISSING_ITEM: OCSP from the collateral bundle/);
    assert.equal(
      c.detail.match(/COLLATERAL_MISSING_ITEM: the bundle has no nvidia-ocsp item for/g)?.length,
      3,
    );
    assert.match(c.detail, /'GH100 A01 GSP BROM'/);
    // the device certificate (index 1, issued by index 2) answered by a key that is not NVIDIA's
    const id = certId(real[1]!, real[2]!);
    const forged = item(hex(id), ocspResponse(id, 'good', p.otherKey));
    const v = await verifyGpuEvidence(e, {
      nonce: e.nonce,
      now: NOW,
      ocsp: ocspFromBundle(bundleOf([forged]), NOW),
    });
    const f = checkOf(v, 'nvidia.chain.revocation');
    assert.equal(f.outcome, 'fail');
    assert.match(f.detail, /COLLATERAL_SIGNATURE_INVALID: nvidia-ocsp '[0-9a-f]+': OCSP response not signed/);
    assert.equal(v.ok, false);
  });
});
