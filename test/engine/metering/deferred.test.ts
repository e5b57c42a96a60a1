/**
 * Deferred gas checks are unobservable: on random generated modules (B2's generator), every probe gives
 * the same status, value, trap code, memory and clamped gasUsed with deferred checks and with a check on
 * every metered block, at unlimited gas and at limits that run out at many different points.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { instrument } from '../../../src/engine/instrument/index.ts';
import { generateModule, probeArgs, Rng } from '../../fuzz/gen.ts';
import { type CallOutcome, runCall, UNLIMITED_GAS } from '../../fuzz/harness.ts';
import { wat } from '../../wasm/wat.ts';

function norm(o: CallOutcome, limit: bigint) {
  const used = o.gasUsed === undefined ? undefined : BigInt(o.gasUsed);
  return { ...o, message: undefined, gasUsed: used === undefined ? undefined : used > limit ? limit : used };
}

test('deferred checks vs checking every block: identical outcomes on generated modules', async () => {
  let calls = 0;
  let outOfGas = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const g = generateModule(seed);
    const bin = await wat(g.wat);
    const lazy = new WebAssembly.Module(instrument(bin, { canonicalizeNaN: true }).bytes);
    const eager = new WebAssembly.Module(
      instrument(bin, { canonicalizeNaN: true, gas: { checkEveryBlock: true } }).bytes,
    );
    const r = new Rng(seed * 7919);
    for (const p of g.probes) {
      const args = probeArgs(r, p.params);
      const full = runCall(eager, { probe: p.name, args }, UNLIMITED_GAS);
      const total = full.gasUsed === undefined ? 1000n : BigInt(full.gasUsed);
      const limits = new Set<bigint>([UNLIMITED_GAS, total, total - 1n, total / 2n, total / 3n, 7n, 1n, 0n]);
      for (let k = 0; k < 4; k++) limits.add(BigInt(r.int(Number(total > 1n ? total : 2n))));
      for (const limit of limits) {
        if (limit < 0n) continue;
        const call = { probe: p.name, args };
        const a = norm(runCall(lazy, call, limit), limit);
        const b = norm(runCall(eager, call, limit), limit);
        assert.deepEqual(a, b, `seed ${seed} probe ${p.name} limit ${limit}`);
        calls++;
        if (b.trapCode === 1) outOfGas++;
      }
    }
  }
  assert.ok(calls > 200 && outOfGas > 50, `${calls} calls, ${outOfGas} out of gas`);
});
