/**
 * A small generator of hostile (and near-limit) Wasm modules for the limit tests, the differential
 * fuzzer and the abuse suite: modules are built in memory, never committed as large files.
 */
import { type Code, type WasmModule, writeModule } from '../../src/wasm/index.ts';

export interface GenOptions {
  tables?: number;
  tableElements?: number;
  memories?: number;
  globals?: number;
  dataSegments?: number;
  dataBytes?: number;
  elementSegments?: number;
  elementItems?: number;
  /** Extra functions (besides the exported one), empty or with `loopsPerFunction` loops each. */
  functions?: number;
  loopsPerFunction?: number;
  /** i32 locals of the exported function. */
  locals?: number;
  /** A br_table with this many targets in the exported function ... */
  brTableTargets?: number;
  /** ... repeated this many times (default 1). */
  brTables?: number;
  /** Nested blocks of this depth in the exported function. */
  nesting?: number;
  /** `loop end` pairs in the exported function. */
  loops?: number;
  /** `nop`s in the exported function (body size). */
  nops?: number;
  /** A counting loop of this many iterations first (the "hot loop" that gets tiered up). */
  hotLoop?: number;
  /** Pages of memory the exported function grows and fills (memory bomb). */
  fillPages?: number;
  /** End with an infinite loop (`loop br 0 end`). */
  spin?: boolean;
}

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** Fill `parts` into one Uint8Array (bodies of several MB are built by repeating small patterns). */
function concat(parts: (number[] | Uint8Array)[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function repeat(pattern: number[], times: number): Uint8Array {
  const out = new Uint8Array(pattern.length * times);
  for (let i = 0; i < times; i++) out.set(pattern, i * pattern.length);
  return out;
}

/** The exported function is "run" (param i32) (no results); the module's features follow `o`. */
export function generate(o: GenOptions): Uint8Array {
  const parts: (number[] | Uint8Array)[] = [];
  if (o.hotLoop) {
    // (local i32 counter at index 1): loop: counter++ ; br_if counter < N
    parts.push([
      0x03,
      0x40,
      0x20,
      0x01,
      0x41,
      0x01,
      0x6a,
      0x22,
      0x01,
      0x41,
      ...sleb(o.hotLoop),
      0x48,
      0x0d,
      0x00,
      0x0b,
    ]);
  }
  if (o.fillPages) {
    parts.push([0x41, ...sleb(o.fillPages), 0x40, 0x00, 0x1a]); // memory.grow, drop
    parts.push([0x41, 0x00, 0x41, 0x01, 0x41, ...sleb(o.fillPages * 65536), 0xfc, 0x0b, 0x00]); // memory.fill
  }
  if (o.brTableTargets !== undefined) {
    const t = o.brTableTargets;
    const one = concat([[0x02, 0x40, 0x20, 0x00, 0x0e, ...leb(t)], repeat([0x00], t), [0x00, 0x0b]]);
    for (let i = 0; i < (o.brTables ?? 1); i++) parts.push(one);
  }
  if (o.nesting) parts.push(repeat([0x02, 0x40], o.nesting), repeat([0x0b], o.nesting));
  if (o.loops) parts.push(repeat([0x03, 0x40, 0x0b], o.loops));
  if (o.nops) parts.push(repeat([0x01], o.nops));
  if (o.spin) parts.push([0x03, 0x40, 0x0c, 0x00, 0x0b]);
  parts.push([0x0b]);
  const locals = Math.max(o.locals ?? 0, o.hotLoop ? 1 : 0);
  const run: Code = { locals: locals > 0 ? [[locals, 'i32']] : [], body: concat(parts) };
  const extra = o.functions ?? 0;
  const m: WasmModule = {
    types: [
      { params: ['i32'], results: [] },
      { params: [], results: [] },
    ],
    imports: [],
    functions: [0, ...new Array<number>(extra).fill(1)],
    tables: Array.from({ length: o.tables ?? 0 }, () => ({
      elemType: 'funcref' as const,
      limits: { min: o.tableElements ?? 0 },
    })),
    memories:
      o.memories === 0
        ? []
        : Array.from({ length: o.memories ?? (o.fillPages || o.dataSegments ? 1 : 0) }, () => ({ min: 1 })),
    globals: Array.from({ length: o.globals ?? 0 }, () => ({
      type: 'i32' as const,
      mutable: false,
      init: new Uint8Array([0x41, 0x00, 0x0b]),
    })),
    exports: [{ name: 'run', kind: 'func', index: 0 }],
    elements: Array.from({ length: o.elementSegments ?? 0 }, () => ({
      flags: 1,
      mode: 'passive' as const,
      table: 0,
      type: 'funcref' as const,
      funcs: new Array<number>(o.elementItems ?? 0).fill(0),
    })),
    datas: Array.from({ length: o.dataSegments ?? 0 }, () => ({
      flags: 1,
      mode: 'passive' as const,
      memory: 0,
      data: new Uint8Array(o.dataBytes ?? 0),
    })),
    codes: [
      run,
      ...new Array<Code>(extra).fill({
        locals: [],
        body: concat([repeat([0x03, 0x40, 0x0b], o.loopsPerFunction ?? 0), [0x0b]]),
      }),
    ],
    customs: [],
  };
  if (m.datas.length > 0) m.dataCount = m.datas.length;
  return writeModule(m);
}
