// The dispatch channels (issue 20): the wire codec, the executor's frame stream, the worker mailboxes of
// the in-process pool and the socket frames of a forked executor, under ordering, concurrency, a worker
// killed mid-call, deadlines while waiting, answers too large for a mailbox and host calls.
import { strict as assert } from 'node:assert';
import { after, test } from 'node:test';
import {
  Engine,
  EngineError,
  type ExecutionMode,
  f32Bits,
  f64Bits,
  i32,
  i64,
  type WasmValue,
} from '../../src/engine/index.ts';
import { Pool } from '../../src/engine/pool.ts';
import {
  FrameDecoder,
  FrameWriter,
  type Job,
  type JobResult,
  MAILBOX_BYTES,
  readJob,
  readResult,
  WIRE_OVERFLOW,
  WireReader,
  WireWriter,
  writeJob,
  writeResult,
} from '../../src/engine/protocol.ts';
import { TEST_HOST_URL, wat } from './helpers.ts';

test('wire: a job and a result round-trip bit-exactly (NaN payloads, -0, i64 extremes, host options)', () => {
  const job: Job = {
    fn: 'f\u00e9\u{1f600}',
    params: ['i32', 'i64', 'f32', 'f64'],
    results: ['f32', 'f64', 'i64', 'i32'],
    args: [i32(-1), i64(-(1n << 63n)), f32Bits(0x7f800001), f64Bits(0x8000000000000000n)],
    gas: (1n << 63n) - 1n,
    startExport: '__start',
    hostModules: ['test'],
    hostOptions: { bigBytes: 5, nested: { a: [1, 2n] } },
    hostModuleUrl: 'file:///x.js',
    maxOutputBytes: 12345,
    timeoutMs: 77,
    probeTier: true,
  };
  const w = new WireWriter(new Uint8Array(8));
  writeJob(w, job);
  assert.deepEqual(readJob(new WireReader(w.buf.subarray(0, w.pos)), 77), job);

  const result: JobResult = {
    status: 'exit',
    outputs: [f32Bits(0xffbfffff), f64Bits(0x7ff0000000000001n), i64((1n << 63n) - 1n), i32(-2147483648)],
    message: 'guest exited with code 3',
    exitCode: 3,
    gasUsed: 42n,
    stdout: new Uint8Array([1, 2, 3]),
    stderr: new Uint8Array([4]),
    durationMs: 1.25,
    tier: { liftoff: true, turbofan: false },
  };
  const r = new WireWriter();
  writeResult(r, result);
  assert.deepEqual(readResult(new WireReader(r.buf.subarray(0, r.pos)), job.results), result);
  const bare: JobResult = { status: 'ok', outputs: [], durationMs: 0 };
  const b = new WireWriter();
  writeResult(b, bare);
  assert.deepEqual(readResult(new WireReader(b.buf.subarray(0, b.pos)), []), bare);
});

test('wire: a fixed (mailbox) writer refuses what does not fit, a growable one takes it', () => {
  const fixed = new WireWriter(new Uint8Array(64), true);
  assert.throws(
    () => fixed.str('x'.repeat(100)),
    (e: unknown) => e === WIRE_OVERFLOW,
  );
  const grow = new WireWriter(new Uint8Array(4));
  grow.str('x'.repeat(100_000));
  assert.equal(new WireReader(grow.buf).str(), 'x'.repeat(100_000));
});

test('frames: any split of the stream gives the same frames in order (a large frame assembled once)', () => {
  const fw = new FrameWriter();
  const sizes = [0, 1, 3, 70_000, 5, 300_000, 2];
  for (const [k, n] of sizes.entries()) {
    const w = fw.begin(k + 1);
    w.bytes(new Uint8Array(n).fill(k + 7));
    fw.end();
  }
  const stream = fw.take();
  assert.ok(fw.empty);
  for (const cut of [1, 2, 3, 7, 4096, 65_536, stream.length]) {
    const got: [number, number, number][] = [];
    const dec = new FrameDecoder((type, rd) => {
      const b = rd.bytes();
      got.push([type, b.length, b.every((x) => x === type + 6) ? 1 : 0]);
    });
    for (let o = 0; o < stream.length; o += cut) dec.push(stream.subarray(o, o + cut));
    assert.deepEqual(
      got,
      sizes.map((n, k) => [k + 1, n, 1]),
      `chunks of ${cut}`,
    );
  }
});

const handler = async (method: string, params: unknown) => {
  const p = params as { x?: number };
  if (method === 'double') {
    // answer out of order: later calls may finish first
    await new Promise((r) => setTimeout(r, (p.x ?? 0) % 3));
    return (p.x ?? 0) * 2;
  }
  if (method === 'hang') return new Promise(() => {});
  throw new Error(`no method ${method}`);
};
const local = new Engine({
  workers: 2,
  hostModuleUrl: TEST_HOST_URL,
  hostHandler: handler,
  interpInProcess: true,
});
const forked = new Engine({ workers: 2, hostModuleUrl: TEST_HOST_URL, hostHandler: handler });
after(async () => {
  await local.close();
  await forked.close();
});

const LONG = 'e'.repeat(40_000); // an export name whose job does not fit a mailbox (UTF-16: 80 KB)
const m = wat(`(module
  (import "test" "double" (func $double (param i32) (result i32)))
  (import "test" "print" (func $print (param i32)))
  (import "test" "hang" (func $hang (result i32)))
  (func (export "id") (param i32 i64 f32 f64) (result i32 i64 f32 f64)
    local.get 0 local.get 1 local.get 2 local.get 3)
  (func (export "double") (param i32) (result i32) local.get 0 call $double)
  (func (export "print") (param i32)
    (loop (call $print (i32.const 1234567))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br_if 0 (i32.gt_s (local.get 0) (i32.const 0)))))
  (func (export "hang") (result i32) call $hang)
  (func (export "spin") (loop br 0))
  (func (export "${LONG}") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))`);

const cases: [string, Engine, ExecutionMode][] = [
  ['in-process interp (mailboxes)', local, 'interp'],
  ['forked interp (socket frames + mailboxes)', forked, 'interp'],
];

for (const [name, engine, mode] of cases) {
  const run = (fn: string, args: WasmValue[], extra = {}) =>
    engine.execute({ bytecode: m, fn, args, mode, hostModules: ['test'], ...extra });

  test(`${name}: 300 concurrent executions each get their own answer, exact values`, async () => {
    const rs = await Promise.all(
      Array.from({ length: 300 }, (_, k) =>
        run('id', [
          i32(k),
          i64(BigInt(k) << 40n),
          f32Bits(0x7f800000 + 1 + k),
          f64Bits(0xfff0000000000001n + BigInt(k)),
        ]),
      ),
    );
    for (const [k, r] of rs.entries()) {
      assert.equal(r.status, 'ok', r.message);
      assert.deepEqual(r.outputs, [
        i32(k),
        i64(BigInt(k) << 40n),
        f32Bits(0x7f800000 + 1 + k),
        f64Bits(0xfff0000000000001n + BigInt(k)),
      ]);
    }
  });

  test(`${name}: host calls from concurrent executions answered out of order`, async () => {
    const rs = await Promise.all(Array.from({ length: 60 }, (_, k) => run('double', [i32(k)])));
    for (const [k, r] of rs.entries()) assert.deepEqual(r.outputs, [i32(2 * k)], r.message);
  });

  test(`${name}: answers and jobs larger than a mailbox go by message; over the limit is output_limit`, async () => {
    // 8 bytes per line: 20 000 lines = 160 000 bytes of stdout, more than a mailbox holds
    assert.ok(160_000 > MAILBOX_BYTES);
    const big = await run('print', [i32(20_000)]);
    assert.equal(big.status, 'ok', big.message);
    assert.equal(big.stdout?.length, 160_000);
    assert.equal(new TextDecoder().decode(big.stdout!.subarray(0, 16)), '1234567\n1234567\n');
    const over = await run('print', [i32(20_000)], { limits: { maxOutputBytes: 100_000 } });
    assert.equal(over.status, 'output_limit');
    assert.equal(over.stdout?.length, 100_000);
    const long = await run(LONG, [i32(41)]);
    assert.deepEqual(long.outputs, [i32(42)]);
    // the mailbox path still works after the posted ones
    assert.deepEqual((await run('double', [i32(5)])).outputs, [i32(10)]);
  });

  test(`${name}: deadlines while queued, while running and while in a host call`, async () => {
    const busy = [
      run('spin', [], { limits: { timeoutMs: 1500 } }),
      run('spin', [], { limits: { timeoutMs: 1500 } }),
    ];
    // both workers are busy: this one waits in the queue and its deadline passes there
    const queued = await run('double', [i32(1)], { limits: { timeoutMs: 200 } });
    assert.equal(queued.status, 'deadline_exceeded');
    for (const r of await Promise.all(busy)) assert.equal(r.status, 'deadline_exceeded');
    assert.equal((await run('hang', [], { limits: { timeoutMs: 200 } })).status, 'deadline_exceeded');
    const ac = new AbortController();
    const p = run('hang', [], { signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    assert.equal((await p).status, 'cancelled');
    assert.deepEqual((await run('double', [i32(8)])).outputs, [i32(16)]);
  });
}

test('forked: a killed executor fails its in-flight executions, the next one restarts it', async () => {
  const e = new Engine({ workers: 2, hostModuleUrl: TEST_HOST_URL, hostHandler: handler });
  try {
    const run = (fn: string, args: WasmValue[], extra = {}) =>
      e.execute({ bytecode: m, fn, args, hostModules: ['test'], ...extra });
    assert.deepEqual((await run('double', [i32(1)])).outputs, [i32(2)]);
    const inflight = [run('spin', [], { limits: { timeoutMs: 20_000 } }), run('hang', [])];
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(e.killExecutor('interp'));
    for (const r of await Promise.allSettled(inflight)) {
      assert.equal(r.status, 'rejected');
      assert.ok(r.reason instanceof EngineError && r.reason.code === 'ENGINE_CRASHED', String(r.reason));
    }
    assert.deepEqual((await run('double', [i32(3)])).outputs, [i32(6)]);
  } finally {
    await e.close();
  }
});

test('pool: a worker thread killed mid-call fails that execution (INTERNAL), its replacement serves the next', async () => {
  const answers = new Map<number, JobResult | { code: string; message: string }>();
  const waiters = new Map<number, () => void>();
  const done = (id: number) => new Promise<void>((r) => (answers.has(id) ? r() : waiters.set(id, r)));
  const settle = (id: number, a: JobResult | { code: string; message: string }) => {
    answers.set(id, a);
    waiters.get(id)?.();
  };
  const pool = new Pool(
    { workers: 1, cacheBytes: 1 << 20, heapMb: 64 },
    {
      result: (id, r) => settle(id, r),
      error: (id, code, message) => settle(id, { code, message }),
      host: () => {},
      needBytes: (id) => settle(id, { code: 'NEED', message: '' }),
    },
  );
  try {
    await pool.ready;
    const bytes = wat(
      '(module (func (export "spin") (loop br 0)) (func (export "one") (result i32) i32.const 1))',
    );
    const job = (fn: string, results: 'i32'[]): Job => ({
      fn,
      params: [],
      results,
      args: [],
      hostModules: [],
      hostOptions: {},
      maxOutputBytes: 1024,
      timeoutMs: 20_000,
    });
    void pool.exec(1, 'k', bytes, job('spin', []));
    await new Promise((r) => setTimeout(r, 300));
    const slots = (
      pool as unknown as { slots: { worker: { terminate(): Promise<number> }; task?: unknown }[] }
    ).slots;
    const busy = slots.find((s) => s.task);
    assert.ok(busy, 'the spin is running in a worker');
    await busy.worker.terminate();
    await done(1);
    const a = answers.get(1) as { code: string; message: string };
    assert.equal(a.code, 'INTERNAL');
    assert.match(a.message, /worker exited/);
    void pool.exec(2, 'k', undefined, job('one', ['i32']));
    await done(2);
    assert.deepEqual((answers.get(2) as JobResult).outputs, [i32(1)]);
  } finally {
    pool.close();
  }
});
