import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  bitsHex,
  decodeJsonValue,
  EngineError,
  encodeJsonValue,
  f32,
  f64,
  formatValue,
  parseTypedArg,
  parseValue,
} from '../../src/engine/index.ts';

const code = (c: string) => (e: unknown) => e instanceof EngineError && e.code === c;

test('integers: decimal, hex, negative, unsigned wrap, full i64 range', () => {
  assert.deepEqual(parseValue('i32', '42'), { type: 'i32', value: 42 });
  assert.deepEqual(parseValue('i32', '-0x10'), { type: 'i32', value: -16 });
  assert.deepEqual(parseValue('i32', '0xffffffff'), { type: 'i32', value: -1 });
  assert.deepEqual(parseValue('i32', '-2147483648'), { type: 'i32', value: -2147483648 });
  assert.deepEqual(parseValue('i64', '9223372036854775807'), { type: 'i64', value: 9223372036854775807n });
  assert.deepEqual(parseValue('i64', '-9223372036854775808'), { type: 'i64', value: -9223372036854775808n });
  assert.deepEqual(parseValue('i64', '0xffffffffffffffff'), { type: 'i64', value: -1n });
  assert.throws(() => parseValue('i32', '4294967296'), code('INVALID_ARGUMENT'));
  assert.throws(() => parseValue('i32', '-2147483649'), code('INVALID_ARGUMENT'));
  assert.throws(() => parseValue('i64', '18446744073709551616'), code('INVALID_ARGUMENT'));
  assert.throws(() => parseValue('i32', '1.5'), code('INVALID_ARGUMENT'));
  assert.throws(() => parseValue('i32', ''), code('INVALID_ARGUMENT'));
});

test('floats: decimals, inf, nan payloads, -0, hex floats', () => {
  assert.deepEqual(parseValue('f32', '1.5'), { type: 'f32', bits: 0x3fc00000 });
  assert.deepEqual(parseValue('f64', '1.5'), { type: 'f64', bits: 0x3ff8000000000000n });
  assert.deepEqual(parseValue('f32', '-0'), { type: 'f32', bits: 0x80000000 });
  assert.deepEqual(parseValue('f64', '-0.0'), { type: 'f64', bits: 0x8000000000000000n });
  assert.deepEqual(parseValue('f32', 'inf'), { type: 'f32', bits: 0x7f800000 });
  assert.deepEqual(parseValue('f64', '-inf'), { type: 'f64', bits: 0xfff0000000000000n });
  assert.deepEqual(parseValue('f32', 'nan'), { type: 'f32', bits: 0x7fc00000 });
  assert.deepEqual(parseValue('f32', '-nan'), { type: 'f32', bits: 0xffc00000 });
  assert.deepEqual(parseValue('f32', 'nan:0x1'), { type: 'f32', bits: 0x7f800001 });
  assert.deepEqual(parseValue('f64', 'nan:0x4000000000001'), { type: 'f64', bits: 0x7ff4000000000001n });
  assert.deepEqual(parseValue('f64', '0x1.8p1'), { type: 'f64', bits: 0x4008000000000000n }); // 3.0
  assert.deepEqual(parseValue('f32', '0x1p-149'), { type: 'f32', bits: 1 }); // smallest subnormal
  assert.deepEqual(parseValue('f64', '1e308'), f64(1e308));
  assert.throws(() => parseValue('f32', '1e39'), code('INVALID_ARGUMENT'));
  assert.throws(() => parseValue('f64', 'nan:0x0'), code('INVALID_ARGUMENT'));
  assert.throws(() => parseValue('f32', 'nan:0x800000'), code('INVALID_ARGUMENT'));
  assert.throws(() => parseValue('f64', 'abc'), code('INVALID_ARGUMENT'));
});

test('error messages name the argument index and type', () => {
  assert.throws(() => parseValue('i64', 'x', 3), /argument 3 \(i64\)/);
});

test('format and bits', () => {
  assert.equal(formatValue(parseValue('f32', 'nan:0x1')), 'nan:0x1');
  assert.equal(formatValue(parseValue('f64', '-nan')), '-nan');
  assert.equal(formatValue(parseValue('f64', '-0')), '-0');
  assert.equal(formatValue(f32(1.5)), '1.5');
  assert.equal(bitsHex(f32(1.5)), '0x3fc00000');
  assert.equal(bitsHex(parseValue('i32', '-1')), '0xffffffff');
  assert.equal(bitsHex(parseValue('i64', '-1')), '0xffffffffffffffff');
});

test('typed CLI args: type prefix, fallback, missing type', () => {
  assert.deepEqual(parseTypedArg('i64:-5'), { type: 'i64', value: -5n });
  assert.deepEqual(parseTypedArg('f32:nan:0x2'), { type: 'f32', bits: 0x7f800002 });
  assert.deepEqual(parseTypedArg('7', 'i32'), { type: 'i32', value: 7 });
  assert.throws(() => parseTypedArg('7'), code('INVALID_ARGUMENT'));
});

test('JSON round trip is exact for every type', () => {
  const vals = [
    parseValue('i32', '-2147483648'),
    parseValue('i64', '-9223372036854775808'),
    parseValue('i64', '9223372036854775807'),
    parseValue('f32', 'nan:0x1'),
    parseValue('f32', '-0'),
    parseValue('f64', '-nan:0x1234'),
    parseValue('f64', '0.1'),
  ];
  for (const v of vals) {
    const j = JSON.parse(JSON.stringify(encodeJsonValue(v)));
    assert.deepEqual(decodeJsonValue(j), v);
  }
  assert.deepEqual(encodeJsonValue(parseValue('i64', '-1')), { type: 'i64', value: '-1' });
  assert.deepEqual(encodeJsonValue(f64(1.5)), { type: 'f64', bits: '0x3ff8000000000000', value: '1.5' });
  assert.deepEqual(decodeJsonValue({ type: 'f64', value: 2.5 }), f64(2.5));
  assert.deepEqual(decodeJsonValue({ type: 'i64', value: '123' }), { type: 'i64', value: 123n });
  assert.throws(() => decodeJsonValue({ type: 'i64', value: 2 ** 60 }), code('INVALID_ARGUMENT'));
  assert.throws(() => decodeJsonValue({ type: 'i32', bits: '0x1' }), code('INVALID_ARGUMENT'));
  assert.throws(() => decodeJsonValue({ type: 'v128', value: '0' }), code('INVALID_ARGUMENT'));
});
