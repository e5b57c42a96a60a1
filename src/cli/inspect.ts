/**
 * `wasmvm-tee inspect module.wasm`: a module's imports and exports with their signatures, read with the
 * project's Wasm reader (src/wasm); a truncated or malformed module is an input error with its offset.
 */
import { readFile } from 'node:fs/promises';
import {
  type FuncType,
  funcTypeOf,
  type GlobalType,
  type ImportDesc,
  type Limits,
  readModule,
  type WasmModule,
} from '../wasm/index.ts';
import { EXIT, EXIT_TABLE } from './exit-codes.ts';
import { parseArgs, reportUsage, UsageError } from './usage.ts';

export const summary = "list a module's imports and exports with their signatures";

export const help = `Usage: wasmvm-tee inspect module.wasm [--json]

Reads the module (binary .wasm) and lists its imports and exports: functions with their parameter and
result types, memories and tables with their limits, globals with their type. Nothing is executed.
A truncated or malformed module is an input error (exit 2) naming the byte offset.

Options:
  --json       print {"imports": [...], "exports": [...], "start": bool}
  -h, --help   this help

${EXIT_TABLE}`;

/** One import or export, with its signature. */
export interface Entry {
  module?: string;
  name: string;
  kind: 'func' | 'table' | 'memory' | 'global';
  params?: string[];
  results?: string[];
  min?: number;
  max?: number;
  shared?: boolean;
  index64?: boolean;
  elemType?: string;
  type?: string;
  mutable?: boolean;
}

export interface ModuleListing {
  imports: Entry[];
  exports: Entry[];
  start: boolean;
}

function limits(l: Limits | { min: number; max?: number }): { min: number; max?: number } {
  return l.max === undefined ? { min: l.min } : { min: l.min, max: l.max };
}

function funcEntry(t: FuncType): Pick<Entry, 'params' | 'results'> {
  return { params: [...t.params], results: [...t.results] };
}

function globalEntry(g: GlobalType): Pick<Entry, 'type' | 'mutable'> {
  return { type: g.type, mutable: g.mutable };
}

function describeImport(m: WasmModule, d: ImportDesc): Omit<Entry, 'name' | 'module'> {
  switch (d.kind) {
    case 'func': {
      const t = m.types[d.type];
      if (!t) throw new UsageError('BAD_INPUT', `malformed module: import of unknown type ${d.type}`);
      return { kind: 'func', ...funcEntry(t) };
    }
    case 'table':
      return { kind: 'table', elemType: d.table.elemType, ...limits(d.table.limits) };
    case 'memory':
      return {
        kind: 'memory',
        ...limits(d.memory),
        ...(d.memory.shared ? { shared: true } : {}),
        ...(d.memory.index64 ? { index64: true } : {}),
      };
    case 'global':
      return { kind: 'global', ...globalEntry(d.global) };
  }
}

/** Imports and exports of a module, with signatures; a format error is a BAD_INPUT UsageError. */
export function listModule(bytes: Uint8Array): ModuleListing {
  let m: WasmModule;
  try {
    m = readModule(bytes);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'INVALID_BYTECODE' || code === 'UNSUPPORTED_FEATURE')
      throw new UsageError('BAD_INPUT', `${code}: ${(e as Error).message}`, { cause: e });
    throw e;
  }
  const imports: Entry[] = m.imports.map((i) => ({
    module: i.module,
    name: i.name,
    ...describeImport(m, i),
  }));
  // index spaces: imported entities first, then the module's own
  const own = {
    table: m.imports.filter((i) => i.kind === 'table').length,
    memory: m.imports.filter((i) => i.kind === 'memory').length,
    global: m.imports.filter((i) => i.kind === 'global').length,
  };
  const importedOf = (kind: ImportDesc['kind']) => m.imports.filter((i) => i.kind === kind);
  const exports: Entry[] = m.exports.map((e) => {
    try {
      switch (e.kind) {
        case 'func':
          return { name: e.name, kind: 'func', ...funcEntry(funcTypeOf(m, e.index)) };
        case 'table': {
          const imp = importedOf('table')[e.index];
          const t = imp?.kind === 'table' ? imp.table : m.tables[e.index - own.table];
          if (!t) throw new UsageError('BAD_INPUT', `unknown table ${e.index}`);
          return { name: e.name, kind: 'table', elemType: t.elemType, ...limits(t.limits) };
        }
        case 'memory': {
          const imp = importedOf('memory')[e.index];
          const t = imp?.kind === 'memory' ? imp.memory : m.memories[e.index - own.memory];
          if (!t) throw new UsageError('BAD_INPUT', `unknown memory ${e.index}`);
          return {
            name: e.name,
            kind: 'memory',
            ...limits(t),
            ...(t.shared ? { shared: true } : {}),
            ...(t.index64 ? { index64: true } : {}),
          };
        }
        case 'global': {
          const imp = importedOf('global')[e.index];
          const g = imp?.kind === 'global' ? imp.global : m.globals[e.index - own.global];
          if (!g) throw new UsageError('BAD_INPUT', `unknown global ${e.index}`);
          return { name: e.name, kind: 'global', ...globalEntry(g) };
        }
      }
      throw new UsageError('BAD_INPUT', `unknown export kind '${String(e.kind)}'`);
    } catch (x) {
      // funcTypeOf's WasmFormatError, or an index past the module's own entities
      throw new UsageError('BAD_INPUT', `malformed module: export '${e.name}': ${(x as Error).message}`, {
        cause: x,
      });
    }
  });
  return { imports, exports, start: m.start !== undefined };
}

/** One line per entry: `func add(i32, i32) -> i32`, `memory memory 1..16 pages`, `global g: mut i32`. */
export function formatEntry(e: Entry): string {
  const name = e.module !== undefined ? `${e.module}.${e.name}` : e.name;
  switch (e.kind) {
    case 'func': {
      const res = e.results ?? [];
      const r = res.length === 0 ? '' : ` -> ${res.length === 1 ? res[0] : `(${res.join(', ')})`}`;
      return `func ${name}(${(e.params ?? []).join(', ')})${r}`;
    }
    case 'memory':
      return `memory ${name} ${e.min}..${e.max ?? ''} pages${e.shared ? ' shared' : ''}${e.index64 ? ' i64' : ''}`;
    case 'table':
      return `table ${name} ${e.elemType} ${e.min}..${e.max ?? ''}`;
    case 'global':
      return `global ${name}: ${e.mutable ? 'mut ' : ''}${e.type}`;
  }
}

export async function main(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs(argv, { json: { type: 'boolean' } }, true);
    const [file, ...extra] = positionals;
    if (file === undefined) throw new UsageError('USAGE', 'give the module: inspect module.wasm');
    if (extra.length > 0) throw new UsageError('USAGE', `unexpected argument '${extra[0]}'`);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(file));
    } catch (e) {
      throw new UsageError('BAD_INPUT', `cannot read ${file}: ${(e as Error).message}`);
    }
    const l = listModule(bytes);
    if (values.json) {
      console.log(JSON.stringify(l, null, 2));
      return EXIT.OK;
    }
    console.log(
      `${file}: ${l.imports.length} import(s), ${l.exports.length} export(s)${l.start ? ', start function' : ''}`,
    );
    if (l.imports.length > 0) console.log('imports:');
    for (const e of l.imports) console.log(`  ${formatEntry(e)}`);
    if (l.exports.length > 0) console.log('exports:');
    for (const e of l.exports) console.log(`  ${formatEntry(e)}`);
    return EXIT.OK;
  } catch (e) {
    if (e instanceof UsageError) return reportUsage('inspect', e, console.error, help);
    throw e;
  }
}
