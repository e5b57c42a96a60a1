/**
 * Module inspection for the engine: export signatures, imports, memory and table limits.
 * Uses B1's reader (src/wasm) — see loadWasmLib(); validation of function bodies is left to V8's compiler.
 */
import { type HeaderModule, headerFuncType, readHeader } from './sections.ts';
import { EngineError, type ValueType } from './types.ts';

export type AnyValType = ValueType | 'v128' | 'funcref' | 'externref' | string;

export interface ModuleInfo {
  exports: Map<string, { kind: string; params?: AnyValType[]; results?: AnyValType[] }>;
  imports: { module: string; name: string; kind: string }[];
  memories: { min: number; max?: number; shared?: boolean; index64?: boolean; imported: boolean }[];
  tables: { min: number; max?: number; imported: boolean }[];
  hasStart: boolean;
}

// Minimal shape of B1's reader that the engine relies on (src/wasm/index.ts).
interface WasmLib {
  readModule(bytes: Uint8Array): {
    imports: { module: string; name: string; kind: string; [k: string]: unknown }[];
    tables: { min?: number; max?: number; limits?: { min: number; max?: number }; [k: string]: unknown }[];
    memories: { min: number; max?: number; shared?: boolean; index64?: boolean }[];
    exports: { name: string; kind: string; index: number }[];
    start?: number;
  };
  funcTypeOf(m: unknown, funcIndex: number): { params: string[]; results: string[] };
  writeModule?(m: unknown): Uint8Array;
}

/**
 * Lower every defined table's maximum to `cap` (table.grow beyond it then returns -1, as spec'd).
 * Needs B1's writer; returns the bytes unchanged when no table needs it.
 */
export async function capTableMax(bytes: Uint8Array, cap: number): Promise<Uint8Array> {
  const lib = await loadWasmLib();
  if (!lib.writeModule) return bytes;
  const m = lib.readModule(bytes) as unknown as { tables: { limits?: { min: number; max?: number } }[] };
  if (m.tables.every((t) => !t.limits || (t.limits.max !== undefined && t.limits.max <= cap))) return bytes;
  for (const t of m.tables) {
    if (t.limits) t.limits = { min: t.limits.min, max: Math.min(t.limits.max ?? cap, cap) };
  }
  return lib.writeModule(m);
}

let lib: Promise<WasmLib> | undefined;

/** B1's reader when present; otherwise the engine's small header reader (sections.ts). */
export function loadWasmLib(): Promise<WasmLib> {
  lib ??= (async () => {
    const url = new URL(`../wasm/index${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url)
      .href;
    try {
      const m = (await import(url)) as Partial<WasmLib>;
      if (typeof m.readModule === 'function' && typeof m.funcTypeOf === 'function') return m as WasmLib;
    } catch {
      /* fall back */
    }
    return {
      readModule: readHeader,
      funcTypeOf: (m: unknown, i: number) => headerFuncType(m as HeaderModule, i),
    } as unknown as WasmLib;
  })();
  return lib;
}

function limitsOf(t: Record<string, unknown>): { min: number; max?: number } {
  const l = (t.limits as { min: number; max?: number } | undefined) ?? (t as { min: number; max?: number });
  const out: { min: number; max?: number } = { min: Number(l.min) };
  if (l.max !== undefined && l.max !== null) out.max = Number(l.max);
  return out;
}

export function inspectWith(lib: WasmLib, bytes: Uint8Array): ModuleInfo {
  let m: ReturnType<WasmLib['readModule']>;
  try {
    m = lib.readModule(bytes);
  } catch (e) {
    if (e instanceof EngineError) throw e;
    const unsupported = (e as { code?: string }).code === 'UNSUPPORTED_FEATURE';
    throw new EngineError(
      unsupported ? 'UNSUPPORTED_FEATURE' : 'INVALID_BYTECODE',
      `${unsupported ? 'unsupported' : 'invalid'} Wasm bytecode: ${(e as Error).message}`,
    );
  }
  const exports: ModuleInfo['exports'] = new Map();
  for (const e of m.exports) {
    if (e.kind === 'func') {
      const t = lib.funcTypeOf(m, e.index);
      exports.set(e.name, { kind: e.kind, params: [...t.params], results: [...t.results] });
    } else exports.set(e.name, { kind: e.kind });
  }
  const importedMem = m.imports.filter((i) => i.kind === 'memory');
  const importedTab = m.imports.filter((i) => i.kind === 'table');
  return {
    exports,
    imports: m.imports.map((i) => ({ module: i.module, name: i.name, kind: i.kind })),
    memories: [
      ...importedMem.map((i) => ({
        ...limitsOf((i.memory ?? i.type ?? i) as Record<string, unknown>),
        imported: true,
      })),
      ...m.memories.map((x) => ({
        ...limitsOf(x as Record<string, unknown>),
        shared: !!x.shared,
        index64: !!x.index64,
        imported: false,
      })),
    ],
    tables: [
      ...importedTab.map((i) => ({
        ...limitsOf((i.table ?? i.type ?? i) as Record<string, unknown>),
        imported: true,
      })),
      ...m.tables.map((x) => ({ ...limitsOf(x as Record<string, unknown>), imported: false })),
    ],
    hasStart: m.start !== undefined,
  };
}
