/** TDX evidence through the whole pipeline: Attester (src/tee) → envelope → verifyExecution (src/verify). */
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { claimFromExecution, reportDataFor } from '../../../src/binding/index.ts';
import type { ExecuteResult } from '../../../src/engine/types.ts';
import { Attester } from '../../../src/tee/index.ts';
import { createTdxPki, SimulatedTdxProvider, type TdxPki } from '../../../src/tee/tdx/simulated.ts';
import { parseTdxQuote, verifyExecution, verifyTdxQuote } from '../../../src/verify/index.ts';
import type { Verdict } from '../../../src/verify/types.ts';

const bytecode = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
const result: ExecuteResult = {
  status: 'ok',
  outputs: [{ type: 'i32', value: 7 }],
  gasUsed: 10n,
  costTableVersion: 'test-v1',
  bytecodeSha256: createHash('sha256').update(bytecode).digest('hex'),
  mode: 'singlepass',
  stdout: new Uint8Array(),
  durationMs: 1,
  cacheHit: false,
};
const claim = claimFromExecution(
  { bytecode, fn: 'f', inputs: [], mode: 'singlepass', nonce: Uint8Array.of(1, 2, 3), requestId: 'tdx-1' },
  result,
);
const all = (v: Verdict): { id: string; outcome: string }[] => [...v.checks, ...(v.parts ?? []).flatMap(all)];

describe('TDX evidence in an execution envelope', () => {
  let pki: TdxPki;
  before(async () => {
    pki = await createTdxPki();
  });

  for (const version of [4, 5] as const) {
    it(`quote v${version}: REPORT_DATA binds the claim; the SIMULATED chain is rejected unless trusted`, async () => {
      const attester = new Attester(new SimulatedTdxProvider({ warn: false, pki, version }));
      const r = await attester.attestExecution(claim, 'per-request');
      const env = r.envelope as unknown as { evidence: { kind: string; report: string } };
      assert.equal(env.evidence.kind, 'tdx');
      const v = await verifyExecution(r.json, { freshness: 'skip' });
      assert.equal(v.ok, false);
      const checks = all(v);
      assert.ok(
        checks.some((c) => c.id === 'tdx.report-data' && c.outcome === 'pass'),
        JSON.stringify(checks),
      );
      assert.ok(checks.some((c) => c.id === 'tdx.quote.signature' && c.outcome === 'pass'));
      assert.ok(checks.some((c) => c.id === 'tdx.simulated' && c.outcome === 'fail'));
      // The same quote verified directly with its simulated root trusted: everything passes.
      const quote = parseTdxQuote(
        (await new SimulatedTdxProvider({ warn: false, pki, version }).getEvidence(reportDataFor(r.claim)))
          .report,
      );
      const d = await verifyTdxQuote(
        (await new SimulatedTdxProvider({ warn: false, pki, version }).getEvidence(reportDataFor(r.claim)))
          .report,
        { expectedReportData: reportDataFor(r.claim), trustSimulatedRoots: [pki.rootDer] },
      );
      assert.equal(quote.header.version, version);
      assert.equal(d.ok, true, JSON.stringify(d.checks.filter((c) => c.outcome === 'fail')));
      assert.equal(d.checks.find((c) => c.id === 'tdx.collateral')?.outcome, 'skip');
    });
  }
});
