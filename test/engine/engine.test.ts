import { strict as assert } from 'node:assert';
import { after, test } from 'node:test';
import {
  Engine,
  EngineError,
  type ExecuteResult,
  f32Bits,
  f64,
  f64Bits,
  i32,
  i64,
  parseValue,
} from '../../src/engine/index.ts';
import { TEST_HOST_URL, wat } from './helpers.ts';

const engine = new Engine({
  workers: 2,
  hostModuleUrl: TEST_HOST_URL,
  hostHandler: async (method, params) => {
    const p = params as { x?: number; n?: number };
    if (method === 'double') return (p.x ?? 0) * 2;
    if (method === 'big') return 'y'.repeat(p.n ?? 0);
    if (method === 'hang') return new Promise(() => {});
    throw new Error(`no method ${method}`);
  },
});
after(() => engine.close());

const code = (c: string) => (e: unknown) => e instanceof EngineError && e.code === c;

const values = wat(`(module
  (func (export "id_i32") (param i32) (result i32) local.get 0)
  (func (export "id_i64") (param i64) (result i64) local.get 0)
  (func (export "id_f32") (param f32) (result f32) local.get 0)
  (func (export "id_f64") (param f64) (result f64) local.get 0)
  (func (export "swap") (param i64 f64) (result f64 i64) local.get 1 local.get 0)
  (func (export "add64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.add)
  (func (export "neg_f64") (param f64) (result f64) local.get 0 f64.neg)
  (func (export "none"))
  (global (export "g") i32 (i32.const 1)))`);

async function one(
  fn: string,
  args: Parameters<Engine['execute']>[0]['args'],
  extra = {},
): Promise<ExecuteResult> {
  return engine.execute({ bytecode: values, fn, args, ...extra });
}

test('i32/i64 extremes round-trip exactly', async () => {
  for (const v of [-2147483648, 2147483647, 0, -1]) {
    assert.deepEqual((await one('id_i32', [i32(v)])).outputs, [i32(v)]);
  }
  for (const v of [-(1n << 63n), (1n << 63n) - 1n, 0n, -1n]) {
    assert.deepEqual((await one('id_i64', [i64(v)])).outputs, [i64(v)]);
  }
  const r = await one('add64', [i64((1n << 63n) - 1n), i64(1n)]);
  assert.deepEqual(r.outputs, [i64(-(1n << 63n))]); // wraps
});

test('f32/f64 bit patterns (signalling NaN payloads, -0.0) survive', async () => {
  for (const bits of [0x7f800001, 0xffbfffff, 0x7fc00001, 0x80000000, 0x00000001, 0x7f7fffff]) {
    const r = await one('id_f32', [f32Bits(bits)]);
    assert.equal(r.status, 'ok');
    assert.deepEqual(r.outputs, [f32Bits(bits)], `f32 0x${bits.toString(16)}`);
  }
  for (const bits of [0x7ff0000000000001n, 0xfff8000000000abcn, 0x8000000000000000n, 1n]) {
    const r = await one('id_f64', [f64Bits(bits)]);
    assert.deepEqual(r.outputs, [f64Bits(bits)], `f64 0x${bits.toString(16)}`);
  }
  // f64.neg flips only the sign bit, payload included
  assert.deepEqual((await one('neg_f64', [f64Bits(0x7ff0000000000001n)])).outputs, [
    f64Bits(0xfff0000000000001n),
  ]);
  assert.deepEqual((await one('neg_f64', [f64(0)])).outputs, [f64Bits(0x8000000000000000n)]);
});

test('multi-value results and no-result functions', async () => {
  const r = await one('swap', [i64(-5n), f64(2.5)]);
  assert.deepEqual(r.outputs, [f64(2.5), i64(-5n)]);
  const n = await one('none', []);
  assert.equal(n.status, 'ok');
  assert.deepEqual(n.outputs, []);
});

test('legacy strings are parsed by the export parameter types', async () => {
  assert.deepEqual((await one('add64', { legacy: ['0x7fffffffffffffff', '-1'] })).outputs, [
    i64(0x7ffffffffffffffen),
  ]);
  assert.deepEqual((await one('id_f32', { legacy: ['nan:0x1'] })).outputs, [f32Bits(0x7f800001)]);
  assert.deepEqual((await one('swap', { legacy: ['7', '-inf'] })).outputs, [
    parseValue('f64', '-inf'),
    i64(7n),
  ]);
  await assert.rejects(one('id_i32', { legacy: ['x'] }), /argument 0 \(i32\)/);
  // an explicit TYPE: prefix is checked against the parameter type
  assert.deepEqual((await one('add64', { legacy: ['i64:5', '6'] })).outputs, [i64(11n)]);
  await assert.rejects(one('add64', { legacy: ['i32:5', '6'] }), /argument 0: expected i64, got i32/);
});

test('arity and type errors name the parameter', async () => {
  await assert.rejects(one('add64', [i64(1n)]), code('ARITY_MISMATCH'));
  await assert.rejects(one('add64', { legacy: ['1', '2', '3'] }), /expects 2 argument/);
  await assert.rejects(
    one('add64', [i64(1n), i32(2)]),
    (e: unknown) => code('INVALID_ARGUMENT')(e) && /argument 1: expected i64, got i32/.test(String(e)),
  );
  await assert.rejects(one('id_i32', [{ type: 'i32', value: 2 ** 40 }]), code('INVALID_ARGUMENT'));
  await assert.rejects(one('nope', []), code('FUNCTION_NOT_FOUND'));
  await assert.rejects(one('g', []), code('NOT_A_FUNCTION'));
});

const traps = wat(`(module
  (type $v (func))
  (type $ri (func (result i32)))
  (memory 1)
  (table 2 funcref)
  (elem (i32.const 0) $ret)
  (func $ret (result i32) i32.const 1)
  (func (export "unreachable") unreachable)
  (func (export "oob") (result i32) i32.const 70000 i32.load)
  (func (export "div0") (result i32) i32.const 1 i32.const 0 i32.div_s)
  (func (export "rem0") (result i64) i64.const 1 i64.const 0 i64.rem_u)
  (func (export "overflow") (result i32) i32.const 0x80000000 i32.const -1 i32.div_s)
  (func (export "conv") (result i32) f32.const nan i32.trunc_f32_s)
  (func (export "conv_big") (result i32) f64.const 1e10 i32.trunc_f64_s)
  (func (export "sig") (call_indirect (type $v) (i32.const 0)))
  (func (export "null_entry") (result i32) (call_indirect (type $ri) (i32.const 1)))
  (func (export "table_oob") (result i32) (call_indirect (type $ri) (i32.const 5)))
  (func $rec (export "rec") (result i32) call $rec i32.const 1 i32.add))`);

test('each trap kind maps to its status', async () => {
  const cases: [string, string][] = [
    ['unreachable', 'unreachable'],
    ['oob', 'out_of_bounds_memory'],
    ['div0', 'integer_divide_by_zero'],
    ['rem0', 'integer_divide_by_zero'],
    ['overflow', 'integer_overflow'],
    ['conv', 'invalid_conversion'],
    ['conv_big', 'invalid_conversion'],
    ['sig', 'indirect_call_mismatch'],
    ['null_entry', 'indirect_call_mismatch'],
    ['table_oob', 'out_of_bounds_table'],
    ['rec', 'stack_overflow'],
  ];
  const results = await Promise.all(cases.map(([fn]) => engine.execute({ bytecode: traps, fn, args: [] })));
  cases.forEach(([fn, status], i) => {
    assert.equal(results[i]!.status, status, `${fn}: ${results[i]!.message}`);
    assert.deepEqual(results[i]!.outputs, []);
    assert.ok(results[i]!.message);
  });
});

test('memory cap: declared minimum above the limit is rejected; growth beyond it returns -1', async () => {
  const big = wat('(module (memory 100) (func (export "f")))');
  await assert.rejects(
    engine.execute({ bytecode: big, fn: 'f', args: [], limits: { maxMemoryPages: 50 } }),
    code('MEMORY_LIMIT'),
  );
  const grow = wat(`(module (memory 1) (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
    (func (export "size") (param i32) (result i32) local.get 0 memory.grow drop memory.size))`);
  const lim = { maxMemoryPages: 8 };
  assert.deepEqual(
    (await engine.execute({ bytecode: grow, fn: 'grow', args: [i32(7)], limits: lim })).outputs,
    [i32(1)],
  );
  assert.deepEqual(
    (await engine.execute({ bytecode: grow, fn: 'grow', args: [i32(8)], limits: lim })).outputs,
    [i32(-1)],
  );
  assert.deepEqual(
    (await engine.execute({ bytecode: grow, fn: 'size', args: [i32(100)], limits: lim })).outputs,
    [i32(1)],
  );
  // a declared maximum above the cap is lowered to the cap
  const declared = wat(
    '(module (memory 1 1000) (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))',
  );
  assert.deepEqual(
    (await engine.execute({ bytecode: declared, fn: 'grow', args: [i32(20)], limits: lim })).outputs,
    [i32(-1)],
  );
  assert.deepEqual((await engine.execute({ bytecode: declared, fn: 'grow', args: [i32(20)] })).outputs, [
    i32(1),
  ]);
});

test('unknown imports are rejected before running, naming module.field', async () => {
  const imp = wat('(module (import "env" "secret" (func $s)) (func (export "f") call $s))');
  await assert.rejects(
    engine.execute({ bytecode: imp, fn: 'f', args: [] }),
    (e: unknown) => code('UNKNOWN_IMPORT')(e) && /env\.secret/.test(String(e)),
  );
  const mem = wat('(module (import "test" "mem" (memory 1)) (func (export "f")))');
  await assert.rejects(
    engine.execute({ bytecode: mem, fn: 'f', args: [], hostModules: ['test'] }),
    code('UNKNOWN_IMPORT'),
  );
  const field = wat('(module (import "test" "nope" (func $s)) (func (export "f") call $s))');
  await assert.rejects(
    engine.execute({ bytecode: field, fn: 'f', args: [], hostModules: ['test'] }),
    /test\.nope/,
  );
});

test('malformed and oversized bytecode', async () => {
  await assert.rejects(
    engine.execute({ bytecode: new Uint8Array([1, 2, 3]), fn: 'f', args: [] }),
    code('INVALID_BYTECODE'),
  );
  const bad = new Uint8Array(values);
  bad[bad.length - 2] = 0xff; // corrupt the last function body
  await assert.rejects(engine.execute({ bytecode: bad, fn: 'none', args: [] }), code('INVALID_BYTECODE'));
  await assert.rejects(
    engine.execute({ bytecode: values, fn: 'none', args: [], limits: { maxBytecodeBytes: 10 } }),
    code('BYTECODE_TOO_LARGE'),
  );
});

test('150 concurrent executions each get their own result', async () => {
  const add = wat(
    '(module (func (export "mul") (param i64 i64) (result i64) local.get 0 local.get 1 i64.mul))',
  );
  const rs = await Promise.all(
    Array.from({ length: 150 }, (_, k) =>
      engine.execute({ bytecode: add, fn: 'mul', args: [i64(BigInt(k)), i64(1000003n)] }),
    ),
  );
  rs.forEach((r, k) => {
    assert.equal(r.status, 'ok');
    assert.deepEqual(r.outputs, [i64(BigInt(k) * 1000003n)]);
  });
});

test('compile cache: miss then hit, cold and warm results identical', async () => {
  const m = wat(`(module (func (export "f") (param i32) (result i32) local.get 0 i32.const 12345 i32.mul))`);
  const before = engine.stats().cache;
  const cold = await engine.execute({ bytecode: m, fn: 'f', args: [i32(77)] });
  const warm = await engine.execute({ bytecode: m, fn: 'f', args: [i32(77)] });
  assert.equal(cold.cacheHit, false);
  assert.equal(warm.cacheHit, true);
  assert.deepEqual(warm.outputs, cold.outputs);
  assert.equal(warm.bytecodeSha256, cold.bytecodeSha256);
  const s = engine.stats().cache;
  assert.equal(s.misses, before.misses + 1);
  assert.equal(s.hits, before.hits + 1);
  assert.ok(s.entries >= 1 && s.bytes > 0);
});

const hostMod = wat(`(module
  (import "test" "double" (func $double (param i32) (result i32)))
  (import "test" "biglen" (func $biglen (result i32)))
  (import "test" "exit" (func $exit (param i32)))
  (import "test" "trap" (func $trap))
  (import "test" "fail" (func $fail (result i32)))
  (import "test" "print" (func $print (param i32)))
  (import "test" "hang" (func $hang (result i32)))
  (func (export "hang") (result i32) call $hang)
  (func (export "double") (param i32) (result i32) local.get 0 call $double)
  (func (export "biglen") (result i32) call $biglen)
  (func (export "exit") (param i32) local.get 0 call $exit)
  (func (export "trap") call $trap)
  (func (export "fail") (result i32) call $fail)
  (func (export "print") (param i32) (local i32)
    (loop (call $print (local.get 1)) (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (br_if 0 (i32.lt_u (local.get 1) (local.get 0))))))`);

function host(fn: string, args: Parameters<Engine['execute']>[0]['args'], extra = {}) {
  return engine.execute({ bytecode: hostMod, fn, args, hostModules: ['test'], ...extra });
}

test('host bridge: synchronous calls to the async host handler, large results chunked', async () => {
  assert.deepEqual((await host('double', [i32(21)])).outputs, [i32(42)]);
  assert.deepEqual((await host('biglen', [])).outputs, [i32(200_000)]);
  const r = await host('biglen', [], { hostOptions: { bigBytes: 1_000_000 } });
  assert.deepEqual(r.outputs, [i32(1_000_000)]);
});

test('host: WasiExit → exit with code, HostTrap → host_trap, handler error → host_trap, stdout captured', async () => {
  const e = await host('exit', [i32(3)]);
  assert.equal(e.status, 'exit');
  assert.equal(e.exitCode, 3);
  assert.equal((await host('trap', [])).status, 'host_trap');
  const f = await host('fail', []);
  assert.equal(f.status, 'host_trap');
  assert.match(f.message ?? '', /no method fail/);
  const p = await host('print', [i32(3)]);
  assert.equal(p.status, 'ok');
  assert.equal(new TextDecoder().decode(p.stdout), '0\n1\n2\n');
  const big = await host('print', [i32(1000)], { limits: { maxOutputBytes: 100 } });
  assert.equal(big.status, 'output_limit');
  assert.ok((big.stdout?.length ?? 0) <= 100);
});

test('without the host module offered, host imports are unknown', async () => {
  await assert.rejects(
    engine.execute({ bytecode: hostMod, fn: 'double', args: [i32(1)] }),
    code('UNKNOWN_IMPORT'),
  );
});

test('table cap: initial size above the limit is rejected; table.grow beyond it returns -1', async () => {
  const t = wat(`(module (table 10 funcref)
    (func (export "grow") (param i32) (result i32) (table.grow (ref.null func) (local.get 0))))`);
  await assert.rejects(
    engine.execute({ bytecode: t, fn: 'grow', args: [i32(0)], limits: { maxTableElements: 5 } }),
    code('TABLE_LIMIT'),
  );
  const lim = { maxTableElements: 20 };
  assert.deepEqual(
    (await engine.execute({ bytecode: t, fn: 'grow', args: [i32(11)], limits: lim })).outputs,
    [i32(-1)],
  );
  assert.deepEqual(
    (await engine.execute({ bytecode: t, fn: 'grow', args: [i32(10)], limits: lim })).outputs,
    [i32(10)],
  );
});

test('deadline while the guest is blocked in a host call', async () => {
  const r = await host('hang', [], { limits: { timeoutMs: 300 } });
  assert.equal(r.status, 'deadline_exceeded');
  assert.deepEqual((await host('double', [i32(5)])).outputs, [i32(10)]);
});

test('results larger than maxOutputBytes → output_limit', async () => {
  const r = await one('swap', [i64(1n), f64(1)], { limits: { maxOutputBytes: 8 } });
  assert.equal(r.status, 'output_limit');
  assert.deepEqual(r.outputs, []);
});

test('an unknown host module name is a bad request', async () => {
  const m = wat('(module (func (export "f")))');
  await assert.rejects(
    engine.execute({ bytecode: m, fn: 'f', args: [], hostModules: ['nope'] }),
    code('INVALID_ARGUMENT'),
  );
});

test('gasLimit outside 1..2^63-1 is a bad request (meter: true counts without a limit)', async () => {
  const m = wat('(module (func (export "f")))');
  for (const gasLimit of [0n, -1n, 2n ** 63n])
    await assert.rejects(
      engine.execute({ bytecode: m, fn: 'f', args: [], gasLimit }),
      code('INVALID_ARGUMENT'),
    );
  const r = await engine.execute({ bytecode: m, fn: 'f', args: [], gasLimit: 2n ** 63n - 1n });
  assert.equal(r.status, 'ok');
});

test('v128 parameters are an unsupported feature', async () => {
  const m = wat('(module (func (export "f") (param v128)))');
  await assert.rejects(engine.execute({ bytecode: m, fn: 'f', args: [] }), code('UNSUPPORTED_FEATURE'));
});

test('non-cloneable host options are a bad request, not a hang', async () => {
  await assert.rejects(
    host('double', [i32(1)], { hostOptions: { f: () => 1 } as unknown as Record<string, unknown> }),
    code('INVALID_ARGUMENT'),
  );
  assert.deepEqual((await host('double', [i32(2)])).outputs, [i32(4)]);
});

test('concurrent executions making host calls each get their own answers', async () => {
  const rs = await Promise.all(Array.from({ length: 40 }, (_, k) => host('double', [i32(k)])));
  for (const [k, r] of rs.entries()) assert.deepEqual(r.outputs, [i32(2 * k)]);
});
