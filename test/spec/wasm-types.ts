/**
 * The types of a module's exported functions and globals (V8 exposes no type reflection by default),
 * read with the project's own reader (src/wasm). Used by the spec runner's call wrappers and the fuzzers.
 */
import {
  type FuncType,
  funcTypeOf,
  type GlobalType,
  readModule,
  type ValType,
} from '../../src/wasm/index.ts';

export type { FuncType, ValType };

export interface ExportTypes {
  funcs: Map<string, FuncType>;
  globals: Map<string, GlobalType>;
}

export function exportTypes(bytes: Uint8Array): ExportTypes {
  const m = readModule(bytes);
  const globals: GlobalType[] = [];
  for (const i of m.imports) if (i.kind === 'global') globals.push(i.global);
  for (const g of m.globals) globals.push({ type: g.type, mutable: g.mutable });
  const out: ExportTypes = { funcs: new Map(), globals: new Map() };
  for (const e of m.exports) {
    if (e.kind === 'func') out.funcs.set(e.name, funcTypeOf(m, e.index));
    else if (e.kind === 'global') out.globals.set(e.name, globals[e.index]!);
  }
  return out;
}
