/**
 * Module-level reader and writer for the Wasm 2.0 binary format.
 * Code bodies, constant expressions, data and custom sections are kept as views of the input
 * bytes (no copies), so reading is cheap and an unchanged module writes back byte for byte
 * (for canonical LEB128 encodings).
 */
import { Reader, WasmFormatError, Writer } from './bytes.ts';
import { readConstExpr, readValTypeByte, WasmFeatureError } from './code.ts';

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref';

export const VALTYPE_BYTE: Readonly<Record<ValType, number>> = {
  i32: 0x7f,
  i64: 0x7e,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
  funcref: 0x70,
  externref: 0x6f,
};
const BYTE_VALTYPE: ValType[] = [];
for (const [k, v] of Object.entries(VALTYPE_BYTE)) BYTE_VALTYPE[v] = k as ValType;

export function valTypeFromByte(b: number): ValType {
  const t = BYTE_VALTYPE[b];
  if (!t) throw new WasmFormatError(`malformed value type 0x${b.toString(16)}`, 0);
  return t;
}

export interface FuncType {
  params: ValType[];
  results: ValType[];
}
export interface Limits {
  min: number;
  max?: number;
}
export interface TableType {
  elemType: ValType;
  limits: Limits;
}
export interface MemoryType {
  min: number;
  max?: number;
  shared?: boolean;
  index64?: boolean;
}
export interface GlobalType {
  type: ValType;
  mutable: boolean;
}
export type ImportDesc =
  | { kind: 'func'; type: number }
  | { kind: 'table'; table: TableType }
  | { kind: 'memory'; memory: MemoryType }
  | { kind: 'global'; global: GlobalType };
export type Import = { module: string; name: string } & ImportDesc;
export type ExternKind = 'func' | 'table' | 'memory' | 'global';
export interface Export {
  name: string;
  kind: ExternKind;
  index: number;
}
export interface Global extends GlobalType {
  /** The constant initializer expression's bytes, `end` included. */
  init: Uint8Array;
}
export interface Element {
  /** The segment's encoding flags (0-7). */
  flags: number;
  mode: 'active' | 'passive' | 'declarative';
  table: number;
  /** Offset expression bytes (active segments), `end` included. */
  offset?: Uint8Array;
  type: ValType;
  /** Function indices (flags 0-3). */
  funcs?: number[];
  /** Element expressions (flags 4-7), each with its `end`. */
  exprs?: Uint8Array[];
}
export interface Data {
  /** The segment's encoding flags (0-2). */
  flags: number;
  mode: 'active' | 'passive';
  memory: number;
  offset?: Uint8Array;
  data: Uint8Array;
}
export interface Code {
  locals: [number, ValType][];
  /** The body expression (after the locals), final `end` included. */
  body: Uint8Array;
  /** Offset of `body` in the module it was read from (error messages); 0 for new code. */
  offset?: number;
}
export interface Custom {
  name: string;
  data: Uint8Array;
  /** Id of the last non-custom section before this one (0 = before all of them). */
  after: number;
}
export interface WasmModule {
  types: FuncType[];
  imports: Import[];
  /** Type index per defined (non-imported) function. */
  functions: number[];
  tables: TableType[];
  memories: MemoryType[];
  globals: Global[];
  exports: Export[];
  start?: number;
  elements: Element[];
  datas: Data[];
  dataCount?: number;
  codes: Code[];
  customs: Custom[];
}

export const SECTION_ORDER = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 10, 11] as const;
const ORDER_RANK: number[] = [];
SECTION_ORDER.forEach((id, i) => {
  ORDER_RANK[id] = i + 1;
});
const KINDS: ExternKind[] = ['func', 'table', 'memory', 'global'];

function readValType(r: Reader): ValType {
  return BYTE_VALTYPE[readValTypeByte(r)]!;
}

function readRefType(r: Reader): ValType {
  const at = r.pos;
  const t = readValTypeByte(r);
  if (t !== 0x70 && t !== 0x6f) r.fail('malformed reference type', at);
  return BYTE_VALTYPE[t]!;
}

function readLimits(r: Reader, memory: boolean): MemoryType {
  const at = r.pos;
  const flags = r.u8();
  const base = r.base;
  if (flags > 7 || (!memory && flags > 1)) {
    if (!memory && flags <= 7) throw new WasmFeatureError('table64 / shared tables', base + at);
    r.fail('malformed limits flags', at);
  }
  const index64 = (flags & 4) !== 0;
  const shared = (flags & 2) !== 0;
  const rd = (): number => {
    if (index64) {
      const v = r.u64();
      return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
    }
    return r.u32();
  };
  const out: MemoryType = { min: rd() };
  if (flags & 1) out.max = rd();
  if (shared) out.shared = true;
  if (index64) out.index64 = true;
  return out;
}

function readFuncType(r: Reader): FuncType {
  const at = r.pos;
  const form = r.u8();
  if (form !== 0x60) {
    if (form === 0x5e || form === 0x5f || form === 0x4e || form === 0x50 || form === 0x4f)
      throw new WasmFeatureError('GC types', r.base + at);
    r.fail('malformed function type (expected 0x60)', at);
  }
  const np = r.u32();
  const params: ValType[] = [];
  for (let i = 0; i < np; i++) params.push(readValType(r));
  const nr = r.u32();
  const results: ValType[] = [];
  for (let i = 0; i < nr; i++) results.push(readValType(r));
  return { params, results };
}

function readFuncIndices(r: Reader): number[] {
  const n = r.u32();
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(r.u32());
  return out;
}

function readElement(r: Reader): Element {
  const at = r.pos;
  const flags = r.u32();
  if (flags > 7) r.fail('malformed element segment flags', at);
  const el: Element = {
    flags,
    mode: flags & 1 ? (flags & 2 ? 'declarative' : 'passive') : 'active',
    table: 0,
    type: 'funcref',
  };
  if ((flags & 1) === 0) {
    if (flags & 2) el.table = r.u32();
    el.offset = readConstExpr(r);
  }
  const usesExprs = (flags & 4) !== 0;
  if (flags & 3) {
    // Explicit element kind (0x00 = funcref) or reference type.
    if (usesExprs) el.type = readRefType(r);
    else {
      const k = r.u8();
      if (k !== 0) r.fail('malformed element kind', r.pos - 1);
    }
  }
  if (usesExprs) {
    const n = r.u32();
    el.exprs = [];
    for (let i = 0; i < n; i++) el.exprs.push(readConstExpr(r));
  } else el.funcs = readFuncIndices(r);
  return el;
}

function readData(r: Reader): Data {
  const at = r.pos;
  const flags = r.u32();
  if (flags > 2) r.fail('malformed data segment flags', at);
  const d: Data = { flags, mode: flags === 1 ? 'passive' : 'active', memory: 0, data: new Uint8Array(0) };
  if (flags === 2) {
    const mAt = r.pos;
    d.memory = r.u32();
    if (d.memory !== 0) throw new WasmFeatureError('multiple memories (data segment)', r.base + mAt);
  }
  if (flags !== 1) d.offset = readConstExpr(r);
  const n = r.u32();
  d.data = r.take(n);
  return d;
}

function readCode(r: Reader, end: number): Code {
  const locals: [number, ValType][] = [];
  const ngroups = r.u32();
  let total = 0;
  for (let i = 0; i < ngroups; i++) {
    const at = r.pos;
    const c = r.u32();
    total += c;
    if (total > 50000) r.fail('too many locals', at);
    locals.push([c, readValType(r)]);
  }
  if (r.pos > end) r.fail('code entry overruns its size', end);
  const offset = r.base + r.pos;
  const body = r.bytes.subarray(r.pos, end);
  r.pos = end;
  return { locals, body, offset };
}

/** Parses a module. Throws WasmFormatError (code 'INVALID_BYTECODE') or WasmFeatureError ('UNSUPPORTED_FEATURE'). */
export function readModule(bytes: Uint8Array): WasmModule {
  const r = new Reader(bytes);
  if (bytes.length < 8) r.fail('too short to be a Wasm module', 0);
  if (bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d)
    r.fail('magic header not detected', 0);
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) {
    if (bytes[4] === 0x0d || bytes[6] === 0x01) throw new WasmFeatureError('component model binary', 4);
    r.fail('unknown binary version', 4);
  }
  r.pos = 8;
  const m: WasmModule = {
    types: [],
    imports: [],
    functions: [],
    tables: [],
    memories: [],
    globals: [],
    exports: [],
    elements: [],
    datas: [],
    codes: [],
    customs: [],
  };
  let lastId = 0;
  let lastRank = 0;
  let sawFunctions = false;
  let sawCode = false;
  while (!r.eof()) {
    const idAt = r.pos;
    const id = r.u8();
    const size = r.u32();
    const start = r.pos;
    const end = start + size;
    if (end > bytes.length) r.fail('section size mismatch (section runs past the end)', idAt);
    const sr = new Reader(bytes, start, end, 0);
    if (id === 0) {
      const name = sr.name();
      m.customs.push({ name, data: bytes.subarray(sr.pos, end), after: lastId });
      r.pos = end;
      continue;
    }
    if (id === 13) throw new WasmFeatureError('exception handling (tag section)', idAt);
    const rank = ORDER_RANK[id];
    if (rank === undefined) r.fail(`malformed section id ${id}`, idAt);
    if (rank <= lastRank) r.fail(`unexpected section id ${id} (out of order or duplicate)`, idAt);
    lastRank = rank;
    lastId = id;
    switch (id) {
      case 1: {
        const n = sr.u32();
        for (let i = 0; i < n; i++) m.types.push(readFuncType(sr));
        break;
      }
      case 2: {
        const n = sr.u32();
        for (let i = 0; i < n; i++) {
          const module = sr.name();
          const name = sr.name();
          const kAt = sr.pos;
          const kind = sr.u8();
          if (kind === 0) m.imports.push({ module, name, kind: 'func', type: sr.u32() });
          else if (kind === 1) {
            const elemType = readRefType(sr);
            const l = readLimits(sr, false);
            m.imports.push({ module, name, kind: 'table', table: { elemType, limits: limitsOf(l) } });
          } else if (kind === 2)
            m.imports.push({ module, name, kind: 'memory', memory: readLimits(sr, true) });
          else if (kind === 3) {
            const type = readValType(sr);
            const mutable = readMut(sr);
            m.imports.push({ module, name, kind: 'global', global: { type, mutable } });
          } else if (kind === 4) throw new WasmFeatureError('exception handling (tag import)', kAt);
          else sr.fail('malformed import kind', kAt);
        }
        break;
      }
      case 3:
        sawFunctions = true;
        m.functions = readFuncIndices(sr);
        break;
      case 4: {
        const n = sr.u32();
        for (let i = 0; i < n; i++) {
          const tAt = sr.pos;
          if (bytes[tAt] === 0x40) throw new WasmFeatureError('table initializer expressions', tAt);
          const elemType = readRefType(sr);
          m.tables.push({ elemType, limits: limitsOf(readLimits(sr, false)) });
        }
        break;
      }
      case 5: {
        const n = sr.u32();
        for (let i = 0; i < n; i++) m.memories.push(readLimits(sr, true));
        break;
      }
      case 6: {
        const n = sr.u32();
        for (let i = 0; i < n; i++) {
          const type = readValType(sr);
          const mutable = readMut(sr);
          m.globals.push({ type, mutable, init: readConstExpr(sr) });
        }
        break;
      }
      case 7: {
        const n = sr.u32();
        for (let i = 0; i < n; i++) {
          const name = sr.name();
          const kAt = sr.pos;
          const k = sr.u8();
          const kind = KINDS[k];
          if (!kind) {
            if (k === 4) throw new WasmFeatureError('exception handling (tag export)', kAt);
            sr.fail('malformed export kind', kAt);
          }
          m.exports.push({ name, kind, index: sr.u32() });
        }
        break;
      }
      case 8:
        m.start = sr.u32();
        break;
      case 9: {
        const n = sr.u32();
        for (let i = 0; i < n; i++) m.elements.push(readElement(sr));
        break;
      }
      case 12:
        m.dataCount = sr.u32();
        break;
      case 10: {
        sawCode = true;
        const n = sr.u32();
        if (n !== m.functions.length) sr.fail('function and code section have inconsistent lengths', start);
        for (let i = 0; i < n; i++) {
          const sz = sr.u32();
          const e = sr.pos + sz;
          if (e > end) sr.fail('code entry runs past its section');
          m.codes.push(readCode(sr, e));
        }
        break;
      }
      case 11: {
        const n = sr.u32();
        if (m.dataCount !== undefined && n !== m.dataCount)
          sr.fail('data count and data section have inconsistent lengths', start);
        for (let i = 0; i < n; i++) m.datas.push(readData(sr));
        break;
      }
    }
    if (sr.pos !== end) sr.fail('section size mismatch', sr.pos);
    r.pos = end;
  }
  if (sawFunctions !== sawCode && m.functions.length > 0)
    r.fail('function and code section have inconsistent lengths', bytes.length);
  if (m.dataCount !== undefined && m.datas.length !== m.dataCount && m.dataCount > 0)
    r.fail('data count and data section have inconsistent lengths', bytes.length);
  return m;
}

function readMut(r: Reader): boolean {
  const at = r.pos;
  const b = r.u8();
  if (b > 1) r.fail('malformed mutability', at);
  return b === 1;
}

function limitsOf(l: MemoryType): Limits {
  return l.max === undefined ? { min: l.min } : { min: l.min, max: l.max };
}

// ---------------------------------------------------------------------------------------------
// Writer

function writeLimits(w: Writer, l: MemoryType): void {
  let flags = l.max !== undefined ? 1 : 0;
  if (l.shared) flags |= 2;
  if (l.index64) flags |= 4;
  w.u8(flags);
  const wr = (v: number): void => {
    if (l.index64) w.u64(BigInt(v));
    else w.u32(v);
  };
  wr(l.min);
  if (l.max !== undefined) wr(l.max);
}

function writeValTypes(w: Writer, ts: readonly ValType[]): void {
  w.u32(ts.length);
  for (const t of ts) w.u8(VALTYPE_BYTE[t]);
}

/** Encodes the locals declaration of a code entry. */
export function writeLocals(w: Writer, locals: readonly (readonly [number, ValType])[]): void {
  w.u32(locals.length);
  for (const [c, t] of locals) {
    w.u32(c);
    w.u8(VALTYPE_BYTE[t]);
  }
}

function section(w: Writer, id: number, body: () => void): void {
  w.u8(id);
  const start = w.len;
  body();
  w.patchSizeBefore(start);
}

/** Serializes a module (canonical LEB128; sections in the standard order; customs kept in place). */
export function writeModule(m: WasmModule): Uint8Array {
  let estimate = 64;
  for (const c of m.codes) estimate += c.body.length + 16;
  for (const d of m.datas) estimate += d.data.length + 16;
  for (const c of m.customs) estimate += c.data.length + c.name.length + 8;
  const w = new Writer(estimate);
  w.bytes(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
  const customs = (after: number): void => {
    for (const c of m.customs) {
      if (c.after !== after) continue;
      section(w, 0, () => {
        w.name(c.name);
        w.bytes(c.data);
      });
    }
  };
  customs(0);
  for (const id of SECTION_ORDER) {
    switch (id) {
      case 1:
        if (m.types.length)
          section(w, 1, () => {
            w.u32(m.types.length);
            for (const t of m.types) {
              w.u8(0x60);
              writeValTypes(w, t.params);
              writeValTypes(w, t.results);
            }
          });
        break;
      case 2:
        if (m.imports.length)
          section(w, 2, () => {
            w.u32(m.imports.length);
            for (const im of m.imports) {
              w.name(im.module);
              w.name(im.name);
              switch (im.kind) {
                case 'func':
                  w.u8(0);
                  w.u32(im.type);
                  break;
                case 'table':
                  w.u8(1);
                  w.u8(VALTYPE_BYTE[im.table.elemType]);
                  writeLimits(w, im.table.limits);
                  break;
                case 'memory':
                  w.u8(2);
                  writeLimits(w, im.memory);
                  break;
                case 'global':
                  w.u8(3);
                  w.u8(VALTYPE_BYTE[im.global.type]);
                  w.u8(im.global.mutable ? 1 : 0);
                  break;
              }
            }
          });
        break;
      case 3:
        if (m.functions.length)
          section(w, 3, () => {
            w.u32(m.functions.length);
            for (const f of m.functions) w.u32(f);
          });
        break;
      case 4:
        if (m.tables.length)
          section(w, 4, () => {
            w.u32(m.tables.length);
            for (const t of m.tables) {
              w.u8(VALTYPE_BYTE[t.elemType]);
              writeLimits(w, t.limits);
            }
          });
        break;
      case 5:
        if (m.memories.length)
          section(w, 5, () => {
            w.u32(m.memories.length);
            for (const mem of m.memories) writeLimits(w, mem);
          });
        break;
      case 6:
        if (m.globals.length)
          section(w, 6, () => {
            w.u32(m.globals.length);
            for (const g of m.globals) {
              w.u8(VALTYPE_BYTE[g.type]);
              w.u8(g.mutable ? 1 : 0);
              w.bytes(g.init);
            }
          });
        break;
      case 7:
        if (m.exports.length)
          section(w, 7, () => {
            w.u32(m.exports.length);
            for (const e of m.exports) {
              w.name(e.name);
              w.u8(KINDS.indexOf(e.kind));
              w.u32(e.index);
            }
          });
        break;
      case 8:
        if (m.start !== undefined) section(w, 8, () => w.u32(m.start!));
        break;
      case 9:
        if (m.elements.length)
          section(w, 9, () => {
            w.u32(m.elements.length);
            for (const el of m.elements) writeElement(w, el);
          });
        break;
      case 12:
        if (m.dataCount !== undefined) section(w, 12, () => w.u32(m.dataCount!));
        break;
      case 10:
        if (m.codes.length)
          section(w, 10, () => {
            w.u32(m.codes.length);
            const lw = new Writer(64);
            for (const c of m.codes) {
              lw.len = 0;
              writeLocals(lw, c.locals);
              w.u32(lw.len + c.body.length);
              w.bytes(lw.buf, 0, lw.len);
              w.bytes(c.body);
            }
          });
        break;
      case 11:
        if (m.datas.length)
          section(w, 11, () => {
            w.u32(m.datas.length);
            for (const d of m.datas) {
              w.u32(d.flags);
              if (d.flags === 2) w.u32(d.memory);
              if (d.flags !== 1) w.bytes(d.offset!);
              w.u32(d.data.length);
              w.bytes(d.data);
            }
          });
        break;
    }
    customs(id);
  }
  return w.finish();
}

function writeElement(w: Writer, el: Element): void {
  const f = el.flags;
  w.u32(f);
  if ((f & 1) === 0) {
    if (f & 2) w.u32(el.table);
    w.bytes(el.offset!);
  }
  if (f & 3) {
    if (f & 4) w.u8(VALTYPE_BYTE[el.type]);
    else w.u8(0);
  }
  if (f & 4) {
    const ex = el.exprs ?? [];
    w.u32(ex.length);
    for (const e of ex) w.bytes(e);
  } else {
    const fs = el.funcs ?? [];
    w.u32(fs.length);
    for (const x of fs) w.u32(x);
  }
}

/** Number of imported entities of a kind (they come first in that kind's index space). */
export function importCount(m: WasmModule, kind: ExternKind): number {
  let n = 0;
  for (const im of m.imports) if (im.kind === kind) n++;
  return n;
}

/** The type of function `funcIndex` (imported functions are counted first). */
export function funcTypeOf(m: WasmModule, funcIndex: number): FuncType {
  let i = 0;
  for (const im of m.imports) {
    if (im.kind !== 'func') continue;
    if (i === funcIndex) return typeAt(m, im.type);
    i++;
  }
  const t = m.functions[funcIndex - i];
  if (t === undefined) throw new WasmFormatError(`unknown function ${funcIndex}`, 0);
  return typeAt(m, t);
}

function typeAt(m: WasmModule, idx: number): FuncType {
  const t = m.types[idx];
  if (!t) throw new WasmFormatError(`unknown type ${idx}`, 0);
  return t;
}
