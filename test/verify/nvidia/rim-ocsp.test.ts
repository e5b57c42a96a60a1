/**
 * Revocation of the NVIDIA RIM signing chain ('nvidia.rim.chain.revocation') through verifyRim's `ocsp`
 * hook: from a collateral bundle's nvidia-ocsp items (rimOcspFromBundle) and online
 * (createOcspChecker with rimOcspTargets).
 * Positive path: a REAL NVIDIA RIM (its signed content) RE-SIGNED by a SYNTHETIC 4-certificate chain
 * (ocsp-pki.ts: leaf ← ica ← dev ← root, the leaf as RIM signer), trusted explicitly, with OCSP
 * responses generated here: only NVIDIA can sign a response for the real RIM chain.
 * The REAL RIM chain (test/data/nvidia/rim) shows what can be shown without NVIDIA's key: an empty
 * bundle fails the check naming each certificate of the real chain, and offline (no hook,
 * allowNotChecked) every other check passes.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { commonName, parseCertChain } from '../../../src/verify/nvidia/certs.ts';
import { certId, createOcspChecker, ocspTargets, rimOcspTargets } from '../../../src/verify/nvidia/ocsp.ts';
import { parseRim, rimSigningChain, verifyRim } from '../../../src/verify/nvidia/rim.ts';
import type { CollateralBundle, CollateralItem } from '../../../src/verify/reference/collateral.ts';
import { makeItem } from '../../../src/verify/reference/collateral-fetch.ts';
import { ocspFromBundle, rimOcspFromBundle } from '../../../src/verify/reference/collateral-ocsp.ts';
import type { Verdict } from '../../../src/verify/types.ts';
import { certIdOfRequest, NOW, ocspResponse, pki } from './ocsp-pki.ts';
import { signRim } from './rim-sign.ts';

const RIM_DIR = new URL('../../data/nvidia/rim/', import.meta.url);
const rimText = (name: string) => readFileSync(new URL(name, RIM_DIR), 'utf8');
const VBIOS_1A = '1010_0200_882_960074001A_PROD.swidtag';
const DRIVER_545 = 'Driver_RIM_test_no_gpu.swidtag';
/** Inside every real RIM signing chain's validity. */
const AT = new Date('2024-06-01T00:00:00Z');
const REV = 'nvidia.rim.chain.revocation';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const checkOf = (v: Verdict, id: string) => v.checks.find((c) => c.id === id)!;
const bundleOf = (items: CollateralItem[]): CollateralBundle => ({
  format: 'wasmvm-tee/collateral-bundle/v1',
  createdAt: NOW.toISOString(),
  items,
});
const item = (id: Uint8Array, der: Uint8Array) => makeItem('nvidia-ocsp', hex(id), 'test', der);

describe('NVIDIA RIM signing chain revocation (synthetic PKI)', async () => {
  const p = await pki();
  const chain = [p.leaf, p.ica, p.dev, p.root];
  const rim = signRim(rimText(VBIOS_1A), p.leafKey, chain);
  const trustRoot = p.root.parsed.toString('pem');
  const leafId = certId(p.leaf, p.ica);
  const icaId = certId(p.ica, p.dev);
  const devId = certId(p.dev, p.root);
  const good = () => [
    item(leafId, ocspResponse(leafId, 'good', p.icaKey)),
    item(icaId, ocspResponse(icaId, 'good', p.devKey)),
    item(devId, ocspResponse(devId, 'good', p.rootKey)),
  ];
  const verify = (items: CollateralItem[], at = NOW) =>
    verifyRim(rim, { now: at, trustRoot, ocsp: rimOcspFromBundle(bundleOf(items), at) });

  it('the targets: every certificate but the root, the signing leaf included; the device-chain rule is unchanged', () => {
    assert.deepEqual(
      rimOcspTargets(chain).map((t) => [t.index, t.cert.subject, t.issuer.subject]),
      [
        [0, 'CN=Test Leaf', 'CN=Test ICA'],
        [1, 'CN=Test ICA', 'CN=Test Device'],
        [2, 'CN=Test Device', 'CN=Test Root'],
      ],
    );
    assert.deepEqual(
      ocspTargets(chain).map((t) => t.index),
      [1, 2],
    );
  });

  it('good responses for all three certificates: pass, the leaf named', async () => {
    const r = await verify(good());
    assert.equal(r.verdict.ok, true, JSON.stringify(r.verdict.checks, null, 1));
    const c = checkOf(r.verdict, REV);
    assert.equal(c.outcome, 'pass');
    for (const n of ['Test Leaf', 'Test ICA', 'Test Device'])
      assert.match(c.detail, new RegExp(`'${n}' .*: good`));
    // the signed chain is the one rimSigningChain completes (what collateral fetch asks OCSP for)
    const sc = await rimSigningChain(rim, NOW, trustRoot);
    assert.deepEqual(
      sc.map((c) => c.subject),
      chain.map((c) => c.subject),
    );
  });

  it('without the hook: not checked, as before', async () => {
    const r = await verifyRim(rim, { now: NOW, trustRoot });
    assert.equal(r.verdict.ok, false);
    assert.equal(checkOf(r.verdict, REV).outcome, 'skip');
    assert.equal((await verifyRim(rim, { now: NOW, trustRoot, allowNotChecked: [REV] })).verdict.ok, true);
  });

  it('an empty bundle: COLLATERAL_MISSING_ITEM naming each certificate', async () => {
    const r = await verify([]);
    assert.equal(r.verdict.ok, false);
    const c = checkOf(r.verdict, REV);
    assert.equal(c.outcome, 'fail');
    assert.match(c.detail, /^COLLATERAL_MISSING_ITEM: OCSP from the collateral bundle/);
    assert.equal(c.detail.match(/: COLLATERAL_MISSING_ITEM: /g)?.length, 3);
    // the other checks still pass
    for (const x of r.verdict.checks) if (x.id !== REV) assert.equal(x.outcome, 'pass', x.id);
  });

  it("the leaf's item is required: the device-chain selector's items alone fail", async () => {
    const r = await verify(good().slice(1));
    const c = checkOf(r.verdict, REV);
    assert.equal(c.outcome, 'fail');
    assert.match(
      c.detail,
      /^COLLATERAL_MISSING_ITEM: .*'Test Leaf' \(serial 6161, issued by 'Test ICA'\): COLLATERAL_MISSING_ITEM/,
    );
    // the same bundle is enough for the device-chain rule (no leaf)
    assert.equal((await ocspFromBundle(bundleOf(good().slice(1)), NOW)(chain)).ok, true);
  });

  it('expired, revoked, unknown, forged, flipped byte: fail with the code', async () => {
    const late = await verify(good(), new Date(NOW.getTime() + 3 * 86400_000));
    assert.match(checkOf(late.verdict, REV).detail, /^COLLATERAL_EXPIRED: /);

    const revoked = await verify([
      item(leafId, ocspResponse(leafId, 'revoked', p.icaKey)),
      ...good().slice(1),
    ]);
    const rc = checkOf(revoked.verdict, REV);
    assert.equal(rc.outcome, 'fail');
    assert.match(rc.detail, /^OCSP_REVOKED: .*'Test Leaf'.*: OCSP_REVOKED: revoked at 2025-01-01/);

    const unknown = await verify([
      ...good().slice(0, 2),
      item(devId, ocspResponse(devId, 'unknown', p.rootKey)),
    ]);
    assert.match(checkOf(unknown.verdict, REV).detail, /^OCSP_UNKNOWN: .*'Test Device'.*: OCSP_UNKNOWN/);

    const forged = await verify([item(leafId, ocspResponse(leafId, 'good', p.otherKey)), ...good().slice(1)]);
    assert.match(
      checkOf(forged.verdict, REV).detail,
      /^COLLATERAL_SIGNATURE_INVALID: .*'Test Leaf'.*: COLLATERAL_SIGNATURE_INVALID: nvidia-ocsp/,
    );

    // one byte of the signed responderID flipped: the signature no longer verifies
    const der = ocspResponse(icaId, 'good', p.devKey);
    const at = Buffer.from(der).indexOf(Buffer.alloc(20));
    assert.ok(at > 0);
    const flipped = new Uint8Array(der);
    flipped[at + 3]! ^= 0x01;
    const f = await verify([good()[0]!, item(icaId, flipped), good()[2]!]);
    assert.match(
      checkOf(f.verdict, REV).detail,
      /^COLLATERAL_SIGNATURE_INVALID: .*'Test ICA'.*: COLLATERAL_SIGNATURE_INVALID: /,
    );
  });

  it('online: createOcspChecker with rimOcspTargets asks for the leaf too', async () => {
    const asked: string[] = [];
    const answers = new Map([
      [hex(leafId), () => ocspResponse(leafId, 'good', p.icaKey)],
      [hex(icaId), () => ocspResponse(icaId, 'good', p.devKey)],
      [hex(devId), () => ocspResponse(devId, 'good', p.rootKey)],
    ]);
    const stub = (async (_url: string, init: { body: Uint8Array }) => {
      const id = hex(certIdOfRequest(new Uint8Array(init.body)));
      asked.push(id);
      const a = answers.get(id);
      return a ? new Response(Buffer.from(a())) : new Response(null, { status: 404 });
    }) as unknown as typeof fetch;
    const ocsp = createOcspChecker({ fetch: stub, now: NOW, targets: rimOcspTargets });
    const r = await verifyRim(rim, { now: NOW, trustRoot, ocsp });
    assert.equal(r.verdict.ok, true, checkOf(r.verdict, REV).detail);
    assert.deepEqual(asked, [hex(leafId), hex(icaId), hex(devId)]);
    // a revoked leaf online: RIM_REVOCATION_FAILED
    answers.set(hex(leafId), () => ocspResponse(leafId, 'revoked', p.icaKey));
    const rv = await verifyRim(rim, { now: NOW, trustRoot, ocsp });
    assert.equal(rv.verdict.ok, false);
    assert.match(checkOf(rv.verdict, REV).detail, /^RIM_REVOCATION_FAILED: OCSP: Test Leaf: revoked: /);
  });
});

describe('NVIDIA RIM signing chain revocation (REAL RIMs)', () => {
  for (const name of [VBIOS_1A, DRIVER_545])
    it(`${name}: an empty bundle fails the check naming each certificate of the real chain; offline passes the rest`, async () => {
      const xml = rimText(name);
      const real = parseRim(xml).certificates;
      assert.equal(real.length, 4); // L4 signer, L3, CA, root
      const names = parseCertChain(real.map((c) => c.toString()).join('\n'));
      const r = await verifyRim(xml, { now: AT, ocsp: rimOcspFromBundle(bundleOf([]), AT) });
      assert.equal(r.verdict.ok, false);
      const c = checkOf(r.verdict, REV);
      assert.equal(c.outcome, 'fail');
      assert.match(c.detail, /^COLLATERAL_MISSING_ITEM: /);
      for (let i = 0; i < 3; i++) {
        const id = hex(certId(names[i]!, names[i + 1]!));
        const cn = commonName(names[i]!).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        assert.match(
          c.detail,
          new RegExp(
            `'${cn}' \\(serial [0-9A-F]+, issued by '[^']+'\\): COLLATERAL_MISSING_ITEM: .*\\(id ${id}\\)`,
          ),
        );
      }
      for (const x of r.verdict.checks)
        if (x.id !== REV) assert.equal(x.outcome, 'pass', `${x.id}: ${x.detail}`);
      // offline (no hook, allowed): ok
      const off = await verifyRim(xml, { now: AT, allowNotChecked: [REV] });
      assert.equal(off.verdict.ok, true);
      assert.equal(checkOf(off.verdict, REV).outcome, 'skip');
      // a response for the real signing leaf's CertID signed by another key
      const p = await pki();
      const leafId = certId(names[0]!, names[1]!);
      const forged = await verifyRim(xml, {
        now: AT,
        ocsp: rimOcspFromBundle(
          bundleOf([
            item(
              leafId,
              ocspResponse(leafId, 'good', p.otherKey, {
                thisUpdate: AT,
                nextUpdate: new Date(AT.getTime() + 86400_000),
              }),
            ),
          ]),
          AT,
        ),
      });
      assert.match(checkOf(forged.verdict, REV).detail, /: COLLATERAL_SIGNATURE_INVALID: nvidia-ocsp/);
    });
});
