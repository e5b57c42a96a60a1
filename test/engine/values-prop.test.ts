import { strict as assert } from 'node:assert';
import { after, test } from 'node:test';
import fc from 'fast-check';
import {
  decodeJsonValue,
  Engine,
  encodeJsonValue,
  f32Bits,
  f64Bits,
  formatValue,
  i64,
  parseValue,
  type WasmValue,
} from '../../src/engine/index.ts';
import { wat } from './helpers.ts';

const anyValue: fc.Arbitrary<WasmValue> = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((v): WasmValue => ({ type: 'i32', value: v })),
  fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).map((v) => i64(v)),
  fc.integer({ min: 0, max: 0xffffffff }).map((b) => f32Bits(b)),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((b) => f64Bits(b)),
);

test('formatValue → parseValue and JSON encode → decode are exact for every bit pattern', () => {
  fc.assert(
    fc.property(anyValue, (v) => {
      assert.deepEqual(parseValue(v.type, formatValue(v)), v);
      assert.deepEqual(decodeJsonValue(JSON.parse(JSON.stringify(encodeJsonValue(v)))), v);
    }),
    { numRuns: 2000 },
  );
});

const engine = new Engine({ workers: 2 });
after(() => engine.close());

test('random f32/f64/i64 bit patterns pass through a Wasm identity function unchanged', async () => {
  const m = wat(
    `(module (func (export "id") (param f32 f64 i64) (result f32 f64 i64) local.get 0 local.get 1 local.get 2))`,
  );
  const samples = fc.sample(
    fc.tuple(
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
    ),
    { numRuns: 200, seed: 42 },
  );
  // include every NaN class explicitly
  samples.push([0x7f800001, 0x7ff0000000000001n, 0n], [0xffffffff, 0xffffffffffffffffn, -1n]);
  const rs = await Promise.all(
    samples.map(([a, b, c]) =>
      engine.execute({ bytecode: m, fn: 'id', args: [f32Bits(a), f64Bits(b), i64(c)] }),
    ),
  );
  rs.forEach((r, k) => {
    const [a, b, c] = samples[k]!;
    assert.deepEqual(r.outputs, [f32Bits(a), f64Bits(b), i64(c)]);
  });
});
