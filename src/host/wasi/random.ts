/** WASI random_get: the OS CSPRNG, or a SHA-256 counter stream from the seed when deterministic. */
import { createHash, randomFillSync } from 'node:crypto';
import { ERRNO } from './constants.ts';
import type { SyscallGroup, WasiState } from './state.ts';

/** Fill `out` with random bytes (seeded and reproducible in deterministic mode). */
export function fillRandom(s: WasiState, out: Uint8Array): void {
  if (!s.deterministic) {
    randomFillSync(out);
    return;
  }
  let o = 0;
  while (o < out.length) {
    if (s.randPool.length === 0) {
      const ctr = Buffer.alloc(8);
      ctr.writeBigUInt64LE(s.randCounter++);
      s.randPool = createHash('sha256').update(s.seed).update(ctr).digest();
    }
    const n = Math.min(s.randPool.length, out.length - o);
    out.set(s.randPool.subarray(0, n), o);
    s.randPool = s.randPool.subarray(n);
    o += n;
  }
}

export function random_get(s: WasiState, ptr: number, len: number): number {
  const out = new Uint8Array(len >>> 0);
  s.mem.check(ptr, out.length, 'random_get');
  fillRandom(s, out);
  s.mem.write(ptr, out, 'random_get');
  return ERRNO.SUCCESS;
}

export const RANDOM_CALLS = { random_get } satisfies SyscallGroup;
