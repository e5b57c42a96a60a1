/**
 * The checks in front of the instrumentation: options, features outside Wasm 2.0, reserved export
 * names, the memory cap, and the index-space references outside code (the instrumentation appends
 * globals and types: they must not be reachable from the module as given).
 */
import { decodeInstructions, importCount, type WasmModule } from '../../wasm/index.ts';
import { EngineError } from '../errors.ts';
import { type CompiledCosts, compileCostTable, DEFAULT_COST_TABLE } from './cost-table.ts';
import type { InstrumentOptions } from './types.ts';

const RESERVED_EXPORT = /^__wasmvm_|^__instrumented_use_gas$/;

export function fail(code: 'INVALID_BYTECODE' | 'UNSUPPORTED_FEATURE' | 'MEMORY_LIMIT', msg: string): never {
  throw new EngineError(code, msg);
}

/** Rethrows a decoder error (with a code of its own) as the EngineError of that code. */
export function translate(e: unknown): never {
  if (e instanceof EngineError) throw e;
  const err = e as { code?: string; message?: string };
  if (err?.code === 'INVALID_BYTECODE')
    throw new EngineError('INVALID_BYTECODE', err.message ?? 'invalid bytecode');
  if (err?.code === 'UNSUPPORTED_FEATURE')
    throw new EngineError('UNSUPPORTED_FEATURE', err.message ?? 'unsupported feature');
  throw e;
}

/** The compiled cost table of the options (null: no gas metering); INVALID_ARGUMENT on a bad table. */
export function gasCosts(gasOpt: InstrumentOptions['gas'] & {}): CompiledCosts | null {
  if (gasOpt === false) return null;
  try {
    return compileCostTable(gasOpt.costTable ?? DEFAULT_COST_TABLE);
  } catch (e) {
    throw new EngineError('INVALID_ARGUMENT', (e as Error).message);
  }
}

export function checkStackLimit(stackLimit: number | false): void {
  if (stackLimit !== false && (!Number.isInteger(stackLimit) || stackLimit < 1 || stackLimit > 0x7fffffff))
    throw new EngineError(
      'INVALID_ARGUMENT',
      `stackLimit must be an integer in [1, 2^31-1], got ${stackLimit}`,
    );
}

export function checkFeatures(m: WasmModule): void {
  let memories = m.memories.length;
  for (const im of m.imports) {
    if (im.kind === 'memory') {
      memories++;
      checkMemory(im.memory);
    }
  }
  for (const mem of m.memories) checkMemory(mem);
  if (memories > 1) fail('UNSUPPORTED_FEATURE', 'unsupported Wasm feature: multiple memories');
  for (const e of m.exports)
    if (RESERVED_EXPORT.test(e.name))
      fail('UNSUPPORTED_FEATURE', `export name '${e.name}' is reserved for the metering instrumentation`);
}

function checkMemory(mem: { shared?: boolean; index64?: boolean }): void {
  if (mem.shared) fail('UNSUPPORTED_FEATURE', 'unsupported Wasm feature: threads (shared memory)');
  if (mem.index64) fail('UNSUPPORTED_FEATURE', 'unsupported Wasm feature: memory64');
}

export function capMemory(m: WasmModule, cap: number | undefined): number | undefined {
  let mem = m.memories[0];
  for (const im of m.imports) if (im.kind === 'memory') mem = im.memory;
  if (!mem) return undefined;
  if (cap === undefined) return mem.max;
  if (!Number.isInteger(cap) || cap < 0 || cap > 65536)
    throw new EngineError('INVALID_ARGUMENT', `maxMemoryPages must be an integer in [0, 65536], got ${cap}`);
  if (mem.min > cap)
    fail('MEMORY_LIMIT', `module declares a minimum of ${mem.min} memory pages, above the limit of ${cap}`);
  mem.max = mem.max === undefined ? cap : Math.min(mem.max, cap);
  return mem.max;
}

/** Index-space references outside code (the instrumentation appends globals/types: they must not be reachable). */
export function checkIndices(m: WasmModule, nFuncs: number, nGlobals: number): void {
  const count = {
    func: nFuncs,
    global: nGlobals,
    table: importCount(m, 'table') + m.tables.length,
    memory: importCount(m, 'memory') + m.memories.length,
  };
  for (const e of m.exports)
    if (e.index >= count[e.kind])
      fail('INVALID_BYTECODE', `export '${e.name}' refers to unknown ${e.kind} ${e.index}`);
  if (m.start !== undefined && m.start >= nFuncs)
    fail('INVALID_BYTECODE', `unknown start function ${m.start}`);
  for (const el of m.elements) {
    if (el.mode === 'active' && el.table >= count.table)
      fail('INVALID_BYTECODE', `unknown table ${el.table}`);
    if (el.funcs)
      for (const f of el.funcs) if (f >= nFuncs) fail('INVALID_BYTECODE', `unknown function ${f} in element`);
  }
}

export function checkConstExprs(m: WasmModule, nGlobals: number, nFuncs: number): void {
  const check = (expr: Uint8Array | undefined): void => {
    if (!expr) return;
    if (expr.length === 3 && (expr[0] === 0x41 || expr[0] === 0x42) && expr[2] === 0x0b) return; // fast path
    for (const ins of decodeInstructions(expr)) {
      if (ins.op === 0x23 && ins.a! >= nGlobals)
        fail('INVALID_BYTECODE', `unknown global ${ins.a} in constant expression`);
      if (ins.op === 0xd2 && ins.a! >= nFuncs)
        fail('INVALID_BYTECODE', `unknown function ${ins.a} in constant expression`);
    }
  };
  try {
    for (const g of m.globals) check(g.init);
    for (const el of m.elements) {
      check(el.offset);
      if (el.exprs) for (const e of el.exprs) check(e);
    }
    for (const d of m.datas) check(d.offset);
  } catch (e) {
    translate(e);
  }
}
