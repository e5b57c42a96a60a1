/**
 * WASI descriptor I/O: fd_write, fd_pwrite, fd_read, fd_pread, fd_seek, fd_tell, fd_close, fd_sync,
 * fd_datasync, fd_advise. stdout/stderr go to the bounded captures; stdin is empty or the host's.
 */
import { closeSync, fstatSync, fsyncSync, readSync, writeSync } from 'node:fs';
import type { GuestMemory } from '../memory.ts';
import { ERRNO } from './constants.ts';
import { MAX_OFFSET, type SyscallGroup, type WasiState } from './state.ts';

/** Read and bounds-check an iovec array. */
function iovecs(m: GuestMemory, ptr: number, count: number, what: string): { ptr: number; len: number }[] {
  const n = count >>> 0;
  m.check(ptr, n * 8, what);
  const out: { ptr: number; len: number }[] = [];
  for (let i = 0; i < n; i++) {
    const b = m.getU32((ptr >>> 0) + i * 8, what);
    const l = m.getU32((ptr >>> 0) + i * 8 + 4, what);
    m.check(b, l, what);
    out.push({ ptr: b, len: l });
  }
  return out;
}

export function fd_write(
  s: WasiState,
  fd: number,
  iovs: number,
  iovsLen: number,
  nwrittenPtr: number,
): number {
  const m = s.mem;
  const what = 'fd_write';
  const e = s.entry(fd);
  const list = iovecs(m, iovs, iovsLen, what);
  m.check(nwrittenPtr, 4, what);
  let total = 0;
  if (e.kind === 'stdout' || e.kind === 'stderr') {
    const cap = e.kind === 'stdout' ? s.stdout : s.stderr;
    for (const v of list) {
      cap.push(m.bytes(v.ptr, v.len, what));
      total += v.len;
    }
  } else if (e.kind === 'file') {
    if (!e.writable) return ERRNO.BADF;
    for (const v of list) {
      const data = m.read(v.ptr, v.len, what);
      const pos = e.append ? fstatSync(e.fd).size : Number(e.pos);
      const w = writeSync(e.fd, data, 0, data.length, pos);
      e.pos = BigInt(pos + w);
      total += w;
    }
  } else if (e.kind === 'dir') return ERRNO.ISDIR;
  else return ERRNO.BADF;
  m.u32(nwrittenPtr, total, what);
  return ERRNO.SUCCESS;
}

export function fd_pwrite(
  s: WasiState,
  fd: number,
  iovs: number,
  iovsLen: number,
  offset: bigint,
  nwrittenPtr: number,
): number {
  const m = s.mem;
  const what = 'fd_pwrite';
  const e = s.entry(fd);
  if (e.kind !== 'file') return e.kind === 'dir' ? ERRNO.ISDIR : ERRNO.SPIPE;
  if (!e.writable) return ERRNO.BADF;
  const off = BigInt.asUintN(64, offset);
  if (off > MAX_OFFSET) return ERRNO.INVAL;
  let pos = Number(off);
  let total = 0;
  for (const v of iovecs(m, iovs, iovsLen, what)) {
    const data = m.read(v.ptr, v.len, what);
    const w = writeSync(e.fd, data, 0, data.length, pos);
    pos += w;
    total += w;
  }
  m.u32(nwrittenPtr, total, what);
  return ERRNO.SUCCESS;
}

/** Read the host's stdin into the iovecs (stdin: 'inherit'), up to the first short read. */
function readStdin(m: GuestMemory, list: { ptr: number; len: number }[], what: string): number {
  let total = 0;
  for (const v of list) {
    if (v.len === 0) continue;
    const tmp = new Uint8Array(v.len);
    let r = 0;
    try {
      r = readSync(0, tmp, 0, v.len, null);
    } catch (err) {
      if ((err as { code?: string }).code === 'EAGAIN') break;
      if ((err as { code?: string }).code === 'EOF') break;
      throw err;
    }
    m.write(v.ptr, tmp.subarray(0, r), what);
    total += r;
    if (r < v.len) break;
  }
  return total;
}

export function fd_read(s: WasiState, fd: number, iovs: number, iovsLen: number, nreadPtr: number): number {
  const m = s.mem;
  const what = 'fd_read';
  const e = s.entry(fd);
  const list = iovecs(m, iovs, iovsLen, what);
  m.check(nreadPtr, 4, what);
  let total = 0;
  if (e.kind === 'stdin') {
    if (s.stdinMode === 'inherit') total = readStdin(m, list, what);
    else if (s.stdinMode === 'data' && s.stdinData) {
      const src = s.stdinData;
      for (const v of list) {
        const n = Math.min(v.len, src.length - s.stdinPos);
        if (n <= 0) break;
        m.write(v.ptr, src.subarray(s.stdinPos, s.stdinPos + n), what);
        s.stdinPos += n;
        total += n;
      }
    }
  } else if (e.kind === 'file') {
    if (!e.readable) return ERRNO.BADF;
    for (const v of list) {
      const tmp = new Uint8Array(v.len);
      const r = readSync(e.fd, tmp, 0, v.len, Number(e.pos));
      m.write(v.ptr, tmp.subarray(0, r), what);
      e.pos += BigInt(r);
      total += r;
      if (r < v.len) break;
    }
  } else if (e.kind === 'dir') return ERRNO.ISDIR;
  else return ERRNO.BADF;
  m.u32(nreadPtr, total, what);
  return ERRNO.SUCCESS;
}

export function fd_pread(
  s: WasiState,
  fd: number,
  iovs: number,
  iovsLen: number,
  offset: bigint,
  nreadPtr: number,
): number {
  const m = s.mem;
  const what = 'fd_pread';
  const e = s.entry(fd);
  if (e.kind !== 'file') return e.kind === 'dir' ? ERRNO.ISDIR : ERRNO.SPIPE;
  if (!e.readable) return ERRNO.BADF;
  const off = BigInt.asUintN(64, offset);
  if (off > MAX_OFFSET) return ERRNO.INVAL;
  let pos = Number(off);
  let total = 0;
  for (const v of iovecs(m, iovs, iovsLen, what)) {
    const tmp = new Uint8Array(v.len);
    const r = readSync(e.fd, tmp, 0, v.len, pos);
    m.write(v.ptr, tmp.subarray(0, r), what);
    pos += r;
    total += r;
    if (r < v.len) break;
  }
  m.u32(nreadPtr, total, what);
  return ERRNO.SUCCESS;
}

export function fd_seek(
  s: WasiState,
  fd: number,
  offset: bigint,
  whence: number,
  newOffsetPtr: number,
): number {
  const e = s.entry(fd);
  s.mem.check(newOffsetPtr, 8, 'fd_seek');
  if (e.kind === 'dir') return ERRNO.ISDIR;
  if (e.kind !== 'file') return ERRNO.SPIPE;
  const off = BigInt.asIntN(64, offset);
  let base: bigint;
  switch (whence) {
    case 0:
      base = 0n;
      break;
    case 1:
      base = e.pos;
      break;
    case 2:
      base = BigInt(fstatSync(e.fd).size);
      break;
    default:
      return ERRNO.INVAL;
  }
  const next = base + off;
  if (next < 0n || next > MAX_OFFSET) return ERRNO.INVAL;
  e.pos = next;
  s.mem.u64(newOffsetPtr, next, 'fd_seek');
  return ERRNO.SUCCESS;
}

export function fd_tell(s: WasiState, fd: number, ptr: number): number {
  const e = s.entry(fd);
  if (e.kind !== 'file') return ERRNO.SPIPE;
  s.mem.u64(ptr, e.pos, 'fd_tell');
  return ERRNO.SUCCESS;
}

export function fd_close(s: WasiState, fd: number): number {
  const e = s.entry(fd);
  if (e.kind === 'file') closeSync(e.fd);
  s.fds.delete(fd >>> 0);
  return ERRNO.SUCCESS;
}

export function fd_sync(s: WasiState, fd: number): number {
  const e = s.entry(fd);
  if (e.kind === 'file') fsyncSync(e.fd);
  return ERRNO.SUCCESS;
}

export function fd_datasync(s: WasiState, fd: number): number {
  const e = s.entry(fd);
  if (e.kind === 'file') fsyncSync(e.fd);
  return ERRNO.SUCCESS;
}

export function fd_advise(s: WasiState, fd: number): number {
  s.entry(fd);
  return ERRNO.SUCCESS;
}

export const FD_CALLS = {
  fd_write,
  fd_pwrite,
  fd_read,
  fd_pread,
  fd_seek,
  fd_tell,
  fd_close,
  fd_sync,
  fd_datasync,
  fd_advise,
} satisfies SyscallGroup;
