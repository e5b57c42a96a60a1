import { strict as assert } from 'node:assert';
import { after, test } from 'node:test';
import {
  DEFAULT_LIMITS,
  Engine,
  type ExecutionMode,
  f64Bits,
  i32,
  MAX_LIMITS,
  resolveLimits,
} from '../../src/engine/index.ts';
import { wat } from './helpers.ts';

const engine = new Engine({ workers: 1 });
after(() => engine.close());

const loop = wat(`(module
  (global $g (mut i32) (i32.const 0))
  (func $init (global.set $g (i32.const 5)))
  (start $init)
  (func (export "count") (param i32) (result i32) (local i32)
    (block (loop (br_if 1 (i32.ge_u (local.get 1) (local.get 0)))
      (local.set 1 (i32.add (local.get 1) (i32.const 1))) (br 0)))
    (i32.add (local.get 1) (global.get $g)))
  (func $rec (export "rec") (param i32) (result i32) (call $rec (i32.add (local.get 0) (i32.const 1)))))`);

test('gasLimit: gasUsed grows with work, is identical across modes, out_of_gas past the limit', async () => {
  const run = (n: number, gasLimit: bigint, mode: ExecutionMode = 'interp') =>
    engine.execute({ bytecode: loop, fn: 'count', args: [i32(n)], gasLimit, mode });
  const small = await run(10, 1_000_000n);
  const big = await run(1000, 1_000_000n);
  assert.equal(small.status, 'ok');
  assert.deepEqual(small.outputs, [i32(15)]); // the start function ran (moved start, after gas load)
  assert.ok(small.gasUsed! > 0n && big.gasUsed! > small.gasUsed!, `${small.gasUsed} < ${big.gasUsed}`);
  assert.ok(small.costTableVersion);
  const again = await run(1000, 1_000_000n, 'multipass');
  assert.equal(again.gasUsed, big.gasUsed);
  const out = await run(1000, big.gasUsed! - 1n);
  assert.equal(out.status, 'out_of_gas');
  assert.equal(out.gasUsed, big.gasUsed! - 1n);
  const exact = await run(1000, big.gasUsed!);
  assert.equal(exact.status, 'ok');
});

test('meter without a limit counts gas; unmetered runs report none', async () => {
  const m = await engine.execute({ bytecode: loop, fn: 'count', args: [i32(10)], meter: true });
  assert.equal(m.status, 'ok');
  assert.ok(m.gasUsed! > 0n);
  const u = await engine.execute({ bytecode: loop, fn: 'count', args: [i32(10)] });
  assert.equal(u.gasUsed, undefined);
  assert.deepEqual(u.outputs, [i32(15)]);
});

test('metered recursion stops at the deterministic stack limit', async () => {
  const r = await engine.execute({ bytecode: loop, fn: 'rec', args: [i32(0)], gasLimit: 10_000_000_000n });
  assert.equal(r.status, 'stack_overflow');
  assert.match(r.message ?? '', /stack height/);
});

test('NaN canonicalization: on by default for metered runs, off for unmetered', async () => {
  const m = wat(
    '(module (func (export "add") (param f64 f64) (result f64) local.get 0 local.get 1 f64.add))',
  );
  const args = [f64Bits(0x7ff4000000000001n), f64Bits(0x3ff0000000000000n)];
  const det = await engine.execute({ bytecode: m, fn: 'add', args, gasLimit: 1000n });
  assert.deepEqual(det.outputs, [f64Bits(0x7ff8000000000000n)]);
  const raw = await engine.execute({ bytecode: m, fn: 'add', args });
  // x86 quiets the signalling NaN and keeps the payload
  assert.deepEqual(raw.outputs, [f64Bits(0x7ffc000000000001n)]);
});

test('maxStackHeight: capped at 250,000 units (V8 overflows first near 508,000 in Liftoff)', async () => {
  assert.equal(MAX_LIMITS.maxStackHeight, 250_000);
  assert.equal(resolveLimits(DEFAULT_LIMITS, { maxStackHeight: 250_000 }).maxStackHeight, 250_000);
  assert.throws(
    () => resolveLimits(DEFAULT_LIMITS, { maxStackHeight: 250_001 }),
    (e: { code?: string; message?: string }) =>
      e.code === 'LIMIT_EXCEEDED' &&
      /maxStackHeight=250001 is above the ceiling 250000/.test(e.message ?? ''),
  );
  await assert.rejects(
    engine.execute({
      bytecode: loop,
      fn: 'count',
      args: [i32(1)],
      gasLimit: 1000n,
      limits: { maxStackHeight: 1_000_000 },
    }),
    (e: { code?: string }) => e.code === 'LIMIT_EXCEEDED',
  );
});
