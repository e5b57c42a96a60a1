/**
 * Emission helpers shared by the passes: the copy cursor over a function body (unchanged byte ranges
 * are copied, never re-encoded) and the trap sequence of the gas meter and the stack limiter.
 */
import type { Writer } from '../../wasm/index.ts';

/** The emit pass's view of one function body: the writer, the decoded positions and the copy cursor. */
export interface BodyOut {
  w: Writer;
  body: Uint8Array;
  pos: ArrayLike<number>;
  /** Start of the body bytes not yet copied to `w`. */
  copyFrom: number;
}

/** Copies the pending body bytes up to `end` (the emitter then inserts at `end`). */
export function copyTo(o: BodyOut, end: number): void {
  o.w.bytes(o.body, o.copyFrom, end);
  o.copyFrom = end;
}

export function emitTrap(w: Writer, trapG: number, code: number): void {
  // if ; i32.const code ; global.set trap ; unreachable ; end
  w.u8(0x04);
  w.u8(0x40);
  w.u8(0x41);
  w.u8(code);
  w.u8(0x24);
  w.u32(trapG);
  w.u8(0x00);
  w.u8(0x0b);
}
