/**
 * The playground's typed inputs (web/playground/values.ts) and export listing (exports.ts), in Node:
 * exact bits for floats (NaN payloads, -0), integer ranges, and the signatures of a real module.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { listFunctionExports, signatureText } from '../../web/playground/exports.ts';
import { parseValue } from '../../web/playground/values.ts';

test('integers: decimal and hex, signed and unsigned ranges, nothing else', () => {
  assert.deepEqual(parseValue('i32', '5'), { type: 'i32', value: 5 });
  assert.deepEqual(parseValue('i32', '0xffffffff'), { type: 'i32', value: -1 });
  assert.deepEqual(parseValue('i32', '-2147483648'), { type: 'i32', value: -2147483648 });
  assert.deepEqual(parseValue('i64', '18446744073709551615'), { type: 'i64', value: -1n });
  assert.deepEqual(parseValue('i64', '-9223372036854775808'), { type: 'i64', value: -(2n ** 63n) });
  for (const bad of ['4294967296', '-2147483649', '1.5', '', 'abc', '1e3'])
    assert.throws(() => parseValue('i32', bad), { code: 'BAD_INPUT' }, bad);
  assert.throws(() => parseValue('i64', '18446744073709551616'), { code: 'BAD_INPUT' });
});

test('floats: exact bits, -0, infinities, NaN and explicit bits', () => {
  assert.deepEqual(parseValue('f64', '1.5'), { type: 'f64', bits: 0x3ff8000000000000n });
  assert.deepEqual(parseValue('f64', '-0'), { type: 'f64', bits: 0x8000000000000000n });
  assert.deepEqual(parseValue('f64', '-inf'), { type: 'f64', bits: 0xfff0000000000000n });
  assert.deepEqual(parseValue('f32', '0.1'), { type: 'f32', bits: 0x3dcccccd });
  assert.deepEqual(parseValue('f32', 'nan'), { type: 'f32', bits: 0x7fc00000 });
  assert.deepEqual(parseValue('f32', 'bits:0x7fc00001'), { type: 'f32', bits: 0x7fc00001 });
  assert.deepEqual(parseValue('f64', 'bits:0x7ff0000000000001'), { type: 'f64', bits: 0x7ff0000000000001n });
  for (const bad of ['1,5', 'x', '', '0x10', 'bits:0x1ffffffff'])
    assert.throws(() => parseValue('f32', bad), { code: 'BAD_INPUT' }, bad);
});

test("a module's exported functions with their signatures", () => {
  const fns = listFunctionExports(new Uint8Array(readFileSync('test/fixtures/c/kernels.wasm')));
  const sig = Object.fromEntries(fns.map((f) => [f.name, signatureText(f)]));
  assert.equal(sig.fib, 'fib(i32) -> i64');
  assert.equal(sig.gcd, 'gcd(i32, i32) -> i32');
  assert.equal(sig.hypot, 'hypot(f64, f64) -> f64');
  assert.ok(fns.every((f) => f.callable));
  assert.throws(() => listFunctionExports(new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0])), {
    code: 'NOT_WASM',
  });
  assert.throws(
    () => listFunctionExports(new Uint8Array(readFileSync('test/fixtures/wasm/truncated.wasm'))),
    {
      code: 'NOT_WASM',
    },
  );
});
