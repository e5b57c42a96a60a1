/**
 * Module inspection for the engine: export signatures, imports, memory and table limits, read with the
 * project's Wasm reader (src/wasm); validation of function bodies is left to V8's compiler.
 */
import {
  funcTypeOf,
  readModule,
  type Limits as WasmLimits,
  type WasmModule,
  writeModule,
} from '../wasm/index.ts';
import { EngineError } from './errors.ts';
import type { ValueType } from './types.ts';

export type AnyValType = ValueType | 'v128' | 'funcref' | 'externref' | string;

export interface ModuleInfo {
  exports: Map<string, { kind: string; params?: AnyValType[]; results?: AnyValType[] }>;
  imports: { module: string; name: string; kind: string }[];
  memories: { min: number; max?: number; shared?: boolean; index64?: boolean; imported: boolean }[];
  tables: { min: number; max?: number; imported: boolean }[];
  hasStart: boolean;
}

/** Read a module for the engine (format errors become EngineError INVALID_BYTECODE / UNSUPPORTED_FEATURE). */
export function readWasm(bytes: Uint8Array): WasmModule {
  try {
    return readModule(bytes);
  } catch (e) {
    if (e instanceof EngineError) throw e;
    const unsupported = (e as { code?: string }).code === 'UNSUPPORTED_FEATURE';
    throw new EngineError(
      unsupported ? 'UNSUPPORTED_FEATURE' : 'INVALID_BYTECODE',
      `${unsupported ? 'unsupported' : 'invalid'} Wasm bytecode: ${(e as Error).message}`,
    );
  }
}

/**
 * Lower every defined table's maximum to `cap` (table.grow beyond it then returns -1, as spec'd).
 * Returns the bytes unchanged when no table needs it.
 */
export function capTableMax(bytes: Uint8Array, cap: number): Uint8Array {
  const m = readWasm(bytes);
  if (m.tables.every((t) => t.limits.max !== undefined && t.limits.max <= cap)) return bytes;
  for (const t of m.tables) t.limits = { min: t.limits.min, max: Math.min(t.limits.max ?? cap, cap) };
  return writeModule(m);
}

function limits(l: WasmLimits): { min: number; max?: number } {
  const out: { min: number; max?: number } = { min: l.min };
  if (l.max !== undefined) out.max = l.max;
  return out;
}

export function inspect(bytes: Uint8Array, m: WasmModule = readWasm(bytes)): ModuleInfo {
  const exports: ModuleInfo['exports'] = new Map();
  for (const e of m.exports) {
    if (e.kind === 'func') {
      const t = funcTypeOf(m, e.index);
      exports.set(e.name, { kind: e.kind, params: [...t.params], results: [...t.results] });
    } else exports.set(e.name, { kind: e.kind });
  }
  const memories: ModuleInfo['memories'] = [];
  const tables: ModuleInfo['tables'] = [];
  for (const i of m.imports) {
    if (i.kind === 'memory') {
      memories.push({
        ...limits(i.memory),
        shared: !!i.memory.shared,
        index64: !!i.memory.index64,
        imported: true,
      });
    } else if (i.kind === 'table') tables.push({ ...limits(i.table.limits), imported: true });
  }
  for (const x of m.memories) {
    memories.push({ ...limits(x), shared: !!x.shared, index64: !!x.index64, imported: false });
  }
  for (const t of m.tables) tables.push({ ...limits(t.limits), imported: false });
  return {
    exports,
    imports: m.imports.map((i) => ({ module: i.module, name: i.name, kind: i.kind })),
    memories,
    tables,
    hasStart: m.start !== undefined,
  };
}
