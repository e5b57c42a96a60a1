/**
 * Pass 1 over a decoded function body: where the metered blocks start and what each charges (with
 * whether its check may be deferred and whether it must sync the gas global), the maximum operand
 * stack height (for the stack limiter's frame cost), the index checks of the code, and which
 * temporaries the emit pass needs (NaN lane shapes, a dynamic-charge operand, calls).
 */
import {
  F_BULK_MEMORY,
  F_CALL,
  F_DYNAMIC,
  F_LOAD,
  F_NAN,
  F_STORE,
  F_TABLE,
  OP_FLAGS,
  OP_POP,
  OP_PUSH,
  Reader,
} from '../../wasm/index.ts';
import type { Ctx } from './types.ts';
import { fail } from './validate.ts';

/** Instructions that end a metered block (the next instruction starts one). */
const BOUNDARY = new Uint8Array(0x300);
for (const k of [0x00, 0x03, 0x04, 0x05, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f]) BOUNDARY[k] = 1;

/** Instructions that can trap or have effects outside the instance (their block's charge is checked at once). */
const IMPURE = new Uint8Array(0x300);
for (let k = 0; k < 0x300; k++) {
  if (OP_FLAGS[k]! & (F_CALL | F_LOAD | F_STORE | F_TABLE | F_BULK_MEMORY | F_DYNAMIC)) IMPURE[k] = 1;
}
// unreachable, integer division/remainder, trapping float-to-int conversions
for (const k of [
  0x00, 0x6d, 0x6e, 0x6f, 0x70, 0x7f, 0x80, 0x81, 0x82, 0xa8, 0xa9, 0xaa, 0xab, 0xae, 0xaf, 0xb0, 0xb1,
])
  IMPURE[k] = 1;

/** A decoded function body (from decodeBody). */
export interface Decoded {
  op: ArrayLike<number>;
  pos: ArrayLike<number>;
  imm: ArrayLike<number>;
  count: number;
  maxDepth: number;
}

/** What pass 1 found; the charges and sync points are left in ctx.charges / ctx.syncAt. */
export interface ScanResult {
  maxH: number;
  /** F_NAN_* lane shapes produced by the body. */
  needNan: number;
  /** Whether the body has a dynamically charged instruction (memory.grow, bulk memory, tables). */
  needDyn: boolean;
  hasCall: boolean;
}

/** The control stack and operand height while scanning (the heights of open blocks, their arities). */
interface Ctl {
  ctx: Ctx;
  body: Uint8Array;
  funcIndex: number;
  cBase: Int32Array;
  cRes: Int32Array;
  cPar: Int32Array;
  /** Opener opcode of each open block. */
  cKind: Int32Array;
  /** Whether any branch targets the block's label. */
  cTgt: Int32Array;
  brReader: Reader | null;
  sp: number;
  h: number;
  maxH: number;
}

export function scanFunction(
  ctx: Ctx,
  d: Decoded,
  body: Uint8Array,
  results: number,
  nLocals: number,
  funcIndex: number,
): ScanResult {
  const { op, pos, imm, count } = d;
  const costOp = ctx.costs ? ctx.costs.op : null;
  if (ctx.charges.length < count + 1) {
    ctx.charges = new Float64Array((count + 1) * 2);
    ctx.syncAt = new Uint8Array((count + 1) * 2);
  }
  const charges = ctx.charges;
  charges.fill(0, 0, count + 1);
  const syncAt = ctx.syncAt;
  syncAt.fill(0, 0, count + 1);
  const s = controlStack(ctx, d, body, results, funcIndex);
  const { cBase } = s;
  let cur = 0;
  let insAt = 0;
  let pure = 1;
  let loopHead = 0;
  // the block calls an internal function, whose entry checks the gas (see Ctx.internal)
  let icall = 0;
  // the last call in the current block (-1: none): a callee may return with the gas overdrawn by its own
  // deferred charges, so a trapping or host-visible instruction after it in the same block needs a
  // check of its own, right after the call (bit 2 of syncAt)
  let lastCall = -1;
  const internal = ctx.internal;
  const lazy = ctx.lazy;
  let needNan = 0;
  let needDyn = false;
  let hasCall = false;
  const nGlobals = ctx.nGlobals;
  for (let i = 0; i < count; i++) {
    const k = op[i]!;
    const fl = OP_FLAGS[k]!;
    if (costOp) cur += costOp[k]!;
    if (fl & (F_NAN | F_DYNAMIC | F_CALL)) {
      if (fl & F_NAN) needNan |= fl & F_NAN;
      else if (fl & F_CALL) hasCall = true;
      else needDyn = true;
    }
    let boundary = BOUNDARY[k]!;
    const pops = OP_POP[k]!;
    if (pops >= 0) {
      let h = s.h - pops;
      if (h < cBase[s.sp]!) h = cBase[s.sp]!;
      h += OP_PUSH[k]!;
      if (h > s.maxH) s.maxH = h;
      s.h = h;
      if (k >= 0x20 && k <= 0x24) {
        const x = imm[i]! >>> 0;
        if (k <= 0x22 ? x >= nLocals : x >= nGlobals)
          fail('INVALID_BYTECODE', `unknown ${k <= 0x22 ? 'local' : 'global'} ${x} in function ${funcIndex}`);
      } else if (k === 0xd2 && imm[i]! >>> 0 >= ctx.nFuncs)
        fail('INVALID_BYTECODE', `unknown function ${imm[i]! >>> 0} in function ${funcIndex}`);
    } else if (controlOp(s, k, imm[i]!, pos[i]!)) boundary = 0;
    // (a global.set of an imported global is visible to the host: not pure)
    if (IMPURE[k] || (k === 0x24 && imm[i]! >>> 0 < ctx.nImportedGlobals)) {
      // a call to an internal function takes the gas in a parameter and checks it on entry
      if (k === 0x10 && internal !== null && internal[imm[i]! >>> 0] === 1) icall = 1;
      else {
        pure = 0;
        if (lastCall >= 0 && lazy) syncAt[lastCall] |= 2;
      }
      if (fl & F_CALL) lastCall = i;
    }
    if (boundary) {
      // negative = the charge's check may be deferred: a pure block that is not a loop header, or a
      // loop header whose block calls an internal function (its entry check bounds every iteration)
      if (cur > 0) charges[insAt] = pure && (!loopHead || icall) && lazy ? -cur : cur;
      if (!pure) syncAt[insAt] |= 1;
      cur = 0;
      lastCall = -1;
      insAt = i + 1;
      pure = 1;
      icall = 0;
      loopHead = k === 0x03 ? 1 : 0;
    }
  }
  if (cur > 0 && insAt < count) charges[insAt] = pure && (!loopHead || icall) && lazy ? -cur : cur;
  if (!pure && insAt < count) syncAt[insAt] |= 1;
  return { maxH: s.maxH, needNan, needDyn, hasCall };
}

function controlStack(ctx: Ctx, d: Decoded, body: Uint8Array, results: number, funcIndex: number): Ctl {
  const maxDepth = d.maxDepth + 2;
  if (ctx.ctrl.length < maxDepth * 5) ctx.ctrl = new Int32Array(maxDepth * 10);
  const ctrl = ctx.ctrl;
  const s: Ctl = {
    ctx,
    body,
    funcIndex,
    cBase: ctrl.subarray(0, maxDepth),
    cRes: ctrl.subarray(maxDepth, maxDepth * 2),
    cPar: ctrl.subarray(maxDepth * 2, maxDepth * 3),
    cKind: ctrl.subarray(maxDepth * 3, maxDepth * 4),
    cTgt: ctrl.subarray(maxDepth * 4, maxDepth * 5),
    brReader: null,
    sp: 0,
    h: 0,
    maxH: 0,
  };
  s.cRes[0] = results;
  s.cBase[0] = 0;
  s.cPar[0] = 0;
  return s;
}

/**
 * The operand height and control stack across a control instruction (one with no fixed pop count).
 * Returns true when the code after it stays in the same metered block (see `end`).
 */
function controlOp(s: Ctl, k: number, imm: number, at: number): boolean {
  const { cBase, cRes, cPar, cKind, cTgt, ctx } = s;
  switch (k) {
    case 0x02:
    case 0x03:
    case 0x04:
      openBlock(s, k, imm);
      break;
    case 0x05:
      s.h = cBase[s.sp]! + cPar[s.sp]!;
      break;
    case 0x0b: {
      const sp = s.sp;
      s.h = cBase[sp]! + cRes[sp]!;
      if (s.h > s.maxH) s.maxH = s.h;
      if (sp > 0) {
        s.sp--;
        // The code after the `end` of a loop, or of a block no branch targets, is only reached by
        // falling through the end: it stays in the same metered block.
        if (cKind[sp] === 0x03 || (cKind[sp] === 0x02 && cTgt[sp] === 0)) return true;
      }
      break;
    }
    case 0x0d:
    case 0x0c: {
      const t = s.sp - (imm >>> 0);
      if (t > 0) cTgt[t] = 1;
      if (k === 0x0d) {
        s.h--;
        if (s.h < cBase[s.sp]!) s.h = cBase[s.sp]!;
      } else s.h = cBase[s.sp]!;
      break;
    }
    case 0x0e: {
      s.brReader ??= new Reader(s.body);
      const r = s.brReader;
      r.pos = at + 1;
      const n = r.u32();
      for (let j = 0; j <= n; j++) {
        const t = s.sp - r.u32();
        if (t > 0) cTgt[t] = 1;
      }
      s.h = cBase[s.sp]!;
      break;
    }
    case 0x0f:
      s.h = cBase[s.sp]!;
      break;
    case 0x10:
    case 0x11: {
      let t: number;
      if (k === 0x10) {
        const f = imm >>> 0;
        if (f >= ctx.nFuncs) fail('INVALID_BYTECODE', `unknown function ${f} in function ${s.funcIndex}`);
        t = ctx.funcType[f]!;
      } else {
        t = imm >>> 0;
        if (t >= ctx.nTypes) fail('INVALID_BYTECODE', `unknown type ${t} in function ${s.funcIndex}`);
        s.h--;
      }
      s.h -= ctx.typeParams[t]!;
      if (s.h < cBase[s.sp]!) s.h = cBase[s.sp]!;
      s.h += ctx.typeResults[t]!;
      if (s.h > s.maxH) s.maxH = s.h;
      break;
    }
  }
  return false;
}

/** block / loop / if: pops the params (and the condition), opens a control frame. */
function openBlock(s: Ctl, k: number, bt: number): void {
  const ctx = s.ctx;
  if (k === 0x04) s.h--;
  let np = 0;
  let nr = 0;
  if (bt >= 0) {
    if (bt >= ctx.nTypes) fail('INVALID_BYTECODE', `unknown block type ${bt} in function ${s.funcIndex}`);
    np = ctx.typeParams[bt]!;
    nr = ctx.typeResults[bt]!;
  } else if (bt !== -64) nr = 1;
  s.h -= np;
  if (s.h < s.cBase[s.sp]!) s.h = s.cBase[s.sp]!;
  const sp = ++s.sp;
  s.cBase[sp] = s.h;
  s.cPar[sp] = np;
  s.cRes[sp] = nr;
  s.cKind[sp] = k;
  s.cTgt[sp] = 0;
  s.h += np;
  if (s.h > s.maxH) s.maxH = s.h;
}
