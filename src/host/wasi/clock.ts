/**
 * WASI clocks: clock_res_get, clock_time_get and poll_oneoff (clock subscriptions; fd subscriptions
 * answer at once). Real clocks, or a virtual clock advanced per read when deterministic.
 */
import { ERRNO } from './constants.ts';
import { WasiErrno } from './sandbox.ts';
import type { SyscallGroup, WasiState } from './state.ts';

/** The time of clock `id` (0 realtime, 1–3 monotonic/CPU), ns; the virtual clock steps per read. */
export function now(s: WasiState, id: number): bigint {
  if (s.deterministic) {
    if (id > 3) throw new WasiErrno(ERRNO.INVAL);
    s.virtualNs += s.stepNs;
    return id === 0 ? s.virtualStart + s.virtualNs : s.virtualNs;
  }
  switch (id) {
    case 0:
      return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
    case 1:
    case 2:
    case 3:
      return process.hrtime.bigint();
    default:
      throw new WasiErrno(ERRNO.INVAL);
  }
}

/** Sleep `ns` (the virtual clock just advances). */
export function sleepNs(s: WasiState, ns: bigint): void {
  if (ns <= 0n) return;
  if (s.deterministic) {
    s.virtualNs += ns;
    return;
  }
  const ms = Number(ns / 1_000_000n);
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.min(ms, 600_000));
}

export function clock_res_get(s: WasiState, id: number, ptr: number): number {
  if (id >>> 0 > 3) return ERRNO.INVAL;
  s.mem.u64(ptr, s.deterministic ? s.stepNs : 1000n, 'clock_res_get');
  return ERRNO.SUCCESS;
}

export function clock_time_get(s: WasiState, id: number, _precision: bigint, ptr: number): number {
  s.mem.check(ptr, 8, 'clock_time_get');
  s.mem.u64(ptr, now(s, id >>> 0), 'clock_time_get');
  return ERRNO.SUCCESS;
}

type PollEvent = { userdata: bigint; type: number; error: number };

export function poll_oneoff(
  s: WasiState,
  inPtr: number,
  outPtr: number,
  n: number,
  neventsPtr: number,
): number {
  const m = s.mem;
  const count = n >>> 0;
  if (count === 0) return ERRNO.INVAL;
  const what = 'poll_oneoff';
  m.check(inPtr, count * 48, what);
  m.check(outPtr, count * 32, what);
  m.check(neventsPtr, 4, what);
  let minTimeout: bigint | undefined;
  const ready: PollEvent[] = [];
  const clocks: { userdata: bigint; timeout: bigint }[] = [];
  for (let i = 0; i < count; i++) {
    const sub = (inPtr >>> 0) + i * 48;
    const userdata = m.getU64(sub, what);
    const tag = m.getU8(sub + 8, what);
    if (tag === 0) {
      const id = m.getU32(sub + 16, what);
      let timeout = m.getU64(sub + 24, what);
      const flags = m.getU16(sub + 40, what);
      if (id > 3) {
        ready.push({ userdata, type: 0, error: ERRNO.INVAL });
        continue;
      }
      if (flags & 1) timeout = timeout - now(s, id);
      if (timeout < 0n) timeout = 0n;
      clocks.push({ userdata, timeout });
      if (minTimeout === undefined || timeout < minTimeout) minTimeout = timeout;
    } else {
      const fd = m.getU32(sub + 16, what);
      const e = s.fds.get(fd);
      ready.push({ userdata, type: tag, error: e ? ERRNO.SUCCESS : ERRNO.BADF });
    }
  }
  if (ready.length === 0 && minTimeout !== undefined) {
    sleepNs(s, minTimeout);
    for (const c of clocks)
      if (c.timeout === minTimeout) ready.push({ userdata: c.userdata, type: 0, error: 0 });
  }
  ready.forEach((r, i) => {
    const o = (outPtr >>> 0) + i * 32;
    m.u64(o, r.userdata, what);
    m.u16(o + 8, r.error, what);
    m.u8(o + 10, r.type, what);
    m.u64(o + 16, 0n, what);
    m.u16(o + 24, 0, what);
  });
  m.u32(neventsPtr, ready.length, what);
  return ERRNO.SUCCESS;
}

export const CLOCK_CALLS = { clock_res_get, clock_time_get, poll_oneoff } satisfies SyscallGroup;
