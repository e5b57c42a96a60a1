/**
 * The engine's one error class: EngineError extends WasmvmTeeError (typed codes), is rebuilt from a
 * worker's `{ code, message }` by EngineError.fromWire, and is what src/engine throws (also from
 * values.ts and the cost table).
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineError } from '../../src/engine/errors.ts';
import * as engineIndex from '../../src/engine/index.ts';
import { compileCostTable, DEFAULT_COST_TABLE } from '../../src/engine/instrument/cost-table.ts';
import { instrument } from '../../src/engine/instrument/index.ts';
import { DEFAULT_LIMITS, resolveLimits } from '../../src/engine/limits.ts';
import { EngineError as EngineErrorFromTypes } from '../../src/engine/types.ts';
import { floatNumber, i32, parseValue } from '../../src/engine/values.ts';
import { isWasmvmTeeError, WasmvmTeeError } from '../../src/util/errors.ts';

function throwsEngineError(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof EngineError, `not an EngineError: ${String(e)}`);
    assert.ok(e instanceof WasmvmTeeError);
    assert.equal(e.code, code);
    assert.equal(e.name, 'EngineError');
    if (message) assert.match(e.message, message);
    return true;
  });
}

test('EngineError is a WasmvmTeeError with a code, a name and an optional cause', () => {
  const cause = new Error('inner');
  const e = new EngineError('INVALID_BYTECODE', 'section 3 ends past the module', { cause });
  assert.ok(e instanceof Error);
  assert.ok(e instanceof WasmvmTeeError);
  assert.ok(isWasmvmTeeError(e));
  assert.equal(e.code, 'INVALID_BYTECODE');
  assert.equal(e.name, 'EngineError');
  assert.equal(e.message, 'section 3 ends past the module');
  assert.equal(e.cause, cause);
});

test('types.ts and the engine index export the same EngineError', () => {
  assert.equal(EngineErrorFromTypes, EngineError);
  assert.equal(engineIndex.EngineError, EngineError);
});

test('EngineError.fromWire rebuilds an error sent by a worker', () => {
  const sent = new EngineError('UNKNOWN_IMPORT', 'unknown import env.f (func)');
  const wire = structuredClone({ type: 'error', id: 7, code: sent.code, message: sent.message });
  const back = EngineError.fromWire(wire);
  assert.ok(back instanceof EngineError);
  assert.equal(back.code, 'UNKNOWN_IMPORT');
  assert.equal(back.message, sent.message);
  const bare = EngineError.fromWire({}, 'preparation failed');
  assert.equal(bare.code, 'INTERNAL');
  assert.equal(bare.message, 'preparation failed');
  assert.equal(EngineError.fromWire({ code: 'MEMORY_LIMIT' }).message, 'engine error');
});

test('the cost table rejects a bad table with INVALID_ARGUMENT (message unchanged)', () => {
  const bad = { ...DEFAULT_COST_TABLE, version: 'x', ops: { 'no.such': 1 } };
  throwsEngineError(
    () => compileCostTable(bad),
    'INVALID_ARGUMENT',
    /^cost table: unknown instruction 'no.such'$/,
  );
  throwsEngineError(
    () => compileCostTable({ ...DEFAULT_COST_TABLE, version: 'x', base: -1 }),
    'INVALID_ARGUMENT',
    /^cost table: base must be an integer in \[0, 1000000\], got -1$/,
  );
  throwsEngineError(
    () => instrument(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]), { gas: { costTable: bad } }),
    'INVALID_ARGUMENT',
  );
});

test('instrument, values and limits throw EngineError with their codes', () => {
  throwsEngineError(() => instrument(new Uint8Array([1, 2, 3])), 'INVALID_BYTECODE');
  throwsEngineError(
    () => instrument(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]), { stackLimit: 0 }),
    'INVALID_ARGUMENT',
  );
  throwsEngineError(() => floatNumber(i32(1)), 'INVALID_ARGUMENT', /^not a float: i32$/);
  throwsEngineError(() => parseValue('i32', 'nope', 0), 'INVALID_ARGUMENT');
  throwsEngineError(() => resolveLimits(DEFAULT_LIMITS, { timeoutMs: -1 }), 'INVALID_ARGUMENT');
});
