/**
 * The guest API's GPU verifier (attest_gpu's `verify`, gpuEvidenceVerifier): the revocation of the RIM
 * signing chains ('nvidia.rim.chain.revocation') and of the GPU device chain ('nvidia.chain.revocation')
 * from an offline collateral bundle, from NVIDIA's OCSP responder, or not checked — on the REAL Hopper
 * CoCo evidence (test/data/nvidia/rim, driver 580.95.05, VBIOS 96.00.74.00.1A).
 * Only NVIDIA can sign a good OCSP response for its real chains, so the positive path uses the real
 * VBIOS RIM's content RE-SIGNED by the synthetic test PKI (test/verify/nvidia/ocsp-pki.ts: leaf ← ica ←
 * dev ← root), trusted explicitly (rimTrustRoot, tests only), with its index-9 golden value set to what
 * the evidence reports (docs/reference-values.md, "The index-9 finding"); the device chain is NVIDIA's,
 * so a bundle can only show its negative paths.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseSpdmEvidence } from '../../src/formats/nvidia/spdm.ts';
import { gpuEvidenceVerifier, HostError } from '../../src/host/index.ts';
import { commonName, parseCertChain } from '../../src/verify/nvidia/certs.ts';
import { certId } from '../../src/verify/nvidia/ocsp.ts';
import type { CollateralBundle, CollateralItem } from '../../src/verify/reference/collateral.ts';
import { makeItem } from '../../src/verify/reference/collateral-fetch.ts';
import type { Check, Verdict } from '../../src/verify/types.ts';
import { certIdOfRequest, ocspResponse, pki } from '../verify/nvidia/ocsp-pki.ts';
import { signRim } from '../verify/nvidia/rim-sign.ts';

const RIM_DIR = new URL('../data/nvidia/rim/', import.meta.url);
const rimText = (n: string) => readFileSync(new URL(n, RIM_DIR), 'utf8');
const VBIOS = '1010_0200_882_960074001A_PROD.swidtag';
/** Inside the validity of the real RIM signing chains and of the evidence's device chain. */
const AT = new Date('2024-06-01T00:00:00Z');
const REV = 'nvidia.rim.chain.revocation';
const DEV = 'nvidia.chain.revocation';
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function cocoEvidence() {
  let bytes = Buffer.from(rimText('hopper_coco_report1.txt').trim(), 'hex');
  bytes = bytes.subarray(0, bytes.length - 1); // the stray trailing byte (test/data/nvidia/rim/README.md)
  const spdm = parseSpdmEvidence(new Uint8Array(bytes));
  return {
    spdm,
    evidence: {
      arch: 'HOPPER',
      evidence: bytes.toString('base64'),
      certificate: Buffer.from(rimText('hopper_coco_certs1.txt')).toString('base64'),
      nonce: hex(spdm.request.nonce),
    } as Record<string, unknown>,
    nonce: new Uint8Array(spdm.request.nonce),
  };
}

const bundleOf = (items: CollateralItem[]): CollateralBundle => ({
  format: 'wasmvm-tee/collateral-bundle/v1',
  createdAt: AT.toISOString(),
  items,
});
const checksOf = (v: Verdict, id: string): Check[] => v.checks.filter((c) => c.id === id);
const only = (v: Verdict, id: string): Check => {
  const c = checksOf(v, id);
  assert.equal(c.length, 1, `${id}: ${JSON.stringify(v.checks.map((x) => x.id))}`);
  return c[0]!;
};

describe('attest_gpu verifier: revocation of the RIM signing chain and the device chain', async () => {
  const p = await pki();
  const { spdm, evidence, nonce } = cocoEvidence();
  // the device chain's OCSP targets (every certificate but the DICE leaf and the root)
  const dc = parseCertChain(rimText('hopper_coco_certs1.txt'));
  const deviceNames = dc.slice(1, -1).map((c) => commonName(c));
  assert.equal(deviceNames.length, 3);
  // the real VBIOS RIM's content, index 9 = the evidence's SPDM block 10, re-signed by the test PKI
  const block10 = hex(spdm.response.blocks.find((b) => b.index === 10)!.value);
  const edited = rimText(VBIOS).replace(/ns2:Hash0="7f3e9382[0-9a-f]*"/, `ns2:Hash0="${block10}"`);
  assert.notEqual(edited, rimText(VBIOS));
  const rim = signRim(edited, p.leafKey, [p.leaf, p.ica, p.dev, p.root]);
  const rimTrustRoot = p.root.parsed.toString('pem');
  const ids = {
    leaf: certId(p.leaf, p.ica),
    ica: certId(p.ica, p.dev),
    dev: certId(p.dev, p.root),
  };
  const validity = {
    thisUpdate: new Date(AT.getTime() - 3600_000),
    nextUpdate: new Date(AT.getTime() + 86400_000),
  };
  const response = (id: Uint8Array, status: 'good' | 'revoked', key = p.icaKey) =>
    makeItem('nvidia-ocsp', hex(id), 'test', ocspResponse(id, status, key, validity));
  const good = () => [
    response(ids.leaf, 'good', p.icaKey),
    response(ids.ica, 'good', p.devKey),
    response(ids.dev, 'good', p.rootKey),
  ];
  // what the policy's gpu.referenceValues holds: the RIM (no driver RIM given: allowed) and the ids
  // that may stay not checked
  const rv = (allow: string[] = []) => ({ rims: [rim], allowNotChecked: ['nvidia.rim.driver', ...allow] });
  const verifier = (o: Parameters<typeof gpuEvidenceVerifier>[0] = {}) =>
    gpuEvidenceVerifier({ now: () => AT, rimTrustRoot, ...o });

  it('no bundle: the RIM chain revocation is not checked and fails the verdict unless allowed by name', async () => {
    const v = await verifier()(evidence, nonce, { referenceValues: rv([DEV]) });
    const c = only(v, REV);
    assert.equal(c.outcome, 'skip');
    assert.match(c.detail, /^RIM_NOT_CHECKED: /);
    assert.equal(v.ok, false);
    assert.equal(only(v, DEV).outcome, 'skip');
    // the same with the check allowed: everything else passes (12 of 12 measurements, the nonce, ...)
    const allowed = await verifier()(evidence, nonce, { referenceValues: rv([DEV, REV]) });
    assert.equal(allowed.ok, true, JSON.stringify(allowed.checks, null, 1));
    assert.equal(only(allowed, 'nvidia.rim.measurements').outcome, 'pass');
    assert.equal(only(allowed, REV).outcome, 'skip');
    // the device chain's revocation is not checked either: with RIMs the appraisal is strict, so it
    // fails the verdict too unless allowed by name
    const device = await verifier()(evidence, nonce, { referenceValues: rv([REV]) });
    assert.equal(only(device, DEV).outcome, 'skip');
    assert.match(
      only(device, DEV).detail,
      /^offline: OCSP revocation status of the device chain not checked/,
    );
    assert.equal(device.ok, false);
  });

  it('an empty bundle: the RIM chain revocation FAILS with COLLATERAL_MISSING_ITEM, naming each certificate', async () => {
    const v = await verifier({ collateral: bundleOf([]) })(evidence, nonce, { referenceValues: rv([DEV]) });
    assert.equal(v.ok, false);
    const c = only(v, REV);
    assert.equal(c.outcome, 'fail');
    assert.match(c.detail, /^COLLATERAL_MISSING_ITEM: OCSP from the collateral bundle/);
    for (const n of ['Test Leaf', 'Test ICA', 'Test Device'])
      assert.match(
        c.detail,
        new RegExp(`'${n}' \\(serial [0-9A-F]+, issued by '[^']+'\\): COLLATERAL_MISSING_ITEM`),
      );
    // the device chain was allowed to stay not checked: its (missing) items are not used
    assert.equal(only(v, DEV).outcome, 'skip');
  });

  it('an irrelevant bundle (responses for other certificates): both chains FAIL with COLLATERAL_MISSING_ITEM', async () => {
    const other = certId(p.responder, p.root);
    const bundle = bundleOf([response(other, 'good', p.rootKey)]);
    const v = await verifier({ collateral: bundle })(evidence, nonce, { referenceValues: rv() });
    assert.equal(v.ok, false);
    const r = only(v, REV);
    assert.equal(r.outcome, 'fail');
    assert.equal(r.detail.match(/: COLLATERAL_MISSING_ITEM: /g)?.length, 3);
    const d = only(v, DEV);
    assert.equal(d.outcome, 'fail');
    assert.match(d.detail, /^COLLATERAL_MISSING_ITEM: /);
    for (const n of deviceNames) assert.ok(d.detail.includes(`'${n}'`), `${n}: ${d.detail}`);
    // the plain-JSON path (no RIMs in the reference values) checks the device chain the same way
    const plain = await verifier({ collateral: bundle })(evidence, nonce, {});
    assert.equal(plain.ok, false);
    assert.match(only(plain, DEV).detail, /^COLLATERAL_MISSING_ITEM: /);
    assert.equal(only(await verifier()(evidence, nonce, {}), DEV).outcome, 'skip');
  });

  it('a bundle with good responses for the RIM chain: the revocation check passes and so does the verdict', async () => {
    const v = await verifier({ collateral: bundleOf(good()) })(evidence, nonce, {
      referenceValues: rv([DEV]),
    });
    const c = only(v, REV);
    assert.equal(c.outcome, 'pass', c.detail);
    for (const n of ['Test Leaf', 'Test ICA', 'Test Device'])
      assert.match(c.detail, new RegExp(`'${n}' .*: good`));
    assert.equal(v.ok, true, JSON.stringify(v.checks, null, 1));
    // the bundle is read at the verification time: a day later the responses are past nextUpdate
    const late = await gpuEvidenceVerifier({
      collateral: bundleOf(good()),
      rimTrustRoot,
      now: () => new Date(AT.getTime() + 2 * 86400_000),
    })(evidence, nonce, { referenceValues: rv([DEV]) });
    assert.match(only(late, REV).detail, /^COLLATERAL_EXPIRED: /);
    assert.equal(late.ok, false);
  });

  it('a bundle saying the RIM signing leaf is revoked: fails with OCSP_REVOKED', async () => {
    const items = [response(ids.leaf, 'revoked', p.icaKey), ...good().slice(1)];
    const v = await verifier({ collateral: bundleOf(items) })(evidence, nonce, {
      referenceValues: rv([DEV]),
    });
    assert.equal(v.ok, false);
    const c = only(v, REV);
    assert.equal(c.outcome, 'fail');
    assert.match(c.detail, /^OCSP_REVOKED: /);
    assert.match(c.detail, /'Test Leaf' .*OCSP_REVOKED/);
  });

  it('an allowed id leaves that bundle items unused (not checked), as verify --collateral does', async () => {
    const items = [response(ids.leaf, 'revoked', p.icaKey), ...good().slice(1)];
    const v = await verifier({ collateral: bundleOf(items) })(evidence, nonce, {
      referenceValues: rv([DEV, REV]),
    });
    assert.equal(only(v, REV).outcome, 'skip');
    assert.equal(v.ok, true);
  });

  it('online: both chains are asked, the RIM chain with its signing leaf', async () => {
    const asked: string[] = [];
    const answers = new Map(good().map((i) => [i.id, Buffer.from(i.body, 'base64')]));
    const net = (async (_url: string, init: { body: Uint8Array }) => {
      const id = hex(certIdOfRequest(new Uint8Array(init.body)));
      asked.push(id);
      // NVIDIA's device chain: answered with a response no NVIDIA key signed
      return new Response(
        answers.get(id) ?? Buffer.from(ocspResponse(Buffer.from(id, 'hex'), 'good', p.otherKey, validity)),
      );
    }) as unknown as typeof fetch;
    const v = await verifier({ ocspOnline: true, fetch: net })(evidence, nonce, { referenceValues: rv() });
    assert.deepEqual(asked.filter((a) => answers.has(a)).sort(), [...answers.keys()].sort());
    assert.equal(asked.length, 6); // + the device chain's three
    assert.equal(only(v, REV).outcome, 'pass', only(v, REV).detail);
    const d = only(v, DEV);
    assert.equal(d.outcome, 'fail');
    assert.match(d.detail, /not signed by the issuer or an authorised responder/);
    assert.equal(v.ok, false);
  });

  it('a bundle and the online responder together are refused', () => {
    assert.throws(
      () => gpuEvidenceVerifier({ collateral: bundleOf([]), ocspOnline: true }),
      (e: unknown) => e instanceof HostError && e.code === 'HOST_INVALID_ARGUMENT',
    );
  });
});
