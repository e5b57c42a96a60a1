/**
 * A deliberately small reader of the Wasm module header sections the engine needs when B1's full reader
 * (src/wasm) is not available: types, imports, functions, tables, memories, exports, start. It does not
 * read code; V8 validates the module. It can also rewrite the memory section to cap the maximum
 * (`capMemoryMax`), so the memory limit holds even on the path without instrumentation.
 */
import { EngineError } from './types.ts';

const VT: Record<number, string> = {
  127: 'i32',
  126: 'i64',
  125: 'f32',
  124: 'f64',
  123: 'v128',
  112: 'funcref',
  111: 'externref',
};

class R {
  pos: number;
  constructor(
    readonly b: Uint8Array,
    pos = 0,
    readonly end = b.length,
  ) {
    this.pos = pos;
  }
  byte(): number {
    if (this.pos >= this.end) throw new EngineError('INVALID_BYTECODE', 'unexpected end of module');
    return this.b[this.pos++]!;
  }
  u32(): number {
    let r = 0;
    let shift = 0;
    for (;;) {
      const x = this.byte();
      r += (x & 0x7f) * 2 ** shift;
      if ((x & 0x80) === 0) return r;
      shift += 7;
      if (shift > 35) throw new EngineError('INVALID_BYTECODE', 'bad LEB128');
    }
  }
  name(): string {
    const n = this.u32();
    const s = new TextDecoder().decode(this.b.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
  valtype(): string {
    const t = this.byte();
    if (t === 0x64 || t === 0x63) {
      // (ref null? ht)
      this.u32();
      return 'ref';
    }
    return VT[t] ?? `0x${t.toString(16)}`;
  }
  limits(): { min: number; max?: number; shared: boolean; index64: boolean } {
    const flags = this.byte();
    const min = this.u32();
    const out: { min: number; max?: number; shared: boolean; index64: boolean } = {
      min,
      shared: (flags & 2) !== 0,
      index64: (flags & 4) !== 0,
    };
    if (flags & 1) out.max = this.u32();
    return out;
  }
}

export interface HeaderModule {
  types: { params: string[]; results: string[] }[];
  imports: { module: string; name: string; kind: string; min?: number; max?: number; index64?: boolean }[];
  functions: number[];
  tables: { min: number; max?: number }[];
  memories: { min: number; max?: number; shared?: boolean; index64?: boolean }[];
  exports: { name: string; kind: string; index: number }[];
  start?: number;
  /** Byte range of the memory section's body, when present. */
  memorySection?: { start: number; end: number };
}

const KINDS = ['func', 'table', 'memory', 'global', 'tag'];

export function readHeader(bytes: Uint8Array): HeaderModule {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new EngineError('INVALID_BYTECODE', 'not a Wasm module (bad magic)');
  }
  const m: HeaderModule = { types: [], imports: [], functions: [], tables: [], memories: [], exports: [] };
  const r = new R(bytes, 8);
  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const start = r.pos;
    const end = start + size;
    if (end > bytes.length) throw new EngineError('INVALID_BYTECODE', 'section exceeds module size');
    const s = new R(bytes, start, end);
    switch (id) {
      case 1:
        for (let n = s.u32(); n > 0; n--) {
          const form = s.byte();
          if (form !== 0x60) {
            m.types.push({ params: ['?'], results: [] }); // GC types: not supported for entry points
            break;
          }
          const params: string[] = [];
          for (let k = s.u32(); k > 0; k--) params.push(s.valtype());
          const results: string[] = [];
          for (let k = s.u32(); k > 0; k--) results.push(s.valtype());
          m.types.push({ params, results });
        }
        break;
      case 2:
        for (let n = s.u32(); n > 0; n--) {
          const module = s.name();
          const name = s.name();
          const kind = s.byte();
          const imp: HeaderModule['imports'][number] = { module, name, kind: KINDS[kind] ?? String(kind) };
          if (kind === 0) m.functions.push(s.u32());
          else if (kind === 1) {
            s.valtype();
            Object.assign(imp, s.limits());
          } else if (kind === 2) Object.assign(imp, s.limits());
          else if (kind === 3) {
            s.valtype();
            s.byte();
          } else if (kind === 4) {
            s.byte();
            s.u32();
          }
          m.imports.push(imp);
        }
        break;
      case 3:
        for (let n = s.u32(); n > 0; n--) m.functions.push(s.u32());
        break;
      case 4:
        for (let n = s.u32(); n > 0; n--) {
          s.valtype();
          const l = s.limits();
          const t: { min: number; max?: number } = { min: l.min };
          if (l.max !== undefined) t.max = l.max;
          m.tables.push(t);
        }
        break;
      case 5:
        m.memorySection = { start, end };
        for (let n = s.u32(); n > 0; n--) m.memories.push(s.limits());
        break;
      case 7:
        for (let n = s.u32(); n > 0; n--) {
          const name = s.name();
          const kind = s.byte();
          m.exports.push({ name, kind: KINDS[kind] ?? String(kind), index: s.u32() });
        }
        break;
      case 8:
        m.start = s.u32();
        break;
    }
    r.pos = end;
  }
  return m;
}

export function headerFuncType(m: HeaderModule, funcIndex: number): { params: string[]; results: string[] } {
  const t = m.types[m.functions[funcIndex] ?? -1];
  if (!t) throw new EngineError('INVALID_BYTECODE', `function ${funcIndex} has no type`);
  return t;
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Rewrite the (defined) memories' maximum to min(max, cap); returns the bytes unchanged when already capped. */
export function capMemoryMax(bytes: Uint8Array, cap: number): Uint8Array {
  const m = readHeader(bytes);
  if (!m.memorySection || m.memories.every((x) => x.max !== undefined && x.max <= cap)) return bytes;
  const body: number[] = [...uleb(m.memories.length)];
  for (const mem of m.memories) {
    if (mem.index64) throw new EngineError('UNSUPPORTED_FEATURE', 'memory64 is not supported');
    const max = Math.min(mem.max ?? cap, cap);
    body.push(1 | (mem.shared ? 2 : 0), ...uleb(mem.min), ...uleb(max));
  }
  const { start, end } = m.memorySection;
  // section header = id byte + LEB size, right before `start`
  let hdr = start - 1;
  while (hdr > 0 && (bytes[hdr - 1]! & 0x80) !== 0) hdr--;
  hdr--; // id byte
  const out = new Uint8Array(hdr + 1 + uleb(body.length).length + body.length + (bytes.length - end));
  out.set(bytes.subarray(0, hdr));
  let p = hdr;
  out[p++] = 5;
  for (const b of uleb(body.length)) out[p++] = b;
  out.set(body, p);
  p += body.length;
  out.set(bytes.subarray(end), p);
  return out;
}
