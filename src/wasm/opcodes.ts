/**
 * The Wasm 2.0 opcode table: every instruction of the MVP, sign extension, non-trapping
 * float-to-int, multi-value, bulk memory, reference types and fixed-width SIMD.
 *
 * Opcodes are identified by a compact key: single-byte opcodes are their byte (0x00-0xfb),
 * `0xFC n` is 0x100 + n, `0xFD n` is 0x200 + n (SIMD; n < 0x100 in Wasm 2.0).
 * For each key: mnemonic, immediate kind, fixed stack effect (pops/pushes, -1 = depends on
 * types) and classification flags.
 */

export enum Imm {
  None = 0,
  BlockType = 1,
  Label = 2,
  BrTable = 3,
  Func = 4,
  CallIndirect = 5,
  Local = 6,
  Global = 7,
  Table = 8,
  MemArg = 9,
  Mem = 10,
  I32 = 11,
  I64 = 12,
  F32 = 13,
  F64 = 14,
  SelectT = 15,
  RefType = 16,
  MemoryInit = 17,
  Data = 18,
  MemoryCopy = 19,
  TableInit = 20,
  Elem = 21,
  TableCopy = 22,
  V128 = 23,
  Shuffle = 24,
  Lane = 25,
  MemArgLane = 26,
}

/** Classification flags. */
export const F_CONTROL = 1 << 0; // block, loop, if, else, end
export const F_BRANCH = 1 << 1; // br, br_if, br_table, return, unreachable (control leaves the straight line)
export const F_CALL = 1 << 2; // call, call_indirect
export const F_MEMORY_GROW = 1 << 3;
/** Bulk operations whose cost depends on the top-of-stack i32 operand (length / delta). */
export const F_DYNAMIC = 1 << 4;
export const F_NAN_F32 = 1 << 5; // may produce a (non-canonical) f32 NaN
export const F_NAN_F64 = 1 << 6;
export const F_NAN_F32X4 = 1 << 7;
export const F_NAN_F64X2 = 1 << 8;
export const F_LOAD = 1 << 9;
export const F_STORE = 1 << 10;
export const F_BULK_MEMORY = 1 << 11; // memory.init/copy/fill, data.drop
export const F_TABLE = 1 << 12; // table.* / elem.drop
export const F_SIMD = 1 << 13;
export const F_CONST = 1 << 14;
export const F_NAN = F_NAN_F32 | F_NAN_F64 | F_NAN_F32X4 | F_NAN_F64X2;

export const OPCODE_KEYS = 0x300;
export const OP_NAME: string[] = new Array<string>(OPCODE_KEYS).fill('');
export const OP_IMM = new Uint8Array(OPCODE_KEYS);
export const OP_POP = new Int8Array(OPCODE_KEYS);
export const OP_PUSH = new Int8Array(OPCODE_KEYS);
export const OP_FLAGS = new Uint16Array(OPCODE_KEYS);
export const OP_VALID = new Uint8Array(OPCODE_KEYS);
export const OP_BY_NAME = new Map<string, number>();

function def(key: number, name: string, imm: Imm, pops: number, pushes: number, flags = 0): void {
  OP_NAME[key] = name;
  OP_IMM[key] = imm;
  OP_POP[key] = pops;
  OP_PUSH[key] = pushes;
  OP_FLAGS[key] = flags;
  OP_VALID[key] = 1;
  OP_BY_NAME.set(name, key);
}

// ---- control
def(0x00, 'unreachable', Imm.None, 0, 0, F_BRANCH);
def(0x01, 'nop', Imm.None, 0, 0);
def(0x02, 'block', Imm.BlockType, -1, -1, F_CONTROL);
def(0x03, 'loop', Imm.BlockType, -1, -1, F_CONTROL);
def(0x04, 'if', Imm.BlockType, -1, -1, F_CONTROL);
def(0x05, 'else', Imm.None, -1, -1, F_CONTROL);
def(0x0b, 'end', Imm.None, -1, -1, F_CONTROL);
def(0x0c, 'br', Imm.Label, -1, -1, F_BRANCH);
def(0x0d, 'br_if', Imm.Label, -1, -1, F_BRANCH);
def(0x0e, 'br_table', Imm.BrTable, -1, -1, F_BRANCH);
def(0x0f, 'return', Imm.None, -1, -1, F_BRANCH);
def(0x10, 'call', Imm.Func, -1, -1, F_CALL);
def(0x11, 'call_indirect', Imm.CallIndirect, -1, -1, F_CALL);
// ---- parametric
def(0x1a, 'drop', Imm.None, 1, 0);
def(0x1b, 'select', Imm.None, 3, 1);
def(0x1c, 'select_t', Imm.SelectT, 3, 1);
// ---- variables
def(0x20, 'local.get', Imm.Local, 0, 1);
def(0x21, 'local.set', Imm.Local, 1, 0);
def(0x22, 'local.tee', Imm.Local, 1, 1);
def(0x23, 'global.get', Imm.Global, 0, 1);
def(0x24, 'global.set', Imm.Global, 1, 0);
def(0x25, 'table.get', Imm.Table, 1, 1, F_TABLE);
def(0x26, 'table.set', Imm.Table, 2, 0, F_TABLE);
// ---- memory
const loads = [
  'i32.load',
  'i64.load',
  'f32.load',
  'f64.load',
  'i32.load8_s',
  'i32.load8_u',
  'i32.load16_s',
  'i32.load16_u',
  'i64.load8_s',
  'i64.load8_u',
  'i64.load16_s',
  'i64.load16_u',
  'i64.load32_s',
  'i64.load32_u',
];
loads.forEach((n, i) => {
  def(0x28 + i, n, Imm.MemArg, 1, 1, F_LOAD);
});
const stores = [
  'i32.store',
  'i64.store',
  'f32.store',
  'f64.store',
  'i32.store8',
  'i32.store16',
  'i64.store8',
  'i64.store16',
  'i64.store32',
];
stores.forEach((n, i) => {
  def(0x36 + i, n, Imm.MemArg, 2, 0, F_STORE);
});
def(0x3f, 'memory.size', Imm.Mem, 0, 1);
def(0x40, 'memory.grow', Imm.Mem, 1, 1, F_MEMORY_GROW | F_DYNAMIC);
// ---- constants
def(0x41, 'i32.const', Imm.I32, 0, 1, F_CONST);
def(0x42, 'i64.const', Imm.I64, 0, 1, F_CONST);
def(0x43, 'f32.const', Imm.F32, 0, 1, F_CONST);
def(0x44, 'f64.const', Imm.F64, 0, 1, F_CONST);
// ---- numeric
function seq(start: number, names: string[], pops: number, pushes: number, flags = 0): void {
  names.forEach((n, i) => {
    def(start + i, n, Imm.None, pops, pushes, flags);
  });
}
def(0x45, 'i32.eqz', Imm.None, 1, 1);
seq(
  0x46,
  ['eq', 'ne', 'lt_s', 'lt_u', 'gt_s', 'gt_u', 'le_s', 'le_u', 'ge_s', 'ge_u'].map((n) => `i32.${n}`),
  2,
  1,
);
def(0x50, 'i64.eqz', Imm.None, 1, 1);
seq(
  0x51,
  ['eq', 'ne', 'lt_s', 'lt_u', 'gt_s', 'gt_u', 'le_s', 'le_u', 'ge_s', 'ge_u'].map((n) => `i64.${n}`),
  2,
  1,
);
seq(
  0x5b,
  ['eq', 'ne', 'lt', 'gt', 'le', 'ge'].map((n) => `f32.${n}`),
  2,
  1,
);
seq(
  0x61,
  ['eq', 'ne', 'lt', 'gt', 'le', 'ge'].map((n) => `f64.${n}`),
  2,
  1,
);
const iBin = [
  'add',
  'sub',
  'mul',
  'div_s',
  'div_u',
  'rem_s',
  'rem_u',
  'and',
  'or',
  'xor',
  'shl',
  'shr_s',
  'shr_u',
];
seq(
  0x67,
  ['clz', 'ctz', 'popcnt'].map((n) => `i32.${n}`),
  1,
  1,
);
seq(
  0x6a,
  [...iBin, 'rotl', 'rotr'].map((n) => `i32.${n}`),
  2,
  1,
);
seq(
  0x79,
  ['clz', 'ctz', 'popcnt'].map((n) => `i64.${n}`),
  1,
  1,
);
seq(
  0x7c,
  [...iBin, 'rotl', 'rotr'].map((n) => `i64.${n}`),
  2,
  1,
);
seq(0x8b, ['f32.abs', 'f32.neg'], 1, 1);
seq(
  0x8d,
  ['ceil', 'floor', 'trunc', 'nearest', 'sqrt'].map((n) => `f32.${n}`),
  1,
  1,
  F_NAN_F32,
);
seq(
  0x92,
  ['add', 'sub', 'mul', 'div', 'min', 'max'].map((n) => `f32.${n}`),
  2,
  1,
  F_NAN_F32,
);
def(0x98, 'f32.copysign', Imm.None, 2, 1);
seq(0x99, ['f64.abs', 'f64.neg'], 1, 1);
seq(
  0x9b,
  ['ceil', 'floor', 'trunc', 'nearest', 'sqrt'].map((n) => `f64.${n}`),
  1,
  1,
  F_NAN_F64,
);
seq(
  0xa0,
  ['add', 'sub', 'mul', 'div', 'min', 'max'].map((n) => `f64.${n}`),
  2,
  1,
  F_NAN_F64,
);
def(0xa6, 'f64.copysign', Imm.None, 2, 1);
seq(
  0xa7,
  [
    'i32.wrap_i64',
    'i32.trunc_f32_s',
    'i32.trunc_f32_u',
    'i32.trunc_f64_s',
    'i32.trunc_f64_u',
    'i64.extend_i32_s',
    'i64.extend_i32_u',
    'i64.trunc_f32_s',
    'i64.trunc_f32_u',
    'i64.trunc_f64_s',
    'i64.trunc_f64_u',
    'f32.convert_i32_s',
    'f32.convert_i32_u',
    'f32.convert_i64_s',
    'f32.convert_i64_u',
  ],
  1,
  1,
);
def(0xb6, 'f32.demote_f64', Imm.None, 1, 1, F_NAN_F32);
seq(0xb7, ['f64.convert_i32_s', 'f64.convert_i32_u', 'f64.convert_i64_s', 'f64.convert_i64_u'], 1, 1);
def(0xbb, 'f64.promote_f32', Imm.None, 1, 1, F_NAN_F64);
seq(0xbc, ['i32.reinterpret_f32', 'i64.reinterpret_f64', 'f32.reinterpret_i32', 'f64.reinterpret_i64'], 1, 1);
seq(0xc0, ['i32.extend8_s', 'i32.extend16_s', 'i64.extend8_s', 'i64.extend16_s', 'i64.extend32_s'], 1, 1);
// ---- reference types
def(0xd0, 'ref.null', Imm.RefType, 0, 1, F_CONST);
def(0xd1, 'ref.is_null', Imm.None, 1, 1);
def(0xd2, 'ref.func', Imm.Func, 0, 1, F_CONST);
// ---- 0xFC prefix
seq(
  0x100,
  [
    'i32.trunc_sat_f32_s',
    'i32.trunc_sat_f32_u',
    'i32.trunc_sat_f64_s',
    'i32.trunc_sat_f64_u',
    'i64.trunc_sat_f32_s',
    'i64.trunc_sat_f32_u',
    'i64.trunc_sat_f64_s',
    'i64.trunc_sat_f64_u',
  ],
  1,
  1,
);
def(0x108, 'memory.init', Imm.MemoryInit, 3, 0, F_BULK_MEMORY | F_DYNAMIC);
def(0x109, 'data.drop', Imm.Data, 0, 0, F_BULK_MEMORY);
def(0x10a, 'memory.copy', Imm.MemoryCopy, 3, 0, F_BULK_MEMORY | F_DYNAMIC);
def(0x10b, 'memory.fill', Imm.Mem, 3, 0, F_BULK_MEMORY | F_DYNAMIC);
def(0x10c, 'table.init', Imm.TableInit, 3, 0, F_TABLE | F_DYNAMIC);
def(0x10d, 'elem.drop', Imm.Elem, 0, 0, F_TABLE);
def(0x10e, 'table.copy', Imm.TableCopy, 3, 0, F_TABLE | F_DYNAMIC);
def(0x10f, 'table.grow', Imm.Table, 2, 1, F_TABLE | F_DYNAMIC);
def(0x110, 'table.size', Imm.Table, 0, 1, F_TABLE);
def(0x111, 'table.fill', Imm.Table, 3, 0, F_TABLE | F_DYNAMIC);

// ---- 0xFD prefix: SIMD
const S = 0x200;
const V = F_SIMD;
def(S + 0x00, 'v128.load', Imm.MemArg, 1, 1, V | F_LOAD);
seq(
  S + 0x01,
  [
    'v128.load8x8_s',
    'v128.load8x8_u',
    'v128.load16x4_s',
    'v128.load16x4_u',
    'v128.load32x2_s',
    'v128.load32x2_u',
    'v128.load8_splat',
    'v128.load16_splat',
    'v128.load32_splat',
    'v128.load64_splat',
  ],
  1,
  1,
  V | F_LOAD,
);
for (let k = S + 0x01; k <= S + 0x0a; k++) OP_IMM[k] = Imm.MemArg;
def(S + 0x0b, 'v128.store', Imm.MemArg, 2, 0, V | F_STORE);
def(S + 0x0c, 'v128.const', Imm.V128, 0, 1, V | F_CONST);
def(S + 0x0d, 'i8x16.shuffle', Imm.Shuffle, 2, 1, V);
def(S + 0x0e, 'i8x16.swizzle', Imm.None, 2, 1, V);
seq(
  S + 0x0f,
  ['i8x16', 'i16x8', 'i32x4', 'i64x2', 'f32x4', 'f64x2'].map((s) => `${s}.splat`),
  1,
  1,
  V,
);
const lanes: [number, string, number, number][] = [
  [0x15, 'i8x16.extract_lane_s', 1, 1],
  [0x16, 'i8x16.extract_lane_u', 1, 1],
  [0x17, 'i8x16.replace_lane', 2, 1],
  [0x18, 'i16x8.extract_lane_s', 1, 1],
  [0x19, 'i16x8.extract_lane_u', 1, 1],
  [0x1a, 'i16x8.replace_lane', 2, 1],
  [0x1b, 'i32x4.extract_lane', 1, 1],
  [0x1c, 'i32x4.replace_lane', 2, 1],
  [0x1d, 'i64x2.extract_lane', 1, 1],
  [0x1e, 'i64x2.replace_lane', 2, 1],
  [0x1f, 'f32x4.extract_lane', 1, 1],
  [0x20, 'f32x4.replace_lane', 2, 1],
  [0x21, 'f64x2.extract_lane', 1, 1],
  [0x22, 'f64x2.replace_lane', 2, 1],
];
for (const [c, n, p, q] of lanes) def(S + c, n, Imm.Lane, p, q, V);
const icmp = ['eq', 'ne', 'lt_s', 'lt_u', 'gt_s', 'gt_u', 'le_s', 'le_u', 'ge_s', 'ge_u'];
seq(
  S + 0x23,
  icmp.map((n) => `i8x16.${n}`),
  2,
  1,
  V,
);
seq(
  S + 0x2d,
  icmp.map((n) => `i16x8.${n}`),
  2,
  1,
  V,
);
seq(
  S + 0x37,
  icmp.map((n) => `i32x4.${n}`),
  2,
  1,
  V,
);
seq(
  S + 0x41,
  ['eq', 'ne', 'lt', 'gt', 'le', 'ge'].map((n) => `f32x4.${n}`),
  2,
  1,
  V,
);
seq(
  S + 0x47,
  ['eq', 'ne', 'lt', 'gt', 'le', 'ge'].map((n) => `f64x2.${n}`),
  2,
  1,
  V,
);
def(S + 0x4d, 'v128.not', Imm.None, 1, 1, V);
seq(S + 0x4e, ['v128.and', 'v128.andnot', 'v128.or', 'v128.xor'], 2, 1, V);
def(S + 0x52, 'v128.bitselect', Imm.None, 3, 1, V);
def(S + 0x53, 'v128.any_true', Imm.None, 1, 1, V);
seq(
  S + 0x54,
  ['v128.load8_lane', 'v128.load16_lane', 'v128.load32_lane', 'v128.load64_lane'],
  2,
  1,
  V | F_LOAD,
);
seq(
  S + 0x58,
  ['v128.store8_lane', 'v128.store16_lane', 'v128.store32_lane', 'v128.store64_lane'],
  2,
  0,
  V | F_STORE,
);
for (let k = S + 0x54; k <= S + 0x5b; k++) OP_IMM[k] = Imm.MemArgLane;
seq(S + 0x5c, ['v128.load32_zero', 'v128.load64_zero'], 1, 1, V | F_LOAD);
OP_IMM[S + 0x5c] = Imm.MemArg;
OP_IMM[S + 0x5d] = Imm.MemArg;
def(S + 0x5e, 'f32x4.demote_f64x2_zero', Imm.None, 1, 1, V | F_NAN_F32X4);
def(S + 0x5f, 'f64x2.promote_low_f32x4', Imm.None, 1, 1, V | F_NAN_F64X2);

type SimdDef = [number, string, number, number, number?];
const simd: SimdDef[] = [
  [0x60, 'i8x16.abs', 1, 1],
  [0x61, 'i8x16.neg', 1, 1],
  [0x62, 'i8x16.popcnt', 1, 1],
  [0x63, 'i8x16.all_true', 1, 1],
  [0x64, 'i8x16.bitmask', 1, 1],
  [0x65, 'i8x16.narrow_i16x8_s', 2, 1],
  [0x66, 'i8x16.narrow_i16x8_u', 2, 1],
  [0x67, 'f32x4.ceil', 1, 1, F_NAN_F32X4],
  [0x68, 'f32x4.floor', 1, 1, F_NAN_F32X4],
  [0x69, 'f32x4.trunc', 1, 1, F_NAN_F32X4],
  [0x6a, 'f32x4.nearest', 1, 1, F_NAN_F32X4],
  [0x6b, 'i8x16.shl', 2, 1],
  [0x6c, 'i8x16.shr_s', 2, 1],
  [0x6d, 'i8x16.shr_u', 2, 1],
  [0x6e, 'i8x16.add', 2, 1],
  [0x6f, 'i8x16.add_sat_s', 2, 1],
  [0x70, 'i8x16.add_sat_u', 2, 1],
  [0x71, 'i8x16.sub', 2, 1],
  [0x72, 'i8x16.sub_sat_s', 2, 1],
  [0x73, 'i8x16.sub_sat_u', 2, 1],
  [0x74, 'f64x2.ceil', 1, 1, F_NAN_F64X2],
  [0x75, 'f64x2.floor', 1, 1, F_NAN_F64X2],
  [0x76, 'i8x16.min_s', 2, 1],
  [0x77, 'i8x16.min_u', 2, 1],
  [0x78, 'i8x16.max_s', 2, 1],
  [0x79, 'i8x16.max_u', 2, 1],
  [0x7a, 'f64x2.trunc', 1, 1, F_NAN_F64X2],
  [0x7b, 'i8x16.avgr_u', 2, 1],
  [0x7c, 'i16x8.extadd_pairwise_i8x16_s', 1, 1],
  [0x7d, 'i16x8.extadd_pairwise_i8x16_u', 1, 1],
  [0x7e, 'i32x4.extadd_pairwise_i16x8_s', 1, 1],
  [0x7f, 'i32x4.extadd_pairwise_i16x8_u', 1, 1],
  [0x80, 'i16x8.abs', 1, 1],
  [0x81, 'i16x8.neg', 1, 1],
  [0x82, 'i16x8.q15mulr_sat_s', 2, 1],
  [0x83, 'i16x8.all_true', 1, 1],
  [0x84, 'i16x8.bitmask', 1, 1],
  [0x85, 'i16x8.narrow_i32x4_s', 2, 1],
  [0x86, 'i16x8.narrow_i32x4_u', 2, 1],
  [0x87, 'i16x8.extend_low_i8x16_s', 1, 1],
  [0x88, 'i16x8.extend_high_i8x16_s', 1, 1],
  [0x89, 'i16x8.extend_low_i8x16_u', 1, 1],
  [0x8a, 'i16x8.extend_high_i8x16_u', 1, 1],
  [0x8b, 'i16x8.shl', 2, 1],
  [0x8c, 'i16x8.shr_s', 2, 1],
  [0x8d, 'i16x8.shr_u', 2, 1],
  [0x8e, 'i16x8.add', 2, 1],
  [0x8f, 'i16x8.add_sat_s', 2, 1],
  [0x90, 'i16x8.add_sat_u', 2, 1],
  [0x91, 'i16x8.sub', 2, 1],
  [0x92, 'i16x8.sub_sat_s', 2, 1],
  [0x93, 'i16x8.sub_sat_u', 2, 1],
  [0x94, 'f64x2.nearest', 1, 1, F_NAN_F64X2],
  [0x95, 'i16x8.mul', 2, 1],
  [0x96, 'i16x8.min_s', 2, 1],
  [0x97, 'i16x8.min_u', 2, 1],
  [0x98, 'i16x8.max_s', 2, 1],
  [0x99, 'i16x8.max_u', 2, 1],
  [0x9b, 'i16x8.avgr_u', 2, 1],
  [0x9c, 'i16x8.extmul_low_i8x16_s', 2, 1],
  [0x9d, 'i16x8.extmul_high_i8x16_s', 2, 1],
  [0x9e, 'i16x8.extmul_low_i8x16_u', 2, 1],
  [0x9f, 'i16x8.extmul_high_i8x16_u', 2, 1],
  [0xa0, 'i32x4.abs', 1, 1],
  [0xa1, 'i32x4.neg', 1, 1],
  [0xa3, 'i32x4.all_true', 1, 1],
  [0xa4, 'i32x4.bitmask', 1, 1],
  [0xa7, 'i32x4.extend_low_i16x8_s', 1, 1],
  [0xa8, 'i32x4.extend_high_i16x8_s', 1, 1],
  [0xa9, 'i32x4.extend_low_i16x8_u', 1, 1],
  [0xaa, 'i32x4.extend_high_i16x8_u', 1, 1],
  [0xab, 'i32x4.shl', 2, 1],
  [0xac, 'i32x4.shr_s', 2, 1],
  [0xad, 'i32x4.shr_u', 2, 1],
  [0xae, 'i32x4.add', 2, 1],
  [0xb1, 'i32x4.sub', 2, 1],
  [0xb5, 'i32x4.mul', 2, 1],
  [0xb6, 'i32x4.min_s', 2, 1],
  [0xb7, 'i32x4.min_u', 2, 1],
  [0xb8, 'i32x4.max_s', 2, 1],
  [0xb9, 'i32x4.max_u', 2, 1],
  [0xba, 'i32x4.dot_i16x8_s', 2, 1],
  [0xbc, 'i32x4.extmul_low_i16x8_s', 2, 1],
  [0xbd, 'i32x4.extmul_high_i16x8_s', 2, 1],
  [0xbe, 'i32x4.extmul_low_i16x8_u', 2, 1],
  [0xbf, 'i32x4.extmul_high_i16x8_u', 2, 1],
  [0xc0, 'i64x2.abs', 1, 1],
  [0xc1, 'i64x2.neg', 1, 1],
  [0xc3, 'i64x2.all_true', 1, 1],
  [0xc4, 'i64x2.bitmask', 1, 1],
  [0xc7, 'i64x2.extend_low_i32x4_s', 1, 1],
  [0xc8, 'i64x2.extend_high_i32x4_s', 1, 1],
  [0xc9, 'i64x2.extend_low_i32x4_u', 1, 1],
  [0xca, 'i64x2.extend_high_i32x4_u', 1, 1],
  [0xcb, 'i64x2.shl', 2, 1],
  [0xcc, 'i64x2.shr_s', 2, 1],
  [0xcd, 'i64x2.shr_u', 2, 1],
  [0xce, 'i64x2.add', 2, 1],
  [0xd1, 'i64x2.sub', 2, 1],
  [0xd5, 'i64x2.mul', 2, 1],
  [0xd6, 'i64x2.eq', 2, 1],
  [0xd7, 'i64x2.ne', 2, 1],
  [0xd8, 'i64x2.lt_s', 2, 1],
  [0xd9, 'i64x2.gt_s', 2, 1],
  [0xda, 'i64x2.le_s', 2, 1],
  [0xdb, 'i64x2.ge_s', 2, 1],
  [0xdc, 'i64x2.extmul_low_i32x4_s', 2, 1],
  [0xdd, 'i64x2.extmul_high_i32x4_s', 2, 1],
  [0xde, 'i64x2.extmul_low_i32x4_u', 2, 1],
  [0xdf, 'i64x2.extmul_high_i32x4_u', 2, 1],
  [0xe0, 'f32x4.abs', 1, 1],
  [0xe1, 'f32x4.neg', 1, 1],
  [0xe3, 'f32x4.sqrt', 1, 1, F_NAN_F32X4],
  [0xe4, 'f32x4.add', 2, 1, F_NAN_F32X4],
  [0xe5, 'f32x4.sub', 2, 1, F_NAN_F32X4],
  [0xe6, 'f32x4.mul', 2, 1, F_NAN_F32X4],
  [0xe7, 'f32x4.div', 2, 1, F_NAN_F32X4],
  [0xe8, 'f32x4.min', 2, 1, F_NAN_F32X4],
  [0xe9, 'f32x4.max', 2, 1, F_NAN_F32X4],
  [0xea, 'f32x4.pmin', 2, 1],
  [0xeb, 'f32x4.pmax', 2, 1],
  [0xec, 'f64x2.abs', 1, 1],
  [0xed, 'f64x2.neg', 1, 1],
  [0xef, 'f64x2.sqrt', 1, 1, F_NAN_F64X2],
  [0xf0, 'f64x2.add', 2, 1, F_NAN_F64X2],
  [0xf1, 'f64x2.sub', 2, 1, F_NAN_F64X2],
  [0xf2, 'f64x2.mul', 2, 1, F_NAN_F64X2],
  [0xf3, 'f64x2.div', 2, 1, F_NAN_F64X2],
  [0xf4, 'f64x2.min', 2, 1, F_NAN_F64X2],
  [0xf5, 'f64x2.max', 2, 1, F_NAN_F64X2],
  [0xf6, 'f64x2.pmin', 2, 1],
  [0xf7, 'f64x2.pmax', 2, 1],
  [0xf8, 'i32x4.trunc_sat_f32x4_s', 1, 1],
  [0xf9, 'i32x4.trunc_sat_f32x4_u', 1, 1],
  [0xfa, 'f32x4.convert_i32x4_s', 1, 1],
  [0xfb, 'f32x4.convert_i32x4_u', 1, 1],
  [0xfc, 'i32x4.trunc_sat_f64x2_s_zero', 1, 1],
  [0xfd, 'i32x4.trunc_sat_f64x2_u_zero', 1, 1],
  [0xfe, 'f64x2.convert_low_i32x4_s', 1, 1],
  [0xff, 'f64x2.convert_low_i32x4_u', 1, 1],
];
for (const [c, n, p, q, f] of simd) def(S + c, n, Imm.None, p, q, V | (f ?? 0));

/** Opcodes of post-2.0 proposals that are recognized only to be rejected with a clear message. */
export const UNSUPPORTED_OPCODES: ReadonlyMap<number, string> = new Map([
  [0x06, 'exception handling (try)'],
  [0x07, 'exception handling (catch)'],
  [0x08, 'exception handling (throw)'],
  [0x09, 'exception handling (rethrow)'],
  [0x0a, 'exception handling (throw_ref)'],
  [0x12, 'tail calls (return_call)'],
  [0x13, 'tail calls (return_call_indirect)'],
  [0x14, 'typed function references (call_ref)'],
  [0x15, 'typed function references (return_call_ref)'],
  [0x18, 'exception handling (delegate)'],
  [0x19, 'exception handling (catch_all)'],
  [0x1f, 'exception handling (try_table)'],
  [0xd3, 'GC / typed function references (ref.eq)'],
  [0xd4, 'typed function references (ref.as_non_null)'],
  [0xd5, 'typed function references (br_on_null)'],
  [0xd6, 'typed function references (br_on_non_null)'],
  [0xfb, 'GC (0xFB prefix)'],
  [0xfe, 'threads / atomics (0xFE prefix)'],
]);

/** Mnemonic of an opcode key ('' when unknown). */
export function opcodeName(key: number): string {
  return OP_NAME[key] ?? '';
}

/** Encodes an opcode key as bytes into `out` at `at`; returns the number of bytes written. */
export function opcodeByteLength(key: number): number {
  if (key < 0x100) return 1;
  const sub = key & 0xff;
  return sub < 0x80 ? 2 : 3;
}
