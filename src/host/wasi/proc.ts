/** WASI process calls: proc_exit (throws WasiExit, the engine's status 'exit') and sched_yield. */
import { WasiExit } from '../errors.ts';
import { ERRNO } from './constants.ts';
import type { SyscallGroup, WasiState } from './state.ts';

export function proc_exit(_s: WasiState, code: number): number {
  throw new WasiExit(code >>> 0);
}

export function sched_yield(_s: WasiState): number {
  return ERRNO.SUCCESS;
}

export const PROC_CALLS = { sched_yield, proc_exit } satisfies SyscallGroup;
