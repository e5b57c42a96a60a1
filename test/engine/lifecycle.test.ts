import { strict as assert } from 'node:assert';
import { after, test } from 'node:test';
import { Engine, EngineError, i32 } from '../../src/engine/index.ts';
import { wat } from './helpers.ts';

const engine = new Engine({ workers: 1 });
after(() => engine.close());

const m = wat(`(module
  (func (export "spin") (loop br 0))
  (func (export "inc") (param i32) (result i32) local.get 0 i32.const 1 i32.add))`);

test('deadline: the worker is killed, status deadline_exceeded, and the pool recovers', async () => {
  await engine.warmup('interp');
  const t0 = performance.now();
  const r = await engine.execute({ bytecode: m, fn: 'spin', args: [], limits: { timeoutMs: 300 } });
  assert.equal(r.status, 'deadline_exceeded');
  assert.ok(performance.now() - t0 < 15_000); // stopped (generous bound: the machine may be loaded)
  // the only worker was replaced: later requests still run
  const ok = await engine.execute({ bytecode: m, fn: 'inc', args: [i32(1)] });
  assert.deepEqual(ok.outputs, [i32(2)]);
});

test('cancellation: abort stops the execution and reports cancelled', async () => {
  const ac = new AbortController();
  const p = engine.execute({ bytecode: m, fn: 'spin', args: [], signal: ac.signal });
  setTimeout(() => ac.abort(), 200);
  const r = await p;
  assert.equal(r.status, 'cancelled');
  const ok = await engine.execute({ bytecode: m, fn: 'inc', args: [i32(41)] });
  assert.deepEqual(ok.outputs, [i32(42)]);
  const pre = new AbortController();
  pre.abort();
  assert.equal(
    (await engine.execute({ bytecode: m, fn: 'inc', args: [i32(1)], signal: pre.signal })).status,
    'cancelled',
  );
});

test('executor crash: in-flight requests fail with ENGINE_CRASHED, the next request restarts it', async () => {
  const p = engine.execute({ bytecode: m, fn: 'spin', args: [], limits: { timeoutMs: 20_000 } });
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(engine.killExecutor('interp'));
  await assert.rejects(p, (e: unknown) => e instanceof EngineError && e.code === 'ENGINE_CRASHED');
  const ok = await engine.execute({ bytecode: m, fn: 'inc', args: [i32(9)] });
  assert.deepEqual(ok.outputs, [i32(10)]);
  assert.equal(engine.stats().executors.interp?.restarts, 1);
});
