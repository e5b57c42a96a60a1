/** WASI args and environment: args_get, args_sizes_get, environ_get, environ_sizes_get. */
import type { GuestMemory } from '../memory.ts';
import { ERRNO } from './constants.ts';
import type { SyscallGroup, WasiState } from './state.ts';

/** Write NUL-terminated strings at `bufPtr` and their addresses at `ptrsPtr`. */
function strings(m: GuestMemory, list: Uint8Array[], ptrsPtr: number, bufPtr: number, what: string): number {
  let p = bufPtr >>> 0;
  const total = list.reduce((s, b) => s + b.length, 0);
  m.check(ptrsPtr, list.length * 4, what);
  m.check(bufPtr, total, what);
  list.forEach((b, i) => {
    m.u32((ptrsPtr >>> 0) + i * 4, p, what);
    m.write(p, b, what);
    p += b.length;
  });
  return ERRNO.SUCCESS;
}

/** Write the count of `list` and its total byte size. */
function sizes(m: GuestMemory, list: Uint8Array[], countPtr: number, sizePtr: number, what: string): number {
  m.u32(countPtr, list.length, what);
  m.u32(
    sizePtr,
    list.reduce((s, b) => s + b.length, 0),
    what,
  );
  return ERRNO.SUCCESS;
}

export function args_get(s: WasiState, argv: number, buf: number): number {
  return strings(s.mem, s.args, argv, buf, 'args_get');
}

export function args_sizes_get(s: WasiState, c: number, size: number): number {
  return sizes(s.mem, s.args, c, size, 'args_sizes_get');
}

export function environ_get(s: WasiState, envp: number, buf: number): number {
  return strings(s.mem, s.env, envp, buf, 'environ_get');
}

export function environ_sizes_get(s: WasiState, c: number, size: number): number {
  return sizes(s.mem, s.env, c, size, 'environ_sizes_get');
}

export const ARGS_CALLS = { args_get, args_sizes_get, environ_get, environ_sizes_get } satisfies SyscallGroup;
