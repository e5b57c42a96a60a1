/**
 * Look-alike PKI: chains and collateral signed by a self-made root that copies Intel's names (and the real
 * PCK's SGX extensions) must be rejected; so must SIMULATED quotes.
 */
import * as assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import {
  buildSimulatedTdxQuote,
  createTdxPki,
  INTEL_NAMES,
  SimulatedTdxProvider,
  signCollateralJson,
  signTdxQuote,
  type TdxPki,
} from '../../../src/tee/tdx/simulated.ts';
import {
  collateralFromJson,
  parsePckExtensions,
  parseTdxQuote,
  pemToDerList,
  verifyTdxQuote,
} from '../../../src/verify/tdx/index.ts';
import type { Verdict } from '../../../src/verify/types.ts';
import { DATA, quoteBytes } from './helpers.ts';

const outcome = (v: Verdict, id: string) => v.checks.find((c) => c.id === id)?.outcome;
const NOW = new Date('2025-07-01T00:00:00Z');
const COL_TEXT = readFileSync(join(DATA, 'quote-v4-phala-b0c06f.collateral.json'), 'utf8');
const REAL = quoteBytes('quote-v4-phala-b0c06f.dat');
const pem = (der: Uint8Array) =>
  `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64')}\n-----END CERTIFICATE-----\n`;

describe('look-alike Intel PKI is rejected', () => {
  let fake: TdxPki;
  before(async () => {
    const realPck = pemToDerList(parseTdxQuote(REAL).qeCert!.inner.data)[0]!;
    const ext = parsePckExtensions(realPck);
    fake = await createTdxPki({
      names: INTEL_NAMES,
      fmspc: ext.fmspc,
      tcb: { components: ext.tcbComponents, pceSvn: ext.pceSvn },
      notBefore: new Date('2025-01-01T00:00:00Z'),
    });
  });

  it('the fake chain really carries Intel names and the real SGX extensions', () => {
    const root = new X509Certificate(fake.rootDer);
    assert.match(root.subject, /CN=Intel SGX Root CA/);
    assert.equal(parsePckExtensions(fake.pckDer).fmspc.length, 6);
  });

  it('a quote re-signed under a self-made "Intel SGX Root CA" fails the pinned-root chain check', async () => {
    const q = parseTdxQuote(REAL);
    const forged = signTdxQuote(q, fake);
    const v = await verifyTdxQuote(forged, { now: NOW, collateral: collateralFromJson(COL_TEXT) });
    // Everything the forger controls is internally consistent ...
    assert.equal(outcome(v, 'tdx.quote.signature'), 'pass');
    assert.equal(outcome(v, 'tdx.qe.report-signature'), 'pass');
    assert.equal(outcome(v, 'tdx.qe.report-data'), 'pass');
    // ... but the root is not the pinned one.
    assert.equal(outcome(v, 'tdx.pck.chain'), 'fail');
    assert.match(v.checks.find((c) => c.id === 'tdx.pck.chain')!.detail, /NOT the pinned Intel SGX Root CA/);
    assert.equal(v.ok, false);
  });

  it('without the fake root in the chain, or with the REAL root appended, it still fails', async () => {
    const realRootPem = readFileSync(join(DATA, 'intel-sgx-root-ca.pem'), 'latin1');
    for (const chain of [
      pem(fake.pckDer) + pem(fake.pckCaDer),
      pem(fake.pckDer) + pem(fake.pckCaDer) + realRootPem,
    ]) {
      const forged = signTdxQuote(parseTdxQuote(REAL), fake, chain);
      const v = await verifyTdxQuote(forged, { now: NOW, collateral: collateralFromJson(COL_TEXT) });
      assert.equal(outcome(v, 'tdx.pck.chain'), 'fail');
      assert.match(v.checks.find((c) => c.id === 'tdx.pck.chain')!.detail, /not signed by/);
      assert.equal(v.ok, false);
    }
  });

  it('TCB Info / QE identity signed by a look-alike "Intel SGX TCB Signing" cert are rejected', async () => {
    const doc = JSON.parse(COL_TEXT) as Record<string, string>;
    // Raise the TCB level claims in the TCB Info, then sign it with the fake TCB Signing key.
    const forgedTcb = doc.tcb_info!.replace(/"tcbStatus":"OutOfDate"/g, '"tcbStatus":"UpToDate"');
    const col = collateralFromJson(
      JSON.stringify({
        ...doc,
        tcb_info: forgedTcb,
        tcb_info_signature: signCollateralJson(fake, forgedTcb),
        tcb_info_issuer_chain: fake.tcbSigningChainPem,
        qe_identity_signature: signCollateralJson(fake, doc.qe_identity!),
        qe_identity_issuer_chain: fake.tcbSigningChainPem,
      }),
    );
    const v = await verifyTdxQuote(REAL, { now: NOW, collateral: col });
    assert.equal(outcome(v, 'tdx.collateral.tcb-info.signature'), 'pass'); // internally consistent
    assert.equal(outcome(v, 'tdx.collateral.tcb-info.chain'), 'fail');
    assert.equal(outcome(v, 'tdx.collateral.qe-identity.chain'), 'fail');
    assert.equal(v.ok, false);
    // The real chain with the forged signature: the signature check fails instead.
    const col2 = collateralFromJson(
      JSON.stringify({
        ...doc,
        tcb_info: forgedTcb,
        tcb_info_signature: signCollateralJson(fake, forgedTcb),
      }),
    );
    const v2 = await verifyTdxQuote(REAL, { now: NOW, collateral: col2 });
    assert.equal(outcome(v2, 'tdx.collateral.tcb-info.chain'), 'pass');
    assert.equal(outcome(v2, 'tdx.collateral.tcb-info.signature'), 'fail');
    assert.equal(v2.ok, false);
  });

  it('SIMULATED quotes (v4 and v5) are well-formed, self-consistent and rejected', async () => {
    const sim = await createTdxPki();
    for (const version of [4, 5] as const) {
      const rd = new Uint8Array(64).fill(7);
      const quote = buildSimulatedTdxQuote(sim, rd, { version });
      const q = parseTdxQuote(quote);
      assert.equal(q.header.version, version);
      assert.equal(!!q.body.teeTcbSvn2, version === 5);
      const v = await verifyTdxQuote(quote, { expectedReportData: rd, policy: { requireCollateral: false } });
      assert.equal(outcome(v, 'tdx.quote.signature'), 'pass');
      assert.equal(outcome(v, 'tdx.qe.report-signature'), 'pass');
      assert.equal(outcome(v, 'tdx.qe.report-data'), 'pass');
      assert.equal(outcome(v, 'tdx.report-data'), 'pass');
      assert.equal(outcome(v, 'tdx.pck.chain'), 'fail');
      assert.equal(outcome(v, 'tdx.pck.issuer'), 'fail'); // names say SIMULATED
      assert.equal(v.ok, false);
    }
    const p = new SimulatedTdxProvider({ warn: false, pki: sim });
    assert.equal(p.simulated, true);
    const ev = await p.getEvidence(new Uint8Array(64).fill(1));
    assert.equal(ev.kind, 'tdx');
    assert.equal(ev.simulated, true);
    assert.deepEqual(Buffer.from(parseTdxQuote(ev.report).body.reportData), Buffer.alloc(64, 1));
    await assert.rejects(p.getEvidence(new Uint8Array(10)));
  });
});
