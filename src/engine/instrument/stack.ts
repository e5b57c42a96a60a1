/**
 * The deterministic stack-height limiter: each counted function adds its frame cost (params + locals +
 * max operand height + overhead) to `__wasmvm_stack` in a prologue, traps above the limit, and
 * restores the height in an epilogue after a wrapper block that `return`s branch to. See
 * docs/metering.md.
 */
import { VALTYPE_BYTE, type ValType, type WasmModule, type Writer } from '../../wasm/index.ts';
import { emitTrap } from './emit.ts';
import {
  type Ctx,
  type InstrumentInfo,
  STACK_EXPORT,
  TRAP_OUT_OF_GAS,
  TRAP_STACK_EXHAUSTED,
} from './types.ts';

/**
 * Default stack-height limit, in stack-limiter units (see docs/metering.md): reached well
 * before V8's own stack overflow in every tier with a 984 KiB stack.
 */
export const DEFAULT_STACK_LIMIT = 40_000;
/** Units charged per frame on top of params + locals + max operand stack height. */
export const FRAME_OVERHEAD_UNITS = 8;
/** Leaf functions (no call instructions) whose frame costs at most this many units are not counted. */
export const LEAF_MAX_UNITS = 256;

/** Adds `__wasmvm_stack`; returns the next global index. */
export function addStackGlobal(m: WasmModule, ctx: Ctx, info: InstrumentInfo, nextGlobal: number): number {
  ctx.stackG = nextGlobal++;
  m.globals.push({ type: 'i32', mutable: true, init: new Uint8Array([0x41, 0x00, 0x0b]) });
  m.exports.push({ name: STACK_EXPORT, kind: 'global', index: ctx.stackG });
  info.stackExport = STACK_EXPORT;
  info.stackLimit = ctx.stackLimit;
  return nextGlobal;
}

export function valSlots(t: ValType): number {
  return t === 'v128' ? 2 : 1;
}

/**
 * Whether the function is counted: small leaf functions (no calls) are not; they add at most one
 * bounded frame on top of the deepest counted one, which the limit's headroom covers.
 */
export function stackCounted(ctx: Ctx, hasCall: boolean, frameCost: number): boolean {
  return ctx.stackLimit > 0 && (hasCall || frameCost > LEAF_MAX_UNITS);
}

/** height += frame; trap above the limit (the height after the prologue is kept in `stackL`). */
export function emitStackPrologue(w: Writer, ctx: Ctx, frameCost: number, stackL: number): void {
  w.u8(0x23);
  w.u32(ctx.stackG);
  w.u8(0x41);
  w.s32(frameCost);
  w.u8(0x6a); // i32.add
  w.u8(0x22);
  w.u32(stackL);
  w.u8(0x24);
  w.u32(ctx.stackG);
  w.u8(0x20);
  w.u32(stackL);
  w.u8(0x41);
  w.s32(ctx.stackLimit);
  w.u8(0x4b); // i32.gt_u
  emitTrap(w, ctx.trapG, 2);
}

/** Opens the wrapper block, typed [] -> the function's results. */
export function emitWrapperBlock(w: Writer, m: WasmModule, results: readonly ValType[]): void {
  w.u8(0x02);
  w.s33(blockTypeFor(m, results));
}

/** height = (height after the prologue) - frame: every callee restored what it added; then `end`. */
export function emitStackEpilogue(w: Writer, ctx: Ctx, frameCost: number, stackL: number): void {
  w.u8(0x20);
  w.u32(stackL);
  w.u8(0x41);
  w.s32(frameCost);
  w.u8(0x6b); // i32.sub
  w.u8(0x24);
  w.u32(ctx.stackG);
  w.u8(0x0b);
}

/** Finds or appends the type [] -> results (for the stack limiter's wrapper block). */
function blockTypeFor(m: WasmModule, results: readonly ValType[]): number {
  if (results.length === 0) return -64;
  if (results.length === 1) return VALTYPE_BYTE[results[0]!] - 0x80;
  for (let i = 0; i < m.types.length; i++) {
    const t = m.types[i]!;
    if (
      t.params.length === 0 &&
      t.results.length === results.length &&
      t.results.every((r, j) => r === results[j])
    )
      return i;
  }
  m.types.push({ params: [], results: [...results] });
  return m.types.length - 1;
}

/** Internal calling convention: the height parameter += frame (the global is not touched). */
export function emitInternalPrologue(w: Writer, _ctx: Ctx, frameCost: number, stackL: number): void {
  w.u8(0x20);
  w.u32(stackL);
  w.u8(0x41);
  w.s32(frameCost);
  w.u8(0x6a); // i32.add
  w.u8(0x21);
  w.u32(stackL);
}

/**
 * Internal calling convention, function entry: the check the caller's metered block deferred (gas < 0:
 * out of gas) and the stack limit (height > limit: exhausted), in one branch; out of gas comes first,
 * as it would have trapped in the caller, before this frame was pushed. The trap path writes the gas
 * and the height back to their globals. `gasL` / `stackL` = -1 when that part is off.
 */
export function emitEntryCheck(w: Writer, ctx: Ctx, gasL: number, stackL: number): void {
  if (gasL < 0 && stackL < 0) return;
  if (gasL >= 0) {
    w.u8(0x20);
    w.u32(gasL);
    w.u8(0x42);
    w.u8(0x00);
    w.u8(0x53); // i64.lt_s
    ctx.gasChecks++;
  }
  if (stackL >= 0) {
    w.u8(0x20);
    w.u32(stackL);
    w.u8(0x41);
    w.s32(ctx.stackLimit);
    w.u8(0x4b); // i32.gt_u
    if (gasL >= 0) w.u8(0x72); // i32.or
  }
  w.u8(0x04);
  w.u8(0x40);
  if (gasL >= 0) {
    w.u8(0x20);
    w.u32(gasL);
    w.u8(0x24);
    w.u32(ctx.gasG);
  }
  if (stackL >= 0) emitStackSync(w, ctx, stackL);
  if (gasL >= 0 && stackL >= 0) {
    // trap = gas < 0 ? 1 : 2
    w.u8(0x41);
    w.u8(TRAP_OUT_OF_GAS);
    w.u8(0x41);
    w.u8(TRAP_STACK_EXHAUSTED);
    w.u8(0x20);
    w.u32(gasL);
    w.u8(0x42);
    w.u8(0x00);
    w.u8(0x53); // i64.lt_s
    w.u8(0x1b); // select
  } else {
    w.u8(0x41);
    w.u8(gasL >= 0 ? TRAP_OUT_OF_GAS : TRAP_STACK_EXHAUSTED);
  }
  w.u8(0x24);
  w.u32(ctx.trapG);
  w.u8(0x00); // unreachable
  w.u8(0x0b);
}

/** height local -> `__wasmvm_stack`, before a call whose callee reads the global (stack-neutral). */
export function emitStackSync(w: Writer, ctx: Ctx, stackL: number): void {
  w.u8(0x20);
  w.u32(stackL);
  w.u8(0x24);
  w.u32(ctx.stackG);
}
