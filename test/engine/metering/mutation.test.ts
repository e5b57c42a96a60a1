/**
 * Robustness: byte-level mutations of valid modules. `instrument()` either succeeds with a valid module
 * or throws an EngineError with a stable code; it never crashes with another error, and it never turns
 * an invalid module into a valid one.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { instrument } from '../../../src/engine/instrument/index.ts';
import { EngineError } from '../../../src/engine/types.ts';
import { wat } from '../../wasm/wat.ts';

const SOURCES = [
  `(module (memory 1 4) (global $g (mut i32) (i32.const 0)) (table 2 funcref) (elem (i32.const 0) $f $g2)
    (func $f (export "f") (param i32 i64) (result i32) (local f32 v128)
      local.get 0 if (result i32) i32.const 1 else global.get $g end
      block (result i32) loop (result i32) local.get 0 br_if 1 i32.const 3 end end i32.add
      i32.const 0 i32.const 0 i32.const 4 memory.fill
      f32.const 1 f32.const 2 f32.div local.set 2
      local.get 3 local.get 3 f64x2.mul drop
      i32.const 1 memory.grow drop
      local.get 0 i32.const 1 call_indirect (result i32) drop)
    (func $g2 (result i32) i32.const 0 call_indirect (result i32))
    (data (i32.const 0) "abc"))`,
  `(module (func $a (param i32) (result i32 i32) local.get 0 local.get 0 return)
    (func (export "b") (result i32) i32.const 1 call $a i32.add)
    (start 2) (func))`,
];

const ALLOWED = new Set(['INVALID_BYTECODE', 'UNSUPPORTED_FEATURE', 'MEMORY_LIMIT', 'LIMIT_EXCEEDED']);

test('mutated modules: stable errors only, never invalid → valid', async () => {
  const bins = await Promise.all(SOURCES.map((s) => wat(s)));
  let accepted = 0;
  let rejected = 0;
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: bins.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      (which, muts) => {
        const b = bins[which]!.slice();
        for (const [at, v] of muts) b[8 + (at % (b.length - 8))] = v;
        const inputValid = WebAssembly.validate(b);
        try {
          const r = instrument(b, { canonicalizeNaN: true, maxMemoryPages: 16 });
          accepted++;
          assert.ok(inputValid, 'an invalid input was instrumented into a valid module');
          assert.ok(WebAssembly.validate(r.bytes));
        } catch (e) {
          rejected++;
          if (!(e instanceof EngineError) || !ALLOWED.has(e.code)) throw e;
        }
      },
    ),
    { numRuns: 3000, seed: 20261121 },
  );
  assert.ok(accepted > 0 && rejected > 0, `accepted ${accepted}, rejected ${rejected}`);
});
