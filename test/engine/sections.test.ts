import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { capMemoryMax, headerFuncType, readHeader } from '../../src/engine/sections.ts';
import { EngineError } from '../../src/engine/types.ts';
import { wat } from './helpers.ts';

// The engine's fallback header reader (used only when src/wasm is unavailable) and its memory capping.
test('readHeader: exports, signatures, imports, memory and table limits', () => {
  const m = readHeader(
    wat(`(module (import "a" "b" (func (param i64))) (memory 2 9) (table 3 funcref)
      (func (export "f") (param i32 f64) (result f32 i64) f32.const 0 i64.const 0) (start 0))`),
  );
  assert.deepEqual(m.exports, [{ name: 'f', kind: 'func', index: 1 }]);
  assert.deepEqual(headerFuncType(m, 1), { params: ['i32', 'f64'], results: ['f32', 'i64'] });
  assert.deepEqual(headerFuncType(m, 0), { params: ['i64'], results: [] });
  assert.equal(m.imports[0]!.module, 'a');
  assert.deepEqual(m.memories, [{ min: 2, max: 9, shared: false, index64: false }]);
  assert.deepEqual(m.tables, [{ min: 3 }]);
  assert.equal(m.start, 0);
  assert.throws(
    () => readHeader(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])),
    (e: unknown) => e instanceof EngineError && e.code === 'INVALID_BYTECODE',
  );
});

test('capMemoryMax rewrites the memory maximum and keeps the module valid', () => {
  const WA = (globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly;
  for (const decl of ['(memory 1)', '(memory 1 1000)', '(memory 2 3)']) {
    const bytes = wat(
      `(module ${decl} (func (export "f") (result i32) i32.const 1 memory.grow) (data (i32.const 0) "abc"))`,
    );
    const out = capMemoryMax(bytes, 4);
    assert.ok(WA.validate(out), decl);
    const mem = readHeader(out).memories[0]!;
    assert.equal(mem.max, Math.min(readHeader(bytes).memories[0]!.max ?? 4, 4));
    assert.deepEqual(readHeader(out).exports, readHeader(bytes).exports);
  }
});
