/**
 * Path sandboxing for preopened directories.
 *
 * A guest path is always relative to a directory descriptor that lives inside one preopen. It is
 * resolved in two steps:
 *  1. lexically: absolute paths and NUL bytes are refused; `.` is dropped; `..` pops one component and
 *     may never climb above the preopen's root (ENOTCAPABLE);
 *  2. physically: the parent directory is `realpath`ed and must still lie inside the (realpath'd)
 *     root; a final symlink is followed only when the guest asked (LOOKUP_SYMLINK_FOLLOW) and its
 *     target must lie inside the root too. Files are then opened by their resolved real path with
 *     O_NOFOLLOW, so a symlink can never be used to leave the sandbox.
 * Guests cannot create symlinks (path_symlink answers ENOSYS), so only the host can place them.
 */
import { lstatSync, realpathSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { HostError } from '../errors.ts';
import { ERRNO } from './constants.ts';

/** A WASI call's failure as an errno: the import returns `errno` to the guest (never thrown out). */
export class WasiErrno extends HostError<'WASI_ERRNO'> {
  readonly errno: number;
  constructor(errno: number, message = `WASI errno ${errno}`) {
    super('WASI_ERRNO', message);
    this.errno = errno;
  }
}

/** Map a Node fs error code to a WASI errno. */
export function errnoFromNode(err: unknown): number {
  const code = (err as { code?: string } | null)?.code;
  switch (code) {
    case 'ENOENT':
      return ERRNO.NOENT;
    case 'EEXIST':
      return ERRNO.EXIST;
    case 'ENOTDIR':
      return ERRNO.NOTDIR;
    case 'EISDIR':
      return ERRNO.ISDIR;
    case 'ENOTEMPTY':
      return ERRNO.NOTEMPTY;
    case 'EACCES':
      return ERRNO.ACCES;
    case 'EPERM':
      return ERRNO.PERM;
    case 'ELOOP':
      return ERRNO.LOOP;
    case 'EBADF':
      return ERRNO.BADF;
    case 'EINVAL':
      return ERRNO.INVAL;
    case 'ENAMETOOLONG':
      return ERRNO.NAMETOOLONG;
    case 'EXDEV':
      return ERRNO.XDEV;
    case 'ENOSPC':
      return ERRNO.NOSPC;
    case 'EROFS':
      return ERRNO.ROFS;
    case 'EAGAIN':
      return ERRNO.AGAIN;
    case 'ESPIPE':
      return ERRNO.SPIPE;
    default:
      return ERRNO.IO;
  }
}

export interface Resolved {
  /** Real host path to operate on (the final component may not exist yet). */
  host: string;
  /** Whether the final component exists (lstat). */
  exists: boolean;
  /** Whether the final component is a symlink that was NOT followed. */
  isLink: boolean;
}

export class Sandbox {
  /** realpath of the preopen's host directory. */
  readonly root: string;
  readonly writable: boolean;

  constructor(hostDir: string, writable: boolean) {
    this.root = realpathSync(hostDir);
    this.writable = writable;
  }

  inside(p: string): boolean {
    return p === this.root || p.startsWith(this.root.endsWith(sep) ? this.root : this.root + sep);
  }

  /** Components of a real path inside the root, relative to it. */
  relComponents(realHost: string): string[] {
    if (!this.inside(realHost)) throw new WasiErrno(ERRNO.NOTCAPABLE, 'outside sandbox');
    const rel = relative(this.root, realHost);
    return rel === '' ? [] : rel.split(sep);
  }

  /** Resolve `path` relative to the directory `base` (a real path inside the root). */
  resolve(base: string, path: string, followFinal: boolean): Resolved {
    if (path.length === 0) throw new WasiErrno(ERRNO.NOENT, 'empty path');
    if (path.includes('\0')) throw new WasiErrno(ERRNO.INVAL, 'NUL in path');
    if (path.startsWith('/')) throw new WasiErrno(ERRNO.NOTCAPABLE, `absolute path '${path}' refused`);
    const comps = this.relComponents(base);
    for (const part of path.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (comps.length === 0) throw new WasiErrno(ERRNO.NOTCAPABLE, `'${path}' escapes the preopen`);
        comps.pop();
      } else comps.push(part);
    }
    if (comps.length === 0) return { host: this.root, exists: true, isLink: false };
    const name = comps[comps.length - 1]!;
    let parent: string;
    try {
      parent = realpathSync(join(this.root, ...comps.slice(0, -1)));
    } catch (e) {
      throw new WasiErrno(errnoFromNode(e));
    }
    if (!this.inside(parent))
      throw new WasiErrno(ERRNO.NOTCAPABLE, `'${path}' leaves the preopen via a symlink`);
    const candidate = join(parent, name);
    let st: ReturnType<typeof lstatSync> | undefined;
    try {
      st = lstatSync(candidate);
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT')
        return { host: candidate, exists: false, isLink: false };
      throw new WasiErrno(errnoFromNode(e));
    }
    if (st.isSymbolicLink()) {
      if (!followFinal) return { host: candidate, exists: true, isLink: true };
      let target: string;
      try {
        target = realpathSync(candidate);
      } catch (e) {
        throw new WasiErrno(errnoFromNode(e));
      }
      if (!this.inside(target))
        throw new WasiErrno(ERRNO.NOTCAPABLE, `'${path}' is a symlink out of the preopen`);
      return { host: target, exists: true, isLink: false };
    }
    return { host: candidate, exists: true, isLink: false };
  }
}
