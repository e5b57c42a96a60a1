/**
 * WASI descriptor metadata: fd_fdstat_get, fd_fdstat_set_flags, fd_prestat_get,
 * fd_prestat_dir_name, fd_filestat_get, fd_filestat_set_size and fd_readdir (directory listing).
 */
import { fstatSync, ftruncateSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { GuestMemory } from '../memory.ts';
import {
  ALL_RIGHTS,
  ERRNO,
  FDFLAGS,
  FILE_RIGHTS,
  FILETYPE,
  RIGHTS,
  STDIO_RIGHTS,
  WRITE_RIGHTS,
} from './constants.ts';
import { enc, filetypeOf, MAX_OFFSET, type SyscallGroup, type WasiState } from './state.ts';

/** Write a 64-byte WASI filestat (from a bigint stat) at `ptr`. */
export function writeFilestat(
  m: GuestMemory,
  ptr: number,
  st: ReturnType<typeof fstatSync> & { ino: bigint },
  type: number,
  what: string,
): void {
  const s = st as unknown as {
    dev: bigint;
    ino: bigint;
    nlink: bigint;
    size: bigint;
    atimeNs: bigint;
    mtimeNs: bigint;
    ctimeNs: bigint;
  };
  m.check(ptr, 64, what);
  m.u64(ptr, s.dev, what);
  m.u64(ptr + 8, s.ino, what);
  m.u8(ptr + 16, type, what);
  m.u64(ptr + 24, s.nlink, what);
  m.u64(ptr + 32, s.size, what);
  m.u64(ptr + 40, s.atimeNs, what);
  m.u64(ptr + 48, s.mtimeNs, what);
  m.u64(ptr + 56, s.ctimeNs, what);
}

export function fd_fdstat_get(s: WasiState, fd: number, ptr: number): number {
  const m = s.mem;
  const what = 'fd_fdstat_get';
  const e = s.entry(fd);
  m.check(ptr, 24, what);
  let type: number;
  let flags = 0;
  let base: bigint;
  let inheriting = 0n;
  switch (e.kind) {
    case 'stdin':
    case 'stdout':
    case 'stderr':
      type = FILETYPE.CHARACTER_DEVICE;
      base = STDIO_RIGHTS;
      break;
    case 'dir':
      type = FILETYPE.DIRECTORY;
      base = ALL_RIGHTS & ~FILE_RIGHTS;
      base |= RIGHTS.FD_READDIR | RIGHTS.FD_FILESTAT_GET;
      inheriting = ALL_RIGHTS;
      break;
    default:
      type = FILETYPE.REGULAR_FILE;
      base = FILE_RIGHTS;
      if (!e.writable) base &= ~WRITE_RIGHTS;
      if (!e.readable) base &= ~RIGHTS.FD_READ;
      if (e.append) flags |= FDFLAGS.APPEND;
  }
  m.u8(ptr, type, what);
  m.u16(ptr + 2, flags, what);
  m.u64(ptr + 8, base, what);
  m.u64(ptr + 16, inheriting, what);
  return ERRNO.SUCCESS;
}

export function fd_fdstat_set_flags(s: WasiState, fd: number, flags: number): number {
  const e = s.entry(fd);
  if (e.kind === 'file') {
    e.append = (flags & FDFLAGS.APPEND) !== 0;
    return ERRNO.SUCCESS;
  }
  return flags === 0 ? ERRNO.SUCCESS : ERRNO.NOTSUP;
}

export function fd_prestat_get(s: WasiState, fd: number, ptr: number): number {
  const e = s.fds.get(fd >>> 0);
  if (e?.kind !== 'dir' || e.preopenName === undefined) return ERRNO.BADF;
  s.mem.check(ptr, 8, 'fd_prestat_get');
  s.mem.u8(ptr, 0, 'fd_prestat_get');
  s.mem.u32(ptr + 4, enc.encode(e.preopenName).length, 'fd_prestat_get');
  return ERRNO.SUCCESS;
}

export function fd_prestat_dir_name(s: WasiState, fd: number, ptr: number, len: number): number {
  const e = s.fds.get(fd >>> 0);
  if (e?.kind !== 'dir' || e.preopenName === undefined) return ERRNO.BADF;
  const name = enc.encode(e.preopenName);
  if (len >>> 0 < name.length) return ERRNO.NAMETOOLONG;
  s.mem.write(ptr, name, 'fd_prestat_dir_name');
  return ERRNO.SUCCESS;
}

export function fd_filestat_get(s: WasiState, fd: number, ptr: number): number {
  const m = s.mem;
  const what = 'fd_filestat_get';
  const e = s.entry(fd);
  if (e.kind === 'file') {
    const st = fstatSync(e.fd, { bigint: true });
    writeFilestat(m, ptr, st as never, FILETYPE.REGULAR_FILE, what);
  } else if (e.kind === 'dir') {
    const st = statSync(e.host, { bigint: true });
    writeFilestat(m, ptr, st as never, FILETYPE.DIRECTORY, what);
  } else {
    m.check(ptr, 64, what);
    m.bytes(ptr, 64, what).fill(0);
    m.u8(ptr + 16, FILETYPE.CHARACTER_DEVICE, what);
  }
  return ERRNO.SUCCESS;
}

export function fd_filestat_set_size(s: WasiState, fd: number, size: bigint): number {
  const e = s.entry(fd);
  if (e.kind !== 'file') return ERRNO.BADF;
  if (!e.writable) return ERRNO.BADF;
  const n = BigInt.asUintN(64, size);
  if (n > MAX_OFFSET) return ERRNO.INVAL;
  ftruncateSync(e.fd, Number(n));
  return ERRNO.SUCCESS;
}

/** The directory's entries ('.', '..', then readdir order), with inode numbers where they can be read. */
function listDirectory(host: string): { name: string; type: number; ino: bigint }[] {
  const list: { name: string; type: number; ino: bigint }[] = [];
  const self = statSync(host, { bigint: true });
  list.push({ name: '.', type: FILETYPE.DIRECTORY, ino: self.ino });
  list.push({ name: '..', type: FILETYPE.DIRECTORY, ino: 0n });
  for (const d of readdirSync(host, { withFileTypes: true })) {
    let ino = 0n;
    try {
      ino = lstatSync(join(host, d.name), { bigint: true }).ino;
    } catch {
      // raced away
    }
    list.push({ name: d.name, type: filetypeOf(d), ino });
  }
  return list;
}

export function fd_readdir(
  s: WasiState,
  fd: number,
  buf: number,
  bufLen: number,
  cookie: bigint,
  bufUsedPtr: number,
): number {
  const m = s.mem;
  const what = 'fd_readdir';
  const e = s.entry(fd);
  if (e.kind !== 'dir') return ERRNO.NOTDIR;
  const cap = bufLen >>> 0;
  m.check(buf, cap, what);
  m.check(bufUsedPtr, 4, what);
  const start = Number(cookie);
  if (start === 0 || !e.listing) e.listing = listDirectory(e.host);
  const out = new Uint8Array(cap);
  let used = 0;
  for (let i = start; i < e.listing.length && used < cap; i++) {
    const d = e.listing[i]!;
    const name = enc.encode(d.name);
    const rec = new Uint8Array(24 + name.length);
    const rdv = new DataView(rec.buffer);
    rdv.setBigUint64(0, BigInt(i + 1), true);
    rdv.setBigUint64(8, d.ino, true);
    rdv.setUint32(16, name.length, true);
    rdv.setUint8(20, d.type);
    rec.set(name, 24);
    const n = Math.min(rec.length, cap - used);
    out.set(rec.subarray(0, n), used);
    used += n;
  }
  m.write(buf, out.subarray(0, used), what);
  m.u32(bufUsedPtr, used, what);
  return ERRNO.SUCCESS;
}

export const FD_STAT_CALLS = {
  fd_fdstat_get,
  fd_fdstat_set_flags,
  fd_prestat_get,
  fd_prestat_dir_name,
  fd_filestat_get,
  fd_filestat_set_size,
  fd_readdir,
} satisfies SyscallGroup;
