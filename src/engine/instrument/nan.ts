/**
 * NaN canonicalization: after every float operation that can produce a NaN, a NaN result is replaced
 * by the canonical NaN of its lane shape (select / v128.bitselect on `x == x`), except where the NaN is
 * consumed right away by another NaN-producing operation of the same shape. See docs/metering.md.
 */
import {
  F_NAN,
  F_NAN_F32,
  F_NAN_F32X4,
  F_NAN_F64,
  F_NAN_F64X2,
  OP_FLAGS,
  OP_NAME,
  OP_POP,
  type Writer,
} from '../../wasm/index.ts';
import { type BodyOut, copyTo } from './emit.ts';
import type { Ctx } from './types.ts';

/**
 * For each NaN-propagating operation, the lane shape of its float input (F_NAN_* class), else 0:
 * f32 ops and f64.promote_f32 read f32; f64 ops and f32.demote_f64 read f64; likewise for SIMD.
 */
const NAN_INPUT = new Uint16Array(0x300);
for (let k = 0; k < 0x300; k++) {
  const f = OP_FLAGS[k]! & F_NAN;
  if (!f) continue;
  const name = OP_NAME[k]!;
  if (name === 'f32.demote_f64') NAN_INPUT[k] = F_NAN_F64;
  else if (name === 'f64.promote_f32') NAN_INPUT[k] = F_NAN_F32;
  else if (name === 'f32x4.demote_f64x2_zero') NAN_INPUT[k] = F_NAN_F64X2;
  else if (name === 'f64x2.promote_low_f32x4') NAN_INPUT[k] = F_NAN_F32X4;
  else NAN_INPUT[k] = f;
}
/** Instructions that push one value and pop none (local.get, global.get, constants). */
const PUSH_ONLY = new Uint8Array(0x300);
for (const k of [0x20, 0x23, 0x41, 0x42, 0x43, 0x44, 0x20c]) PUSH_ONLY[k] = 1;

// Canonical NaNs.
const F32_NAN_BITS = 0x7fc00000;
const F64_NAN_BYTES = [0, 0, 0, 0, 0, 0, 0xf8, 0x7f];

/** Temporaries of a function's canonicalization sites, one per lane shape used (-1 where unused). */
export interface NanLocals {
  f32: number;
  f64: number;
  v128: number;
}

/** Emit hook after a NaN-producing instruction i (flags `fl`). */
export function nanAfter(
  o: BodyOut,
  ctx: Ctx,
  op: ArrayLike<number>,
  i: number,
  fl: number,
  t: NanLocals,
): void {
  // A NaN consumed right away by another NaN-producing operation on the same lane shape need not be
  // canonicalized: that operation's result is a NaN whenever this one is, and is canonicalized itself.
  const cls = fl & F_NAN;
  const k1 = op[i + 1]!;
  if (NAN_INPUT[k1] === cls) return;
  if (PUSH_ONLY[k1] && NAN_INPUT[op[i + 2]!] === cls && OP_POP[op[i + 2]!] === 2) return;
  copyTo(o, o.pos[i + 1]!);
  emitCanon(o.w, fl, fl & F_NAN_F32 ? t.f32 : fl & F_NAN_F64 ? t.f64 : t.v128);
  ctx.nanSites++;
}

function emitCanon(w: Writer, flags: number, local: number): void {
  w.u8(0x22);
  w.u32(local);
  if (flags & F_NAN_F32) {
    w.u8(0x43);
    w.f32Bits(F32_NAN_BITS);
  } else if (flags & F_NAN_F64) {
    w.u8(0x44);
    for (const b of F64_NAN_BYTES) w.u8(b);
  } else {
    w.u8(0xfd);
    w.u8(0x0c); // v128.const
    const f32 = (flags & F_NAN_F32X4) !== 0;
    for (let lane = 0; lane < (f32 ? 4 : 2); lane++) {
      if (f32) w.f32Bits(F32_NAN_BITS);
      else for (const b of F64_NAN_BYTES) w.u8(b);
    }
  }
  w.u8(0x20);
  w.u32(local);
  w.u8(0x20);
  w.u32(local);
  if (flags & F_NAN_F32) {
    w.u8(0x5b); // f32.eq
    w.u8(0x1b); // select
  } else if (flags & F_NAN_F64) {
    w.u8(0x61); // f64.eq
    w.u8(0x1b);
  } else {
    w.u8(0xfd);
    w.u8(flags & F_NAN_F32X4 ? 0x41 : 0x47); // f32x4.eq / f64x2.eq
    w.u8(0xfd);
    w.u8(0x52); // v128.bitselect
  }
}
