/**
 * GPU evidence cannot be stripped or swapped (issue 13 item 5): its nonce derives from the claim's input
 * side (gpuBindingData, with the client's nonce) and its digest is in the claim's output side.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ClaimDraft } from '../../src/binding/index.ts';
import { Attester, createSimulatedGpu, SimulatedSevSnpProvider } from '../../src/tee/index.ts';
import { gpuNonceFor, type Verdict, verifyExecution } from '../../src/verify/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'wasmvm-gpu-binding-'));
const provider = new SimulatedSevSnpProvider({ stateDir: join(dir, 'sim'), rsaBits: 2048, warn: false });
after(() => rmSync(dir, { recursive: true, force: true }));

const draft = (nonce: number, gpuRequested: boolean): ClaimDraft => ({
  bytecodeSha256: 'ab'.repeat(32),
  fn: 'f',
  inputs: [{ type: 'i32', value: nonce }],
  mode: 'interp',
  nonce: Uint8Array.of(nonce),
  meter: false,
  attestationRequested: 'default',
  gpuRequested,
  status: 'ok',
  outputs: [],
  executedMode: 'interp',
});
const failed = (v: Verdict): string[] => [
  ...v.checks.filter((c) => c.outcome === 'fail').map((c) => c.id),
  ...(v.parts ?? []).flatMap(failed),
];

for (const mode of ['per-request', 'session-key'] as const) {
  describe(`GPU evidence binding (${mode})`, () => {
    it('attached evidence verifies; stripped, swapped or pasted evidence is rejected', async () => {
      const gpu = await createSimulatedGpu({ count: 1 });
      const attester = new Attester(provider);
      const collect = { gpu: (bd: Uint8Array) => gpu.collect(gpuNonceFor(bd)) };
      const a = await attester.attestExecution(draft(1, true), mode, collect);
      const b = await attester.attestExecution(draft(2, true), mode, collect);
      const plain = await attester.attestExecution(draft(3, false), mode);
      assert.match(a.claim.gpuEvidenceSha256 ?? '', /^[0-9a-f]{64}$/);
      const opts = (n: number) => ({ allowSimulated: true, nonce: Uint8Array.of(n) });
      const ok = await verifyExecution(a.json, opts(1));
      assert.deepEqual(failed(ok), []);
      const cases: Array<[string, unknown, number]> = [
        ['stripped', { ...a.envelope, gpu: undefined }, 1],
        ['emptied', { ...a.envelope, gpu: [] }, 1],
        ["swapped with B's", { ...a.envelope, gpu: b.envelope.gpu }, 1],
        ['pasted into a response without GPU evidence', { ...plain.envelope, gpu: a.envelope.gpu }, 3],
      ];
      for (const [name, env, n] of cases) {
        const v = await verifyExecution(JSON.stringify(env), opts(n));
        assert.equal(v.ok, false, name);
        assert.ok(failed(v).includes('binding.gpu'), `${name}: ${failed(v).join()}`);
      }
      // the server ignored the request for GPU evidence: rejected too
      const ignored = await attester.attestExecution(draft(4, true), mode);
      const v = await verifyExecution(ignored.json, opts(4));
      assert.ok(failed(v).includes('binding.gpu'), failed(v).join());
      assert.match(v.checks.find((c) => c.id === 'binding.gpu')!.detail, /asked for GPU evidence/);
    });
  });
}
