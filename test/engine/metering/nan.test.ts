/** NaN canonicalization: every NaN produced by a float operation is the canonical positive quiet NaN. */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { load } from './helpers.ts';

const MOD = `(module
  (memory (export "mem") 1)
  (func (export "f32div") (param f32 f32) (result i32) local.get 0 local.get 1 f32.div i32.reinterpret_f32)
  (func (export "f64div") (param f64 f64) (result i64) local.get 0 local.get 1 f64.div i64.reinterpret_f64)
  (func (export "f32sqrt") (param f32) (result i32) local.get 0 f32.sqrt i32.reinterpret_f32)
  (func (export "f32min") (param i32) (result i32) local.get 0 f32.reinterpret_i32 f32.const 1 f32.min i32.reinterpret_f32)
  (func (export "f64add") (param i64) (result i64) local.get 0 f64.reinterpret_i64 f64.const 1 f64.add i64.reinterpret_f64)
  (func (export "demote") (param i64) (result i32) local.get 0 f64.reinterpret_i64 f32.demote_f64 i32.reinterpret_f32)
  (func (export "promote") (param i32) (result i64) local.get 0 f32.reinterpret_i32 f64.promote_f32 i64.reinterpret_f64)
  (func (export "ceil") (param i32) (result i32) local.get 0 f32.reinterpret_i32 f32.ceil i32.reinterpret_f32)
  (func (export "neg") (param i32) (result i32) local.get 0 f32.reinterpret_i32 f32.neg i32.reinterpret_f32)
  (func (export "abs") (param i64) (result i64) local.get 0 f64.reinterpret_i64 f64.abs i64.reinterpret_f64)
  (func (export "copysign") (param i32) (result i32)
    local.get 0 f32.reinterpret_i32 f32.const -1 f32.copysign i32.reinterpret_f32)
  (func (export "loadstore") (param i32) (result i32)
    i32.const 0 local.get 0 i32.store
    i32.const 4 i32.const 0 f32.load f32.store
    i32.const 4 i32.load)
  (func (export "storediv") (result i32)
    i32.const 8 f32.const 0 f32.const 0 f32.div f32.store
    i32.const 8 i32.load)
  (func (export "f32x4lanes") (result i32 i32 i32 i32) (local v128)
    f32.const 0 f32x4.splat f32.const 0 f32x4.splat f32x4.div
    f32.const 4 f32x4.replace_lane 1
    f32x4.sqrt local.set 0
    local.get 0 i32x4.extract_lane 0 local.get 0 i32x4.extract_lane 1
    local.get 0 i32x4.extract_lane 2 local.get 0 i32x4.extract_lane 3)
  (func (export "f64x2lanes") (result i64 i64) (local v128)
    f64.const 0 f64x2.splat f64.const 0 f64x2.splat f64x2.div
    f64.const 9 f64x2.replace_lane 1 f64x2.sqrt local.set 0
    local.get 0 i64x2.extract_lane 0 local.get 0 i64x2.extract_lane 1)
  (func (export "chain") (param f64 f64 f64) (result i64)
    local.get 0 local.get 1 f64.mul local.get 2 f64.add f64.sqrt i64.reinterpret_f64)
  (func (export "chain32") (param f64) (result i32)
    local.get 0 local.get 0 f64.div f32.demote_f64 i32.reinterpret_f32)
  (func (export "divneg") (result i32) f32.const 0 f32.const 0 f32.div f32.neg i32.reinterpret_f32)
  (func (export "pmin") (result i32)
    f32.const 0 f32x4.splat f32.const 0 f32x4.splat f32x4.div f32.const 1 f32x4.splat f32x4.pmin
    i32x4.extract_lane 0)
)`;

const F32_CANON = 0x7fc00000;
const F64_CANON = 0x7ff8000000000000n;
const u32 = (v: unknown) => (v as number) >>> 0;

describe('NaN canonicalization', () => {
  test('arithmetic, sqrt, min, ceil, demote/promote yield the canonical NaN', async () => {
    const l = await load(MOD, { canonicalizeNaN: true });
    assert.equal(l.info.canonicalizeNaN, true);
    assert.ok(l.info.nanSites >= 10);
    assert.equal(u32(l.run('f32div', [0, 0]).value), F32_CANON);
    assert.equal(BigInt.asUintN(64, l.run('f64div', [0, 0]).value as bigint), F64_CANON);
    assert.equal(u32(l.run('f32sqrt', [-1]).value), F32_CANON);
    assert.equal(u32(l.run('f32min', [0xffa00001 | 0]).value), F32_CANON);
    assert.equal(BigInt.asUintN(64, l.run('f64add', [-0x000f00000000abcdn]).value as bigint), F64_CANON);
    assert.equal(u32(l.run('demote', [0x7ff4000000000001n]).value), F32_CANON);
    assert.equal(u32(l.run('demote', [-0x0008000000000000n]).value), F32_CANON); // 0xfff8... negative NaN
    assert.equal(BigInt.asUintN(64, l.run('promote', [0xffa00001 | 0]).value as bigint), F64_CANON);
    assert.equal(u32(l.run('ceil', [0x7fa00001]).value), F32_CANON);
    // non-NaN results are untouched
    assert.equal(u32(l.run('f32div', [1, 4]).value), 0x3e800000);
    assert.equal(u32(l.run('ceil', [0x3fc00000]).value), 0x40000000); // ceil(1.5) = 2
    assert.equal(u32(l.run('demote', [0x3ff8000000000000n]).value), 0x3fc00000); // 1.5
  });

  test('a NaN consumed at once by another canonicalized operation is canonicalized once', async () => {
    const l = await load(
      `(module (func (export "chain") (param f64 f64 f64) (result i64)
        local.get 0 local.get 1 f64.mul local.get 2 f64.add f64.sqrt i64.reinterpret_f64))`,
      { canonicalizeNaN: true },
    );
    assert.equal(l.info.nanSites, 1, 'mul → add → sqrt: only sqrt canonicalizes');
    const m = await load(MOD, { canonicalizeNaN: true });
    assert.equal(BigInt.asUintN(64, m.run('chain', [0, Infinity, 1]).value as bigint), F64_CANON);
    assert.equal(BigInt.asUintN(64, m.run('chain', [2, 4, 1]).value as bigint), 0x4008000000000000n);
    assert.equal(u32(m.run('chain32', [0]).value), F32_CANON);
    assert.equal(u32(m.run('divneg').value), 0xffc00000, 'canonical NaN, then negated');
  });

  test('bit operations, loads and stores are not touched', async () => {
    const l = await load(MOD, { canonicalizeNaN: true });
    assert.equal(u32(l.run('neg', [F32_CANON]).value), 0xffc00000);
    assert.equal(
      BigInt.asUintN(64, l.run('abs', [-0x0006ffffffffffffn]).value as bigint),
      0x7ff9000000000001n,
    );
    assert.equal(u32(l.run('copysign', [0x7fa00001]).value), 0xffa00001);
    assert.equal(u32(l.run('loadstore', [0xffa00001 | 0]).value), 0xffa00001);
    assert.equal(u32(l.run('storediv').value), F32_CANON);
    // pmin/pmax are selects (deterministic): the NaN from the canonicalized div passes through
    assert.equal(u32(l.run('pmin').value), F32_CANON);
  });

  test('SIMD lanes are canonicalized lane-wise', async () => {
    const l = await load(MOD, { canonicalizeNaN: true });
    const lanes = (l.run('f32x4lanes').value as number[]).map(u32);
    assert.deepEqual(lanes, [F32_CANON, 0x40000000, F32_CANON, F32_CANON]); // sqrt(4) = 2
    const l64 = (l.run('f64x2lanes').value as bigint[]).map((v) => BigInt.asUintN(64, v));
    assert.deepEqual(l64, [F64_CANON, 0x4008000000000000n]); // sqrt(9) = 3
  });

  test('without canonicalization x64 produces the negative default NaN (why this pass exists)', async (t) => {
    if (process.arch !== 'x64' && process.arch !== 'ia32') {
      t.skip('x86-specific default NaN');
      return;
    }
    const l = await load(MOD, { canonicalizeNaN: false });
    assert.equal(l.info.nanSites, 0);
    assert.equal(u32(l.run('f32div', [0, 0]).value), 0xffc00000);
    assert.notEqual(u32(l.run('demote', [0x7ff4000000000001n]).value), F32_CANON);
  });
});
