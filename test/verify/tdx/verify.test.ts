import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTdxPolicy, TdxError, verifyTdxQuote } from '../../../src/verify/tdx/index.ts';
import type { Verdict } from '../../../src/verify/types.ts';
import { COLLATERAL_FOR, collateral, EXPECTED, hex, QUOTES, quoteBytes } from './helpers.ts';

const outcome = (v: Verdict, id: string) => v.checks.find((c) => c.id === id)?.outcome;
const SIG_AND_CHAIN = [
  'tdx.quote.format',
  'tdx.quote.signature',
  'tdx.qe.report-signature',
  'tdx.qe.report-data',
  'tdx.pck.chain',
  'tdx.pck.issuer',
  'tdx.pck.extensions',
];

describe('verifyTdxQuote on the vectors', () => {
  for (const name of QUOTES) {
    it(`${name}: signatures and PCK chain to the pinned root pass`, async () => {
      const { at } = COLLATERAL_FOR[name]!;
      const v = await verifyTdxQuote(quoteBytes(name), { now: new Date(at), policy: { allowDebug: true } });
      for (const id of SIG_AND_CHAIN)
        assert.equal(outcome(v, id), 'pass', `${id}: ${JSON.stringify(v.checks)}`);
      // Without collateral the verdict fails by default (TCB/revocation unchecked) ...
      assert.equal(outcome(v, 'tdx.collateral'), 'fail');
      assert.equal(v.ok, false);
      // ... and passes the signature-only policy when collateral is explicitly not required.
      const v2 = await verifyTdxQuote(quoteBytes(name), {
        now: new Date(at),
        policy: { allowDebug: true, requireCollateral: false },
      });
      assert.equal(v2.ok, true, JSON.stringify(v2.checks.filter((c) => c.outcome === 'fail')));
      assert.equal(outcome(v2, 'tdx.collateral'), 'skip');
    });
    it(`${name}: collateral signatures, CRLs and identities verify`, async () => {
      const { collateral: cols, at } = COLLATERAL_FOR[name]!;
      const v = await verifyTdxQuote(quoteBytes(name), {
        now: new Date(at),
        collateral: collateral(...cols),
        policy: { allowDebug: true },
      });
      for (const id of [
        'tdx.crl.root',
        'tdx.crl.pck',
        'tdx.collateral.tcb-info.chain',
        'tdx.collateral.tcb-info.signature',
        'tdx.collateral.tcb-info.validity',
        'tdx.collateral.tcb-info.match',
        'tdx.collateral.qe-identity.chain',
        'tdx.collateral.qe-identity.signature',
        'tdx.collateral.qe-identity.validity',
        'tdx.qe.identity',
      ])
        assert.equal(outcome(v, id), 'pass', `${id}: ${v.checks.find((c) => c.id === id)?.detail}`);
    });
  }

  for (const e of EXPECTED.tcbEvaluation) {
    it(`TCB evaluation: ${e.quote} at ${e.at} (allowDebug=${e.allowDebug}) → ${e.status ?? e.error}`, async () => {
      const { collateral: cols } = COLLATERAL_FOR[e.quote]!;
      const v = await verifyTdxQuote(quoteBytes(e.quote), {
        now: new Date(e.at),
        collateral: collateral(...cols),
        policy: {
          allowDebug: e.allowDebug,
          acceptedTcbStatuses: ['UpToDate', 'SWHardeningNeeded', 'OutOfDate'],
        },
      });
      const tcb = v.fields?.tcb as { status: string | null; advisoryIds: string[]; error: string | null };
      if (e.error === 'Debug mode is enabled') {
        assert.equal(outcome(v, 'tdx.td.debug'), 'fail');
        assert.equal(v.ok, false);
      } else if (e.error) {
        assert.equal(tcb.error, e.error);
        assert.equal(outcome(v, 'tdx.tcb.level'), 'fail');
        assert.equal(v.ok, false);
      } else {
        assert.equal(tcb.status, e.status);
        assert.deepEqual(tcb.advisoryIds, [...(e.advisory_ids ?? [])].sort());
        assert.equal(v.ok, true, JSON.stringify(v.checks.filter((c) => c.outcome === 'fail')));
      }
    });
  }

  it('v5 TDX 1.5 quote with 2026-03 collateral: UpToDate through TDX module identity TDX_01', async () => {
    const v = await verifyTdxQuote(quoteBytes('quote-v5-gotdxguest.dat'), {
      now: new Date('2026-04-01T00:00:00Z'),
      collateral: collateral('collateral-2026-03'),
    });
    assert.equal(v.ok, true, JSON.stringify(v.checks.filter((c) => c.outcome === 'fail')));
    const tcb = v.fields?.tcb as Record<string, unknown>;
    assert.equal(tcb.status, 'UpToDate');
    assert.equal(tcb.tdxModuleStatus, 'UpToDate');
  });

  it('debug TD: rejected by default, evaluated (OutOfDate) when debug is allowed', async () => {
    const opts = { now: new Date('2026-04-01T00:00:00Z'), collateral: collateral('collateral-2026-03') };
    const def = await verifyTdxQuote(quoteBytes('quote-v4-debugtd.dat'), opts);
    assert.equal(def.ok, false);
    assert.equal(outcome(def, 'tdx.td.debug'), 'fail');
    const allowed = await verifyTdxQuote(quoteBytes('quote-v4-debugtd.dat'), {
      ...opts,
      policy: { allowDebug: true },
    });
    assert.equal(outcome(allowed, 'tdx.td.debug'), 'pass');
    // OutOfDate is not in the default accepted statuses: still rejected, for the TCB reason.
    assert.equal(outcome(allowed, 'tdx.tcb.status'), 'fail');
    assert.equal((allowed.fields?.tcb as { status: string }).status, 'OutOfDate');
  });

  it('collateral outside its validity window is rejected', async () => {
    const col = collateral('quote-v4-phala-b0c06f.collateral.json');
    const q = quoteBytes('quote-v4-phala-b0c06f.dat');
    const late = await verifyTdxQuote(q, { now: new Date('2025-08-01T00:00:00Z'), collateral: col });
    assert.equal(late.ok, false);
    assert.equal(outcome(late, 'tdx.collateral.tcb-info.validity'), 'fail');
    assert.equal(outcome(late, 'tdx.collateral.qe-identity.validity'), 'fail');
    const early = await verifyTdxQuote(q, { now: new Date('2025-06-01T00:00:00Z'), collateral: col });
    assert.equal(early.ok, false);
    assert.equal(outcome(early, 'tdx.collateral.tcb-info.validity'), 'fail');
  });

  it('expected REPORT_DATA binding', async () => {
    const name = 'quote-v4-phala-b0c06f.dat';
    const exp = EXPECTED.quotes.find((q) => q.file === name)!;
    const base = {
      now: new Date('2025-07-01T00:00:00Z'),
      collateral: collateral('quote-v4-phala-b0c06f.collateral.json'),
    };
    const good = await verifyTdxQuote(quoteBytes(name), {
      ...base,
      expectedReportData: new Uint8Array(Buffer.from(exp.reportData, 'hex')),
    });
    assert.equal(good.ok, true);
    assert.equal(outcome(good, 'tdx.report-data'), 'pass');
    const wrong = new Uint8Array(Buffer.from(exp.reportData, 'hex'));
    wrong[63]! ^= 1;
    const bad = await verifyTdxQuote(quoteBytes(name), { ...base, expectedReportData: wrong });
    assert.equal(bad.ok, false);
    assert.equal(outcome(bad, 'tdx.report-data'), 'fail');
  });

  it('measurement allow-lists (MRTD, RTMRs, MRSEAM, MRCONFIGID, MROWNER, MROWNERCONFIG)', async () => {
    const name = 'quote-v4-phala-b0c06f.dat';
    const exp = EXPECTED.quotes.find((q) => q.file === name)!;
    const base = {
      now: new Date('2025-07-01T00:00:00Z'),
      collateral: collateral('quote-v4-phala-b0c06f.collateral.json'),
    };
    const actual = {
      mrTd: exp.mrTd,
      rtmr0: exp.rtmr[0]!,
      rtmr1: exp.rtmr[1]!,
      rtmr2: exp.rtmr[2]!,
      rtmr3: exp.rtmr[3]!,
      mrConfigId: exp.mrConfigId,
      mrOwner: exp.mrOwner,
      mrOwnerConfig: exp.mrOwnerConfig,
      mrSeam: exp.mrSeam,
    };
    const all = parseTdxPolicy({
      tdx: Object.fromEntries(Object.entries(actual).map(([k, v]) => [k, ['00'.repeat(48), v]])),
    });
    const ok = await verifyTdxQuote(quoteBytes(name), { ...base, policy: all });
    assert.equal(ok.ok, true, JSON.stringify(ok.checks.filter((c) => c.outcome === 'fail')));
    assert.equal(ok.checks.filter((c) => c.id.startsWith('tdx.policy.')).length, 9);
    for (const k of Object.keys(actual)) {
      const p = parseTdxPolicy({ tdx: { [k]: ['11'.repeat(48)] } });
      const v = await verifyTdxQuote(quoteBytes(name), { ...base, policy: p });
      assert.equal(v.ok, false, k);
      assert.equal(outcome(v, `tdx.policy.${k}`), 'fail', k);
    }
  });

  it('accepted TCB statuses and rejected advisories are enforced', async () => {
    const base = {
      now: new Date('2025-07-01T00:00:00Z'),
      collateral: collateral('quote-v4-phala-b0c06f.collateral.json'),
    };
    const q = quoteBytes('quote-v4-phala-b0c06f.dat');
    const v = await verifyTdxQuote(q, { ...base, policy: { acceptedTcbStatuses: ['SWHardeningNeeded'] } });
    assert.equal(v.ok, false);
    assert.equal(outcome(v, 'tdx.tcb.status'), 'fail');
    const d = await verifyTdxQuote(quoteBytes('quote-v4-debugtd.dat'), {
      now: new Date('2026-04-01T00:00:00Z'),
      collateral: collateral('collateral-2026-03'),
      policy: { allowDebug: true, acceptedTcbStatuses: ['OutOfDate'], rejectAdvisories: ['INTEL-SA-00837'] },
    });
    assert.equal(outcome(d, 'tdx.tcb.status'), 'pass');
    assert.equal(outcome(d, 'tdx.tcb.advisories'), 'fail');
    assert.equal(d.ok, false);
  });

  it('policy parsing rejects bad input with TDX_POLICY', () => {
    for (const bad of [
      null,
      [],
      { tdx: { mrTd: ['xyz'] } },
      { tdx: { allowDebug: 'yes' } },
      { tdx: { acceptedTcbStatuses: ['Fine'] } },
      { tdx: { unknownKey: 1 } },
    ]) {
      assert.throws(
        () => parseTdxPolicy(bad),
        (e: unknown) => e instanceof TdxError && e.code === 'TDX_POLICY',
      );
    }
    assert.deepEqual(parseTdxPolicy({ tdx: { allowDebug: true } }), { allowDebug: true });
  });

  it('a collateral bundle for another FMSPC or missing pieces is rejected', async () => {
    const q = quoteBytes('quote-v5-gotdxguest.dat');
    const v = await verifyTdxQuote(q, {
      now: new Date('2023-07-01T00:00:00Z'),
      collateral: collateral('collateral-2023-06'),
    });
    assert.equal(outcome(v, 'tdx.collateral.tcb-info'), 'fail');
    assert.equal(v.ok, false);
    // 2026-02 holds only a TCB Info: no QE identity, CRLs or signing chain.
    const p = await verifyTdxQuote(q, {
      now: new Date('2026-02-15T00:00:00Z'),
      collateral: collateral('collateral-2026-02'),
    });
    assert.equal(outcome(p, 'tdx.crl.root'), 'fail');
    assert.equal(outcome(p, 'tdx.crl.pck'), 'fail');
    assert.equal(outcome(p, 'tdx.collateral.qe-identity'), 'fail');
    assert.equal(outcome(p, 'tdx.collateral.tcb-info.chain'), 'fail');
    assert.equal(p.ok, false);
    // Filled in from the 2026-03 bundle, the 2026-02 TCB Info verifies with the 2025 TCB Signing cert.
    const m = await verifyTdxQuote(q, {
      now: new Date('2026-02-15T00:00:00Z'),
      collateral: collateral('collateral-2026-02', 'collateral-2026-03'),
    });
    assert.equal(outcome(m, 'tdx.collateral.tcb-info.signature'), 'pass');
    assert.equal(outcome(m, 'tdx.collateral.tcb-info.validity'), 'pass');
  });

  it('garbage input is a failed format check, not an exception', async () => {
    for (const b of [new Uint8Array(0), new Uint8Array(100), new Uint8Array(5000).fill(0xff)]) {
      const v = await verifyTdxQuote(b);
      assert.equal(v.ok, false);
      assert.equal(outcome(v, 'tdx.quote.format'), 'fail');
    }
  });

  it('reports the parsed TD report fields as hex', async () => {
    const v = await verifyTdxQuote(quoteBytes('quote-v5-gotdxguest.dat'), {
      now: new Date('2026-04-01T00:00:00Z'),
    });
    const td = v.fields?.td as Record<string, string>;
    const exp = EXPECTED.quotes.find((q) => q.file === 'quote-v5-gotdxguest.dat')!;
    assert.equal(td.mrTd, exp.mrTd);
    assert.equal(td.teeTcbSvn2, exp.teeTcbSvn2);
    assert.equal(td.tdxVersion, '1.5');
    assert.equal(hex(Buffer.from(td.reportData!, 'hex')), exp.reportData);
  });
});
