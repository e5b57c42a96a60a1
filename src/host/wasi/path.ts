/**
 * WASI path calls under a preopen (every path resolved by the Sandbox): path_open,
 * path_filestat_get, path_create_directory, path_unlink_file, path_remove_directory, path_rename.
 * Mutations need a writable preopen (ROFS otherwise).
 */
import {
  constants as fsc,
  lstatSync,
  mkdirSync,
  openSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { ERRNO, FDFLAGS, LOOKUP_SYMLINK_FOLLOW, OFLAGS, RIGHTS, WRITE_RIGHTS } from './constants.ts';
import { writeFilestat } from './fd-stat.ts';
import { type Sandbox, WasiErrno } from './sandbox.ts';
import { filetypeOf, type SyscallGroup, type WasiState } from './state.ts';

function requireWritable(sb: Sandbox): void {
  if (!sb.writable) throw new WasiErrno(ERRNO.ROFS, 'read-only preopen');
}

export function path_open(
  s: WasiState,
  dirfd: number,
  lookupflags: number,
  pathPtr: number,
  pathLen: number,
  oflags: number,
  rightsBase: bigint,
  _rightsInh: bigint,
  fdflags: number,
  fdPtr: number,
): number {
  const m = s.mem;
  const what = 'path_open';
  const dir = s.dirEntry(dirfd);
  const path = s.path(pathPtr, pathLen);
  m.check(fdPtr, 4, what);
  const of = oflags & 0xffff;
  const ff = fdflags & 0xffff;
  const rights = BigInt.asUintN(64, rightsBase);
  const follow = (lookupflags & LOOKUP_SYMLINK_FOLLOW) !== 0;
  const r = dir.sandbox.resolve(dir.host, path, follow);
  const mutates = (of & (OFLAGS.CREAT | OFLAGS.TRUNC)) !== 0 || (ff & FDFLAGS.APPEND) !== 0;
  if (mutates) requireWritable(dir.sandbox);
  const wantWrite = dir.sandbox.writable && ((rights & WRITE_RIGHTS) !== 0n || mutates);
  const wantRead = (rights & (RIGHTS.FD_READ | RIGHTS.FD_READDIR)) !== 0n || !wantWrite;
  if (r.isLink) return ERRNO.LOOP;
  if (r.exists) {
    const st = statSync(r.host);
    if (st.isDirectory()) {
      if (wantWrite && (rights & RIGHTS.FD_WRITE) !== 0n) return ERRNO.ISDIR;
      if (of & (OFLAGS.CREAT | OFLAGS.EXCL)) {
        if (of & OFLAGS.EXCL) return ERRNO.EXIST;
      }
      const n = s.allocFd({ kind: 'dir', sandbox: dir.sandbox, host: r.host });
      m.u32(fdPtr, n, what);
      return ERRNO.SUCCESS;
    }
    if (of & OFLAGS.DIRECTORY) return ERRNO.NOTDIR;
    if (!st.isFile()) return ERRNO.ACCES;
  } else if (!(of & OFLAGS.CREAT)) return ERRNO.NOENT;
  else if (of & OFLAGS.DIRECTORY) return ERRNO.INVAL;
  let flags = fsc.O_NOFOLLOW;
  if (wantWrite) flags |= wantRead && (rights & RIGHTS.FD_READ) !== 0n ? fsc.O_RDWR : fsc.O_WRONLY;
  else flags |= fsc.O_RDONLY;
  if (of & OFLAGS.CREAT) flags |= fsc.O_CREAT;
  if (of & OFLAGS.EXCL) flags |= fsc.O_EXCL;
  if (of & OFLAGS.TRUNC) flags |= fsc.O_TRUNC;
  const hostFd = openSync(r.host, flags, 0o644);
  const n = s.allocFd({
    kind: 'file',
    sandbox: dir.sandbox,
    host: r.host,
    fd: hostFd,
    pos: 0n,
    append: (ff & FDFLAGS.APPEND) !== 0,
    readable: (flags & fsc.O_WRONLY) === 0,
    writable: wantWrite,
  });
  m.u32(fdPtr, n, what);
  return ERRNO.SUCCESS;
}

export function path_filestat_get(
  s: WasiState,
  dirfd: number,
  lookupflags: number,
  pathPtr: number,
  pathLen: number,
  buf: number,
): number {
  const what = 'path_filestat_get';
  const dir = s.dirEntry(dirfd);
  const path = s.path(pathPtr, pathLen);
  s.mem.check(buf, 64, what);
  const r = dir.sandbox.resolve(dir.host, path, (lookupflags & LOOKUP_SYMLINK_FOLLOW) !== 0);
  if (!r.exists) return ERRNO.NOENT;
  const st = lstatSync(r.host, { bigint: true });
  writeFilestat(s.mem, buf, st as never, filetypeOf(st), what);
  return ERRNO.SUCCESS;
}

export function path_create_directory(s: WasiState, dirfd: number, pathPtr: number, pathLen: number): number {
  const dir = s.dirEntry(dirfd);
  requireWritable(dir.sandbox);
  const r = dir.sandbox.resolve(dir.host, s.path(pathPtr, pathLen), false);
  if (r.exists) return ERRNO.EXIST;
  mkdirSync(r.host);
  return ERRNO.SUCCESS;
}

export function path_unlink_file(s: WasiState, dirfd: number, pathPtr: number, pathLen: number): number {
  const dir = s.dirEntry(dirfd);
  requireWritable(dir.sandbox);
  const r = dir.sandbox.resolve(dir.host, s.path(pathPtr, pathLen), false);
  if (!r.exists) return ERRNO.NOENT;
  if (!r.isLink && lstatSync(r.host).isDirectory()) return ERRNO.ISDIR;
  unlinkSync(r.host);
  return ERRNO.SUCCESS;
}

export function path_remove_directory(s: WasiState, dirfd: number, pathPtr: number, pathLen: number): number {
  const dir = s.dirEntry(dirfd);
  requireWritable(dir.sandbox);
  const r = dir.sandbox.resolve(dir.host, s.path(pathPtr, pathLen), false);
  if (!r.exists) return ERRNO.NOENT;
  if (r.host === dir.sandbox.root) return ERRNO.ACCES;
  if (r.isLink || !lstatSync(r.host).isDirectory()) return ERRNO.NOTDIR;
  rmdirSync(r.host);
  return ERRNO.SUCCESS;
}

export function path_rename(
  s: WasiState,
  oldfd: number,
  oldPtr: number,
  oldLen: number,
  newfd: number,
  newPtr: number,
  newLen: number,
): number {
  const a = s.dirEntry(oldfd);
  const b = s.dirEntry(newfd);
  requireWritable(a.sandbox);
  requireWritable(b.sandbox);
  const from = a.sandbox.resolve(a.host, s.path(oldPtr, oldLen), false);
  const to = b.sandbox.resolve(b.host, s.path(newPtr, newLen), false);
  if (!from.exists) return ERRNO.NOENT;
  if (from.host === a.sandbox.root || to.host === b.sandbox.root) return ERRNO.ACCES;
  renameSync(from.host, to.host);
  return ERRNO.SUCCESS;
}

export const PATH_CALLS = {
  path_open,
  path_filestat_get,
  path_create_directory,
  path_unlink_file,
  path_remove_directory,
  path_rename,
} satisfies SyscallGroup;
