/**
 * The internal calling convention (docs/metering.md): which functions get it, their new signature, and
 * exact boundaries against the reference form on a recursive function: out of gas at exactly the
 * total gas minus one, stack exhaustion at exactly the same depth, out of gas winning over exhaustion
 * when both happen at the same call, and `__wasmvm_stack` back at 0 after a normal return.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { type InstrumentOptions, instrument } from '../../../src/engine/instrument/index.ts';
import { readModule } from '../../../src/wasm/index.ts';
import { wat } from '../../wasm/wat.ts';

const FIB = `(module
  (type $t (func (param i32) (result i32)))
  (func $fib (type $t) (param $n i32) (result i32)
    (if (result i32) (i32.lt_s (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func $leaf (param i64) (result i64) (i64.mul (local.get 0) (i64.const 3)))
  (func $tabled (type $t) (local.get 0))
  (func $refd (type $t) (local.get 0))
  (table 1 funcref)
  (elem (i32.const 0) $tabled)
  (global funcref (ref.func $refd))
  (func (export "run") (param i32) (result i32)
    (i32.add (call $fib (local.get 0)) (i32.wrap_i64 (call $leaf (i64.extend_i32_u (local.get 0))))))
  (func (export "deep") (param $d i32) (result i32)
    (if (result i32) (i32.eqz (local.get $d)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $down (i32.sub (local.get $d) (i32.const 1)))))))
  (func $down (param $d i32) (result i32)
    (if (result i32) (i32.eqz (local.get $d)) (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $down (i32.sub (local.get $d) (i32.const 1))))))))`;

interface R {
  value?: number;
  trap: number;
  gasUsed: bigint;
  stack: number;
}

function runner(bytes: Uint8Array) {
  const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as Record<string, unknown>;
  const g = (n: string) => ex[n] as WebAssembly.Global;
  return (name: string, arg: number, limit: bigint): R => {
    g('__wasmvm_gas').value = limit;
    g('__wasmvm_trap').value = 0;
    g('__wasmvm_stack').value = 0;
    let value: number | undefined;
    try {
      value = (ex[name] as (a: number) => number)(arg);
    } catch (e) {
      assert.ok(e instanceof WebAssembly.RuntimeError, String(e));
    }
    const used = limit - (g('__wasmvm_gas').value as bigint);
    return {
      value,
      trap: g('__wasmvm_trap').value as number,
      gasUsed: used > limit ? limit : used,
      stack: value === undefined ? -1 : (g('__wasmvm_stack').value as number),
    };
  };
}

async function both(opts: InstrumentOptions) {
  const bin = await wat(FIB);
  const o = instrument(bin, opts);
  const r = instrument(bin, { ...opts, reference: true });
  return { o, r, opt: runner(o.bytes), ref: runner(r.bytes) };
}

test('only functions reached by direct calls get the convention, with [P, i64, i32] -> [R, i64]', async () => {
  const { o, r } = await both({ gas: {}, stackLimit: 1000 });
  // $fib, $leaf and $down; not $tabled (element segment), $refd (global initializer) or the exports
  assert.equal(o.info.internalFunctions, 3);
  assert.equal(r.info.internalFunctions, 0);
  const m = readModule(o.bytes);
  const sig = (f: number) => {
    const t = m.types[m.functions[f]!]!;
    return `${t.params.join(' ')} -> ${t.results.join(' ')}`;
  };
  assert.equal(sig(0), 'i32 i64 i32 -> i32 i64');
  assert.equal(sig(1), 'i64 i64 i32 -> i64 i64');
  assert.equal(sig(2), 'i32 -> i32');
  assert.equal(sig(3), 'i32 -> i32');
  const stackOnly = readModule(instrument(await wat(FIB), { gas: false, stackLimit: 1000 }).bytes);
  const t6 = stackOnly.types[stackOnly.functions[6]!]!;
  assert.deepEqual([t6.params, t6.results], [['i32', 'i32'], ['i32']]);
  const gasOnly = readModule(instrument(await wat(FIB), { gas: {}, stackLimit: false }).bytes);
  const t0 = gasOnly.types[gasOnly.functions[0]!]!;
  assert.deepEqual(
    [t0.params, t0.results],
    [
      ['i32', 'i64'],
      ['i32', 'i64'],
    ],
  );
});

test('out of gas at exactly the reference boundary, through recursion', async () => {
  const { opt, ref } = await both({ gas: {}, stackLimit: 40_000 });
  for (const n of [0, 1, 2, 7, 15]) {
    const full = ref('run', n, 1n << 40n);
    assert.equal(full.trap, 0);
    assert.deepEqual(opt('run', n, 1n << 40n), full);
    assert.equal(full.stack, 0, 'height back at 0 after a normal return');
    const total = full.gasUsed;
    assert.deepEqual(opt('run', n, total), ref('run', n, total));
    assert.equal(opt('run', n, total).trap, 0, 'exactly the total succeeds');
    const short = opt('run', n, total - 1n);
    assert.deepEqual(short, ref('run', n, total - 1n));
    assert.deepEqual([short.trap, short.gasUsed], [1, total - 1n]);
    for (let limit = 0n; limit < total; limit += total / 37n + 1n)
      assert.deepEqual(opt('run', n, limit), ref('run', n, limit), `n=${n} limit=${limit}`);
  }
});

test('stack exhaustion at exactly the reference depth; out of gas wins at the same call', async () => {
  for (const stackLimit of [30, 100, 1000]) {
    const { opt, ref } = await both({ gas: {}, stackLimit });
    let deepest = -1;
    for (let d = 0; d < 400; d++) {
      const a = opt('deep', d, 1n << 40n);
      assert.deepEqual(a, ref('deep', d, 1n << 40n), `limit ${stackLimit} depth ${d}`);
      if (a.trap === 0) deepest = d;
      else {
        assert.equal(a.trap, 2);
        break;
      }
    }
    assert.ok(deepest >= 0 && deepest < 399, `limit ${stackLimit}: deepest ${deepest}`);
    // one frame too deep: with the gas running out right before that call, out of gas is reported
    const d = deepest + 1;
    const ok = ref('deep', deepest, 1n << 40n).gasUsed;
    for (let limit = ok - 30n; limit <= ok + 30n; limit++) {
      if (limit < 0n) continue;
      const a = opt('deep', d, limit);
      assert.deepEqual(a, ref('deep', d, limit), `limit ${stackLimit} gas ${limit}`);
    }
  }
});
