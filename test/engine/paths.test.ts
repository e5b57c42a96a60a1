import { strict as assert } from 'node:assert';
import { after, test } from 'node:test';
import { Engine, EngineError, type ExecutionMode, i32, i64 } from '../../src/engine/index.ts';
import { TEST_HOST_URL, wat } from './helpers.ts';

// The same behaviour on both paths: interp's worker pool in this process, and a forked executor process
// (singlepass; and interp itself when interpInProcess is off).
const handler = async (method: string, params: unknown) => {
  const p = params as { x?: number; n?: number };
  if (method === 'double') return (p.x ?? 0) * 2;
  if (method === 'big') return 'y'.repeat(p.n ?? 0);
  if (method === 'hang') return new Promise(() => {});
  if (method === 'fail') return () => 1; // not serializable: the guest gets a host trap, not a hang
  throw new Error(`no method ${method}`);
};
const local = new Engine({
  workers: 1,
  hostModuleUrl: TEST_HOST_URL,
  hostHandler: handler,
  interpInProcess: true,
});
const forked = new Engine({
  workers: 1,
  hostModuleUrl: TEST_HOST_URL,
  hostHandler: handler,
  interpInProcess: false,
});
after(async () => {
  await local.close();
  await forked.close();
});

const m = wat(`(module
  (import "test" "double" (func $double (param i32) (result i32)))
  (import "test" "biglen" (func $biglen (result i32)))
  (import "test" "fail" (func $fail (result i32)))
  (import "test" "hang" (func $hang (result i32)))
  (func (export "double") (param i32) (result i32) local.get 0 call $double)
  (func (export "biglen") (result i32) call $biglen)
  (func (export "fail") (result i32) call $fail)
  (func (export "hang") (result i32) call $hang)
  (func (export "spin") (loop br 0))
  (func (export "add64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.add))`);

const cases: [string, Engine, ExecutionMode][] = [
  ['in-process interp', local, 'interp'],
  ['forked interp', forked, 'interp'],
  ['forked singlepass', local, 'singlepass'],
];

test('interp runs in this process when opted in; executors elsewhere', async () => {
  const info = await local.warmup('interp');
  assert.equal(info.pid, process.pid);
  assert.equal(local.stats().executors.interp?.inProcess, true);
  const f = await forked.warmup('interp');
  assert.notEqual(f.pid, process.pid);
  assert.equal(forked.stats().executors.interp?.inProcess, false);
  const s = await local.warmup('singlepass');
  assert.notEqual(s.pid, process.pid);
  assert.ok(s.execArgv.includes('--liftoff-only'));
});

for (const [name, engine, mode] of cases) {
  const run = (fn: string, args: Parameters<Engine['execute']>[0]['args'], extra = {}) =>
    engine.execute({ bytecode: m, fn, args, mode, hostModules: ['test'], ...extra });

  test(`${name}: values, host bridge (chunked), unserializable host result`, async () => {
    assert.deepEqual((await run('add64', [i64(-1n), i64(1n << 62n)])).outputs, [i64((1n << 62n) - 1n)]);
    assert.deepEqual((await run('double', [i32(21)])).outputs, [i32(42)]);
    const big = await run('biglen', [], { hostOptions: { bigBytes: 300_000 } });
    assert.deepEqual(big.outputs, [i32(300_000)]);
    const f = await run('fail', []);
    assert.equal(f.status, 'host_trap');
    assert.match(f.message ?? '', /not serializable|could not be cloned/i);
    const rs = await Promise.all(Array.from({ length: 20 }, (_, k) => run('double', [i32(k)])));
    for (const [k, r] of rs.entries()) assert.deepEqual(r.outputs, [i32(2 * k)]);
  });

  test(`${name}: deadline (also in a host call) and cancellation replace the worker`, async () => {
    assert.equal((await run('spin', [], { limits: { timeoutMs: 300 } })).status, 'deadline_exceeded');
    assert.equal((await run('hang', [], { limits: { timeoutMs: 300 } })).status, 'deadline_exceeded');
    const ac = new AbortController();
    const p = run('spin', [], { signal: ac.signal });
    setTimeout(() => ac.abort(), 200);
    assert.equal((await p).status, 'cancelled');
    assert.deepEqual((await run('double', [i32(4)])).outputs, [i32(8)]);
  });

  test(`${name}: a killed pool/executor fails in-flight requests, the next request restarts it`, async () => {
    const before = engine.stats().executors[mode]?.restarts ?? 0;
    const p = run('spin', [], { limits: { timeoutMs: 20_000 } });
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(engine.killExecutor(mode));
    await assert.rejects(p, (e: unknown) => e instanceof EngineError && e.code === 'ENGINE_CRASHED');
    assert.deepEqual((await run('double', [i32(9)])).outputs, [i32(18)]);
    assert.equal(engine.stats().executors[mode]?.restarts, before + 1);
  });

  test(`${name}: an unserializable request is INVALID_ARGUMENT, later requests still run`, async () => {
    await assert.rejects(
      run('double', [i32(1)], { hostOptions: { f: () => 1 } }),
      (e: unknown) => e instanceof EngineError && e.code === 'INVALID_ARGUMENT',
    );
    assert.deepEqual((await run('double', [i32(2)])).outputs, [i32(4)]);
  });
}

test('interp runs in process only when the caller has no Wasm-related V8 flags', async () => {
  const { callerHasDefaultWasmFlags } = await import('../../src/engine/engine.ts');
  assert.equal(callerHasDefaultWasmFlags(), true);
  for (const flag of ['--liftoff-only', '--no-liftoff', '--wasm_lazy_compilation', '--jitless']) {
    process.execArgv.push(flag);
    try {
      assert.equal(callerHasDefaultWasmFlags(), false, flag);
    } finally {
      process.execArgv.pop();
    }
  }
  const saved = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${saved ?? ''} --jitless`;
  try {
    assert.equal(callerHasDefaultWasmFlags(), false);
  } finally {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
  }
  // extraV8Flags also send interp to a forked executor
  const e = new Engine({ workers: 1, extraV8Flags: ['--stack-size=900'] });
  try {
    assert.notEqual((await e.warmup('interp')).pid, process.pid);
    assert.equal(e.stats().executors.interp?.inProcess, false);
  } finally {
    await e.close();
  }
});
