/**
 * Instruction decoding and encoding.
 *
 * - `decodeBody` is the fast path used by instrumentation: it decodes a function body once into
 *   parallel typed arrays (opcode key, byte offset, main immediate) reused between calls, so no
 *   object is allocated per instruction and unchanged byte ranges can be copied verbatim.
 * - `decodeInstructions` / `encodeInstructions` give a fully decoded object form (tests, tools).
 */
import { WasmvmTeeError } from '../util/errors.ts';
import { Reader, WasmFormatError, Writer } from './bytes.ts';
import { Imm, OP_IMM, OP_VALID, UNSUPPORTED_OPCODES } from './opcodes.ts';

/** A feature outside Wasm 2.0 (threads, memory64, multi-memory, exceptions, GC, tail calls ...). */
export class WasmFeatureError extends WasmvmTeeError<'UNSUPPORTED_FEATURE'> {
  readonly offset: number;
  constructor(feature: string, offset: number) {
    super('UNSUPPORTED_FEATURE', `unsupported Wasm feature: ${feature} (at byte offset ${offset})`);
    this.offset = offset;
  }
}

/** Reads one opcode at r.pos and returns its key (see opcodes.ts), rejecting unknown/unsupported ones. */
export function readOpcode(r: Reader): number {
  const at = r.pos;
  const b = r.u8();
  if (b < 0xfc) {
    if (OP_VALID[b]) return b;
  } else if (b === 0xfc) {
    const sub = r.u32();
    if (sub < 0x100 && OP_VALID[0x100 + sub]) return 0x100 + sub;
    r.fail(`illegal opcode 0xfc ${sub}`, at);
  } else if (b === 0xfd) {
    const sub = r.u32();
    if (sub < 0x100 && OP_VALID[0x200 + sub]) return 0x200 + sub;
    if (sub >= 0x100 && sub <= 0x113) throw new WasmFeatureError('relaxed SIMD', r.base + at);
    r.fail(`illegal opcode 0xfd ${sub}`, at);
  }
  const feature = UNSUPPORTED_OPCODES.get(b);
  if (feature) throw new WasmFeatureError(feature, r.base + at);
  return r.fail(`illegal opcode 0x${b.toString(16).padStart(2, '0')}`, at);
}

function memIndexZero(r: Reader): void {
  const at = r.pos;
  const m = r.u32();
  if (m !== 0) throw new WasmFeatureError('multiple memories', r.base + at);
}

function skipMemArg(r: Reader): void {
  const at = r.pos;
  const align = r.u32();
  if (align & 0x40) throw new WasmFeatureError('multiple memories (memarg memory index)', r.base + at);
  if (align >= 0x40) r.fail('malformed memop flags', at);
  r.skipLeb(10);
}

/**
 * Skips the immediates of `key` at r.pos and returns the "main" immediate as an int32
 * (label/function/type/local/global/table index, block type, lane), or 0.
 */
export function readImmediates(r: Reader, key: number): number {
  switch (OP_IMM[key]) {
    case Imm.None:
      return 0;
    case Imm.BlockType: {
      const at = r.pos;
      const bt = r.s33();
      if (bt < 0 && bt !== -64 && !(bt >= -5 && bt <= -1) && bt !== -16 && bt !== -17) {
        if (bt === -28 || bt === -29) throw new WasmFeatureError('typed function references', r.base + at);
        r.fail('malformed block type', at);
      }
      if (bt > 0x7fffffff) r.fail('block type index too large', at);
      return bt;
    }
    case Imm.Label:
    case Imm.Func:
    case Imm.Local:
    case Imm.Global:
    case Imm.Table:
    case Imm.Data:
    case Imm.Elem:
      return r.u32() | 0;
    case Imm.BrTable: {
      const n = r.u32();
      for (let i = 0; i <= n; i++) r.u32();
      return n;
    }
    case Imm.CallIndirect: {
      const t = r.u32();
      r.u32();
      return t | 0;
    }
    case Imm.MemArg:
      skipMemArg(r);
      return 0;
    case Imm.Mem:
      memIndexZero(r);
      return 0;
    case Imm.I32:
      return r.s32();
    case Imm.I64:
      r.skipLeb(10);
      return 0;
    case Imm.F32:
      r.take(4);
      return 0;
    case Imm.F64:
      r.take(8);
      return 0;
    case Imm.SelectT: {
      const n = r.u32();
      if (n !== 1) r.fail('invalid result arity for select', r.pos - 1);
      readValTypeByte(r);
      return 0;
    }
    case Imm.RefType: {
      const at = r.pos;
      const t = r.u8();
      if (t !== 0x70 && t !== 0x6f) {
        if (t === 0x63 || t === 0x64) throw new WasmFeatureError('typed function references', r.base + at);
        r.fail('malformed reference type', at);
      }
      return t;
    }
    case Imm.MemoryInit: {
      const d = r.u32();
      memIndexZero(r);
      return d | 0;
    }
    case Imm.MemoryCopy:
      memIndexZero(r);
      memIndexZero(r);
      return 0;
    case Imm.TableInit: {
      const e = r.u32();
      r.u32();
      return e | 0;
    }
    case Imm.TableCopy: {
      const d = r.u32();
      r.u32();
      return d | 0;
    }
    case Imm.V128:
    case Imm.Shuffle:
      r.take(16);
      return 0;
    case Imm.Lane:
      return r.u8();
    case Imm.MemArgLane:
      skipMemArg(r);
      return r.u8();
    default:
      return r.fail(`internal: no immediate decoder for opcode key ${key}`);
  }
}

/** Value type byte (numeric, vector or reference type of Wasm 2.0). */
export function readValTypeByte(r: Reader): number {
  const at = r.pos;
  const t = r.u8();
  if ((t >= 0x7b && t <= 0x7f) || t === 0x70 || t === 0x6f) return t;
  if (t === 0x63 || t === 0x64) throw new WasmFeatureError('typed function references', r.base + at);
  if (t >= 0x65 && t <= 0x6e) throw new WasmFeatureError('GC reference types', r.base + at);
  return r.fail(`malformed value type 0x${t.toString(16)}`, at);
}

/** A decoded function body in struct-of-arrays form. Entry i spans bytes [pos[i], pos[i+1]). */
export interface DecodedBody {
  /** Number of instructions (the final `end` included). */
  count: number;
  /** Opcode key per instruction. */
  op: Uint16Array;
  /** Byte offset of each instruction in the body; pos[count] = body length. */
  pos: Uint32Array;
  /** Main immediate per instruction (see readImmediates). */
  imm: Int32Array;
  /** Maximum block nesting depth seen. */
  maxDepth: number;
}

let scratch: DecodedBody = {
  count: 0,
  op: new Uint16Array(1024),
  pos: new Uint32Array(1025),
  imm: new Int32Array(1024),
  maxDepth: 0,
};

function grow(d: DecodedBody, need: number): DecodedBody {
  let cap = d.op.length;
  while (cap < need) cap *= 2;
  const nd: DecodedBody = {
    count: d.count,
    op: new Uint16Array(cap),
    pos: new Uint32Array(cap + 1),
    imm: new Int32Array(cap),
    maxDepth: d.maxDepth,
  };
  nd.op.set(d.op);
  nd.pos.set(d.pos);
  nd.imm.set(d.imm);
  return nd;
}

/**
 * Decodes an expression (a function body after its locals, ending with `end`) into a shared
 * scratch structure. The result is valid until the next call unless `fresh` is true.
 * `base` is the body's offset in the module (error messages).
 */
export function decodeBody(body: Uint8Array, base = 0, fresh = false): DecodedBody {
  let d = fresh
    ? {
        count: 0,
        op: new Uint16Array(Math.max(16, body.length)),
        pos: new Uint32Array(Math.max(16, body.length) + 1),
        imm: new Int32Array(Math.max(16, body.length)),
        maxDepth: 0,
      }
    : scratch;
  // An instruction takes at least one byte.
  if (d.op.length < body.length) d = grow(d, body.length);
  const op = d.op;
  const pos = d.pos;
  const imm = d.imm;
  const r = new Reader(body, 0, body.length, base);
  let n = 0;
  let depth = 0;
  let maxDepth = 0;
  const len = body.length;
  let p = 0;
  while (p < len) {
    const at = p;
    const b = body[at]!;
    let key = b;
    let v = 0;
    switch (FAST[b]) {
      case 1: // no immediate
        p++;
        if (b === 0x0b) {
          if (depth === 0) {
            op[n] = key;
            pos[n] = at;
            imm[n] = 0;
            n++;
            if (p !== len) r.fail('operators remaining after end of function', p);
            p = len + 1; // done
            continue;
          }
          depth--;
        }
        break;
      case 2: {
        // one u32 (local, global, call, br, br_if, ref.func)
        const x = body[p + 1]!;
        if (x < 0x80) {
          v = x;
          p += 2;
        } else {
          r.pos = p + 1;
          v = r.u32() | 0;
          p = r.pos;
        }
        break;
      }
      case 3: {
        // memarg: align flags (single byte, no memory index), then the offset
        const a = body[p + 1]!;
        if (a < 0x40) {
          p += 2;
          let c = 0;
          while (p < len && body[p]! & 0x80 && c < 9) {
            p++;
            c++;
          }
          if (p >= len) r.fail('unexpected end in LEB128', p);
          p++;
        } else {
          r.pos = p + 1;
          v = readImmediates(r, key);
          p = r.pos;
        }
        break;
      }
      case 4: {
        // i32.const
        r.pos = p + 1;
        v = r.s32();
        p = r.pos;
        break;
      }
      case 5: {
        // block/loop/if with an empty or single-value block type
        const x = body[p + 1]!;
        if (x === 0x40 || (x >= 0x7b && x <= 0x7f) || x === 0x70 || x === 0x6f) {
          v = x - 0x80;
          p += 2;
        } else {
          r.pos = p + 1;
          v = readImmediates(r, key);
          p = r.pos;
        }
        depth++;
        if (depth > maxDepth) maxDepth = depth;
        break;
      }
      default:
        r.pos = p;
        key = readOpcode(r);
        v = readImmediates(r, key);
        p = r.pos;
        if (key === 0x02 || key === 0x03 || key === 0x04) {
          depth++;
          if (depth > maxDepth) maxDepth = depth;
        }
    }
    op[n] = key;
    pos[n] = at;
    imm[n] = v;
    n++;
  }
  if (n === 0 || op[n - 1] !== 0x0b || depth !== 0 || p !== len + 1)
    r.fail('unexpected end of function body (missing end)', len);
  pos[n] = len;
  d.count = n;
  d.maxDepth = maxDepth;
  if (!fresh) scratch = d;
  return d;
}

/** Fast-path class of single-byte opcodes in decodeBody (0 = generic path). */
const FAST = new Uint8Array(256);
for (let b = 0; b < 0xfc; b++) {
  if (!OP_VALID[b]) continue;
  switch (OP_IMM[b]) {
    case Imm.None:
      FAST[b] = 1;
      break;
    case Imm.Label:
    case Imm.Func:
    case Imm.Local:
    case Imm.Global:
      FAST[b] = 2;
      break;
    case Imm.MemArg:
      FAST[b] = 3;
      break;
    case Imm.I32:
      FAST[b] = 4;
      break;
    case Imm.BlockType:
      FAST[b] = 5;
      break;
  }
}

/** Reads a constant expression at r.pos (up to and including its `end`), returning its bytes. */
export function readConstExpr(r: Reader): Uint8Array {
  const start = r.pos;
  for (;;) {
    const key = readOpcode(r);
    if (key === 0x0b) break;
    if (key === 0x02 || key === 0x03 || key === 0x04 || key === 0x05)
      r.fail('illegal opcode in constant expression');
    readImmediates(r, key);
  }
  return r.bytes.subarray(start, r.pos);
}

// ---------------------------------------------------------------------------------------------
// Full object form

export interface Instr {
  /** Opcode key (see opcodes.ts). */
  op: number;
  /** First immediate (index, depth, block type, align, lane, i32 value, f32 bits, ref type). */
  a?: number;
  /** Second immediate (table of call_indirect, memarg offset, memory/table index). */
  b?: number;
  /** Third immediate (lane of load/store lane). */
  c?: number;
  /** i64.const value or f64.const bits. */
  big?: bigint;
  /** br_table targets, the default label last. */
  targets?: number[];
  /** v128.const / i8x16.shuffle bytes. */
  bytes?: Uint8Array;
  /** select t* value types (type bytes). */
  types?: number[];
}

function readMemArgFull(r: Reader, ins: Instr): void {
  const at = r.pos;
  ins.a = r.u32();
  if (ins.a & 0x40) throw new WasmFeatureError('multiple memories (memarg memory index)', r.base + at);
  ins.b = Number(r.u64());
}

/** Decodes an expression into instruction objects (the final `end` included). */
export function decodeInstructions(body: Uint8Array): Instr[] {
  const r = new Reader(body);
  const out: Instr[] = [];
  while (!r.eof()) {
    const key = readOpcode(r);
    const ins: Instr = { op: key };
    switch (OP_IMM[key]) {
      case Imm.None:
        break;
      case Imm.BlockType:
        ins.a = r.s33();
        break;
      case Imm.Label:
      case Imm.Func:
      case Imm.Local:
      case Imm.Global:
      case Imm.Table:
      case Imm.Data:
      case Imm.Elem:
        ins.a = r.u32();
        break;
      case Imm.BrTable: {
        const n = r.u32();
        ins.targets = [];
        for (let i = 0; i <= n; i++) ins.targets.push(r.u32());
        break;
      }
      case Imm.CallIndirect:
      case Imm.TableInit:
      case Imm.TableCopy:
        ins.a = r.u32();
        ins.b = r.u32();
        break;
      case Imm.MemArg:
        readMemArgFull(r, ins);
        break;
      case Imm.Mem:
        ins.a = r.u32();
        break;
      case Imm.I32:
        ins.a = r.s32();
        break;
      case Imm.I64:
        ins.big = r.s64();
        break;
      case Imm.F32: {
        const b = r.take(4);
        ins.a = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
        break;
      }
      case Imm.F64: {
        const b = r.take(8);
        let v = 0n;
        for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
        ins.big = v;
        break;
      }
      case Imm.SelectT: {
        const n = r.u32();
        ins.types = [];
        for (let i = 0; i < n; i++) ins.types.push(readValTypeByte(r));
        break;
      }
      case Imm.RefType:
        ins.a = r.u8();
        break;
      case Imm.MemoryInit:
      case Imm.MemoryCopy:
        ins.a = r.u32();
        ins.b = r.u32();
        break;
      case Imm.V128:
      case Imm.Shuffle:
        ins.bytes = r.take(16).slice();
        break;
      case Imm.Lane:
        ins.a = r.u8();
        break;
      case Imm.MemArgLane:
        readMemArgFull(r, ins);
        ins.c = r.u8();
        break;
    }
    out.push(ins);
  }
  return out;
}

/** Writes the opcode bytes of `key`. */
export function writeOpcode(w: Writer, key: number): void {
  if (key < 0x100) w.u8(key);
  else if (key < 0x200) {
    w.u8(0xfc);
    w.u32(key - 0x100);
  } else {
    w.u8(0xfd);
    w.u32(key - 0x200);
  }
}

/** Encodes one instruction object. */
export function encodeInstr(w: Writer, ins: Instr): void {
  const key = ins.op;
  writeOpcode(w, key);
  switch (OP_IMM[key]) {
    case Imm.None:
      break;
    case Imm.BlockType:
      w.s33(ins.a ?? -64);
      break;
    case Imm.Label:
    case Imm.Func:
    case Imm.Local:
    case Imm.Global:
    case Imm.Table:
    case Imm.Data:
    case Imm.Elem:
    case Imm.Mem:
      w.u32(ins.a ?? 0);
      break;
    case Imm.BrTable: {
      const t = ins.targets ?? [0];
      w.u32(t.length - 1);
      for (const x of t) w.u32(x);
      break;
    }
    case Imm.CallIndirect:
    case Imm.TableInit:
    case Imm.TableCopy:
    case Imm.MemoryInit:
    case Imm.MemoryCopy:
      w.u32(ins.a ?? 0);
      w.u32(ins.b ?? 0);
      break;
    case Imm.MemArg:
      w.u32(ins.a ?? 0);
      w.u64(BigInt(ins.b ?? 0));
      break;
    case Imm.I32:
      w.s32(ins.a ?? 0);
      break;
    case Imm.I64:
      w.s64(ins.big ?? 0n);
      break;
    case Imm.F32:
      w.f32Bits(ins.a ?? 0);
      break;
    case Imm.F64:
      w.f64Bits(ins.big ?? 0n);
      break;
    case Imm.SelectT: {
      const t = ins.types ?? [];
      w.u32(t.length);
      for (const x of t) w.u8(x);
      break;
    }
    case Imm.RefType:
    case Imm.Lane:
      w.u8(ins.a ?? 0);
      break;
    case Imm.V128:
    case Imm.Shuffle:
      w.bytes(ins.bytes ?? new Uint8Array(16));
      break;
    case Imm.MemArgLane:
      w.u32(ins.a ?? 0);
      w.u64(BigInt(ins.b ?? 0));
      w.u8(ins.c ?? 0);
      break;
    default:
      throw new WasmFormatError(`cannot encode opcode key ${key}`, 0);
  }
}

export function encodeInstructions(instrs: readonly Instr[]): Uint8Array {
  const w = new Writer(instrs.length * 2 + 16);
  for (const ins of instrs) encodeInstr(w, ins);
  return w.finish();
}
