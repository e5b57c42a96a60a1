/**
 * Differential fuzzing of the metering instrumentation: random valid modules, original vs
 * instrumented (unlimited gas, stack limiter on), and instrumented across V8 tiers.
 * FUZZ_ITERATIONS (default 120) and FUZZ_SEED (default 1) widen or move the run.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadInstrument } from '../spec/instrumenter.ts';
import { getWabt, watToBinary } from '../spec/runner.ts';
import { generateModule, probeArgs, Rng } from './gen.ts';
import { type Call, type CallOutcome, diffOutcome, runCall } from './harness.ts';
import { type Mode, runInMode } from './modes.ts';

const ITER = Number(process.env.FUZZ_ITERATIONS ?? 120);
const SEED = Number(process.env.FUZZ_SEED ?? 1);
const w = await getWabt();
const canon = await loadInstrument({ gas: {}, canonicalizeNaN: true });
const exact = await loadInstrument({ gas: {}, canonicalizeNaN: false });

interface Case {
  seed: number;
  bytes: Uint8Array;
  calls: (Call & { result: string })[];
}

function makeCase(seed: number, nanSafe: boolean): Case {
  const g = generateModule(seed, { nanSafe });
  const bytes = watToBinary(w, g.wat, `fuzz-${seed}.wat`);
  const r = new Rng(seed ^ 0x5eed);
  const calls = g.probes.flatMap((p) =>
    [0, 1].map(() => ({ probe: p.name, args: probeArgs(r, p.params), result: p.result })),
  );
  return { seed, bytes, calls };
}

function check(
  c: Case,
  instrument: (b: Uint8Array) => Uint8Array,
  nanModulo: boolean,
): { calls: number; gas: bigint } {
  const orig = new WebAssembly.Module(c.bytes);
  const inst = new WebAssembly.Module(instrument(c.bytes));
  let gas = 0n;
  for (const call of c.calls) {
    const a = runCall(orig, call);
    const b = runCall(inst, call);
    const d = diffOutcome(a, b, call.result, { nanModulo });
    assert.equal(d, '', `seed ${c.seed} ${call.probe}(${call.args.join(', ')}): ${d}`);
    const again = runCall(inst, call);
    assert.deepEqual(again, b, `seed ${c.seed} ${call.probe}: repeated run differs`);
    gas += BigInt(b.gasUsed ?? 0);
  }
  return { calls: c.calls.length, gas };
}

test(`fuzz: instrumented (gas + stack, NaN canonicalization on) = original modulo NaN, ${ITER} modules`, (t) => {
  let calls = 0;
  let gas = 0n;
  for (let i = 0; i < ITER; i++) {
    const r = check(makeCase(SEED * 100003 + i, true), canon.instrument, true);
    calls += r.calls;
    gas += r.gas;
  }
  t.diagnostic(
    `${ITER} modules, ${calls} calls, total gas ${gas}${canon.real ? '' : ' (IDENTITY instrumentation)'}`,
  );
  if (canon.real) assert.ok(gas > 0n, 'gas is charged');
});

test(`fuzz: instrumented (gas + stack, no NaN canonicalization) = original bit for bit, ${ITER} modules`, (t) => {
  let calls = 0;
  for (let i = 0; i < ITER; i++)
    calls += check(makeCase(SEED * 200003 + i, false), exact.instrument, false).calls;
  t.diagnostic(`${ITER} modules, ${calls} calls`);
});

test('fuzz: a NaN result of a canonicalized module is canonical or passed through unchanged', (t) => {
  let nans = 0;
  let canonical = 0;
  for (let i = 0; i < ITER; i++) {
    const c = makeCase(SEED * 300007 + i, false);
    const orig = new WebAssembly.Module(c.bytes);
    const inst = new WebAssembly.Module(canon.instrument(c.bytes));
    for (const call of c.calls) {
      const o = runCall(inst, call);
      if (o.status !== 'ok' || (call.result !== 'f32' && call.result !== 'f64')) continue;
      const f32 = call.result === 'f32';
      const v = BigInt(o.value!);
      const bits = f32 ? BigInt.asUintN(32, v) : BigInt.asUintN(64, v);
      const mag = bits & (f32 ? 0x7fffffffn : 0x7fffffffffffffffn);
      if (mag <= (f32 ? 0x7f800000n : 0x7ff0000000000000n)) continue;
      nans++;
      if (mag === (f32 ? 0x7fc00000n : 0x7ff8000000000000n)) {
        canonical++;
        continue;
      }
      // not canonical: only a NaN that reached the result without arithmetic (argument, load,
      // reinterpret, abs/neg/copysign) may keep its payload, so the original must give the same bits
      const a = runCall(orig, call);
      assert.equal(
        a.value,
        o.value,
        `seed ${c.seed} ${call.probe}(${call.args.join(', ')}): non-canonical NaN`,
      );
    }
  }
  t.diagnostic(`${nans} NaN results checked, ${canonical} canonical`);
});

test('fuzz: instrumented modules give identical results, traps, memory and gas in all three V8 tiers', async (t) => {
  const n = Math.max(10, Math.floor(ITER / 3));
  const cases = Array.from({ length: n }, (_, i) => makeCase(SEED * 400009 + i, false));
  const jobs = cases.map((c) => ({ wasm: canon.instrument(c.bytes), calls: c.calls }));
  const modes: Mode[] = ['interp', 'singlepass', 'multipass'];
  const results = await Promise.all(modes.map((m) => runInMode(m, jobs)));
  const base: CallOutcome[][] = results[0]!;
  let calls = 0;
  for (let m = 1; m < modes.length; m++)
    cases.forEach((c, i) => {
      c.calls.forEach((call, k) => {
        calls++;
        assert.deepEqual(
          results[m]![i]![k],
          base[i]![k],
          `seed ${c.seed} ${call.probe}(${call.args.join(', ')}): ${modes[m]} vs interp`,
        );
      });
    });
  t.diagnostic(
    `${n} modules, ${calls / 2} calls x 3 tiers${canon.real ? '' : ' (IDENTITY instrumentation)'}`,
  );
});
