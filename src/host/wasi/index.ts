/**
 * A WASI preview1 subset of our own (node:wasi is documented by Node as unfit for untrusted code).
 *
 * Implemented: args/environ, clocks (real or virtual), random (real or seeded), stdio (bounded capture,
 * optional passthrough), files and directories under preopens (sandboxed, read-only unless asked),
 * poll_oneoff for clocks, proc_exit, sched_yield. Every other preview1 function answers ENOSYS.
 * Every pointer is bounds-checked against the current memory size; a bad one traps (HostTrap).
 */
import { createHash, randomFillSync } from 'node:crypto';
import {
  closeSync,
  constants as fsc,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { HostTrap, WasiExit } from '../errors.ts';
import type { GuestMemory } from '../memory.ts';
import {
  ALL_RIGHTS,
  ERRNO,
  FDFLAGS,
  FILE_RIGHTS,
  FILETYPE,
  LOOKUP_SYMLINK_FOLLOW,
  OFLAGS,
  PREVIEW1_FUNCTIONS,
  RIGHTS,
  STDIO_RIGHTS,
  WRITE_RIGHTS,
} from './constants.ts';
import { errnoFromNode, Sandbox, WasiErrno } from './sandbox.ts';

export { ERRNO } from './constants.ts';

export interface PreopenOption {
  /** Name the guest sees (e.g. '/data' or '.'). */
  guest: string;
  /** Host directory. */
  host: string;
  /** Read-write when true; read-only by default. */
  writable?: boolean;
}

/** Options of the WASI module (JSON-serializable: they travel to the worker in hostOptions.wasi). */
export interface WasiOptions {
  args?: string[];
  env?: Record<string, string>;
  preopens?: PreopenOption[];
  /** Virtual clock + seeded random: runs are reproducible (attested runs). */
  deterministic?: boolean;
  /** Virtual realtime clock start, ns since the epoch (decimal string). Default 1704067200000000000 (2024-01-01). */
  clockStartNs?: string;
  /** Virtual clock step per clock_time_get, ns. Default 1000. */
  clockStepNs?: number;
  /** Seed for random_get in deterministic mode (any string). Default 'wasmvm-tee'. */
  seed?: string;
  /**
   * 'capture' (default): stdout/stderr kept (bounded) for collect(). Also, as they are written:
   * 'inherit': to this process's fds 1/2; 'bridge': to the parent through the host bridge (method
   * 'stdio', answered only when the handler was created with a `stdio` sink: the local runner).
   */
  stdio?: 'capture' | 'inherit' | 'bridge';
  /** 'empty' (default): stdin is at EOF; 'inherit': read from the host's stdin. */
  stdin?: 'empty' | 'inherit';
  /** Bound of each captured stream, bytes (default 1 MiB). Bytes past it are dropped and counted. */
  maxOutputBytes?: number;
}

type FdEntry =
  | { kind: 'stdin' }
  | { kind: 'stdout' | 'stderr' }
  | {
      kind: 'dir';
      sandbox: Sandbox;
      host: string;
      preopenName?: string;
      listing?: { name: string; type: number; ino: bigint }[];
    }
  | {
      kind: 'file';
      sandbox: Sandbox;
      host: string;
      fd: number;
      pos: bigint;
      append: boolean;
      readable: boolean;
      writable: boolean;
    };

/** Where written output also goes, as it is written. */
export type StdioForward = (fd: 1 | 2, data: Uint8Array) => void;

class Capture {
  private chunks: Uint8Array[] = [];
  size = 0;
  dropped = 0;
  constructor(
    private readonly max: number,
    private readonly forward: ((data: Uint8Array) => void) | undefined,
  ) {}
  push(data: Uint8Array): void {
    if (this.forward) {
      try {
        this.forward(data);
      } catch {
        // terminal or parent gone: the capture still holds the output
      }
    }
    const room = this.max - this.size;
    if (room <= 0) {
      this.dropped += data.length;
      return;
    }
    const part = data.length <= room ? data.slice() : data.slice(0, room);
    this.dropped += data.length - part.length;
    this.chunks.push(part);
    this.size += part.length;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

const enc = new TextEncoder();
/** Largest file offset handled (Node takes offsets as JS numbers). */
const MAX_OFFSET = BigInt(Number.MAX_SAFE_INTEGER);

function filetypeOf(st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): number {
  if (st.isFile()) return FILETYPE.REGULAR_FILE;
  if (st.isDirectory()) return FILETYPE.DIRECTORY;
  if (st.isSymbolicLink()) return FILETYPE.SYMBOLIC_LINK;
  return FILETYPE.UNKNOWN;
}

export class Wasi {
  private readonly fds = new Map<number, FdEntry>();
  private readonly args: Uint8Array[];
  private readonly env: Uint8Array[];
  private readonly stdout: Capture;
  private readonly stderr: Capture;
  private readonly deterministic: boolean;
  private virtualNs: bigint;
  private readonly virtualStart: bigint;
  private readonly stepNs: bigint;
  private readonly seed: Uint8Array;
  private randCounter = 0n;
  private randPool = new Uint8Array(0);
  private readonly stdinMode: 'empty' | 'inherit';

  constructor(
    private readonly mem: GuestMemory,
    options: WasiOptions = {},
    bridgeForward?: StdioForward,
  ) {
    this.args = (options.args ?? ['main.wasm']).map((a) => enc.encode(`${a}\0`));
    this.env = Object.entries(options.env ?? {}).map(([k, v]) => enc.encode(`${k}=${v}\0`));
    const max = options.maxOutputBytes ?? 1 << 20;
    const toFd = (fd: 1 | 2) => (data: Uint8Array) => {
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    };
    const fwd = (fd: 1 | 2): ((data: Uint8Array) => void) | undefined => {
      if (options.stdio === 'inherit') return toFd(fd);
      if (options.stdio === 'bridge' && bridgeForward) return (data) => bridgeForward(fd, data);
      return undefined;
    };
    this.stdout = new Capture(max, fwd(1));
    this.stderr = new Capture(max, fwd(2));
    this.stdinMode = options.stdin ?? 'empty';
    this.deterministic = options.deterministic === true;
    this.virtualStart = BigInt(options.clockStartNs ?? '1704067200000000000');
    this.virtualNs = 0n;
    this.stepNs = BigInt(options.clockStepNs ?? 1000);
    this.seed = createHash('sha256')
      .update(options.seed ?? 'wasmvm-tee')
      .digest();
    this.fds.set(0, { kind: 'stdin' });
    this.fds.set(1, { kind: 'stdout' });
    this.fds.set(2, { kind: 'stderr' });
    let next = 3;
    for (const p of options.preopens ?? []) {
      const sandbox = new Sandbox(p.host, p.writable === true);
      this.fds.set(next++, { kind: 'dir', sandbox, host: sandbox.root, preopenName: p.guest });
    }
  }

  collect(): { stdout: Uint8Array; stderr: Uint8Array; droppedBytes: number } {
    return {
      stdout: this.stdout.bytes(),
      stderr: this.stderr.bytes(),
      droppedBytes: this.stdout.dropped + this.stderr.dropped,
    };
  }

  /** Close every host file descriptor still open (called when the run ends). */
  dispose(): void {
    for (const [n, e] of this.fds) {
      if (e.kind === 'file') {
        try {
          closeSync(e.fd);
        } catch {
          // already closed
        }
        this.fds.delete(n);
      }
    }
  }

  private allocFd(entry: FdEntry): number {
    let n = 3;
    while (this.fds.has(n)) n++;
    if (n > 1024) throw new WasiErrno(ERRNO.NOSPC, 'too many open files');
    this.fds.set(n, entry);
    return n;
  }

  private entry(fd: number): FdEntry {
    const e = this.fds.get(fd >>> 0);
    if (!e) throw new WasiErrno(ERRNO.BADF);
    return e;
  }

  private dirEntry(fd: number): Extract<FdEntry, { kind: 'dir' }> {
    const e = this.entry(fd);
    if (e.kind !== 'dir') throw new WasiErrno(ERRNO.NOTDIR);
    return e;
  }

  private path(ptr: number, len: number): string {
    return this.mem.readString(ptr, len, 'wasi path');
  }

  // ---- clocks and random -------------------------------------------------------------------------

  private now(id: number): bigint {
    if (this.deterministic) {
      if (id > 3) throw new WasiErrno(ERRNO.INVAL);
      this.virtualNs += this.stepNs;
      return id === 0 ? this.virtualStart + this.virtualNs : this.virtualNs;
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

  private fillRandom(out: Uint8Array): void {
    if (!this.deterministic) {
      randomFillSync(out);
      return;
    }
    let o = 0;
    while (o < out.length) {
      if (this.randPool.length === 0) {
        const ctr = Buffer.alloc(8);
        ctr.writeBigUInt64LE(this.randCounter++);
        this.randPool = createHash('sha256').update(this.seed).update(ctr).digest();
      }
      const n = Math.min(this.randPool.length, out.length - o);
      out.set(this.randPool.subarray(0, n), o);
      this.randPool = this.randPool.subarray(n);
      o += n;
    }
  }

  private sleepNs(ns: bigint): void {
    if (ns <= 0n) return;
    if (this.deterministic) {
      this.virtualNs += ns;
      return;
    }
    const ms = Number(ns / 1_000_000n);
    if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.min(ms, 600_000));
  }

  // ---- the import object --------------------------------------------------------------------------

  imports(): Record<string, (...a: never[]) => unknown> {
    const impl = this.implementation();
    const out: Record<string, (...a: never[]) => unknown> = {};
    for (const name of PREVIEW1_FUNCTIONS) {
      const f = impl[name];
      out[name] = f
        ? (...a: never[]) => {
            try {
              return f(...(a as unknown[]));
            } catch (e) {
              if (e instanceof HostTrap || e instanceof WasiExit) throw e;
              if (e instanceof WasiErrno) return e.errno;
              if (e instanceof RangeError) throw new HostTrap(`wasi ${name}: ${e.message}`);
              return errnoFromNode(e);
            }
          }
        : () => ERRNO.NOSYS;
    }
    return out;
  }

  private implementation(): Partial<
    Record<(typeof PREVIEW1_FUNCTIONS)[number], (...a: unknown[]) => unknown>
  > {
    const m = this.mem;
    const strings = (list: Uint8Array[], ptrsPtr: number, bufPtr: number, what: string): number => {
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
    };
    const sizes = (list: Uint8Array[], countPtr: number, sizePtr: number, what: string): number => {
      m.u32(countPtr, list.length, what);
      m.u32(
        sizePtr,
        list.reduce((s, b) => s + b.length, 0),
        what,
      );
      return ERRNO.SUCCESS;
    };
    const iovecs = (ptr: number, count: number, what: string): { ptr: number; len: number }[] => {
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
    };
    const writeFilestat = (
      ptr: number,
      st: ReturnType<typeof fstatSync> & { ino: bigint },
      type: number,
      what: string,
    ) => {
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
    };
    const writable = (sb: Sandbox) => {
      if (!sb.writable) throw new WasiErrno(ERRNO.ROFS, 'read-only preopen');
    };

    return {
      args_get: (argv, buf) => strings(this.args, argv as number, buf as number, 'args_get'),
      args_sizes_get: (c, s) => sizes(this.args, c as number, s as number, 'args_sizes_get'),
      environ_get: (envp, buf) => strings(this.env, envp as number, buf as number, 'environ_get'),
      environ_sizes_get: (c, s) => sizes(this.env, c as number, s as number, 'environ_sizes_get'),
      clock_res_get: (id, ptr) => {
        if ((id as number) >>> 0 > 3) return ERRNO.INVAL;
        m.u64(ptr as number, this.deterministic ? this.stepNs : 1000n, 'clock_res_get');
        return ERRNO.SUCCESS;
      },
      clock_time_get: (id, _precision, ptr) => {
        m.check(ptr as number, 8, 'clock_time_get');
        m.u64(ptr as number, this.now((id as number) >>> 0), 'clock_time_get');
        return ERRNO.SUCCESS;
      },
      random_get: (ptr, len) => {
        const out = new Uint8Array((len as number) >>> 0);
        m.check(ptr as number, out.length, 'random_get');
        this.fillRandom(out);
        m.write(ptr as number, out, 'random_get');
        return ERRNO.SUCCESS;
      },
      sched_yield: () => ERRNO.SUCCESS,
      proc_exit: (code) => {
        throw new WasiExit((code as number) >>> 0);
      },
      poll_oneoff: (inPtr, outPtr, n, neventsPtr) => {
        const count = (n as number) >>> 0;
        if (count === 0) return ERRNO.INVAL;
        const what = 'poll_oneoff';
        m.check(inPtr as number, count * 48, what);
        m.check(outPtr as number, count * 32, what);
        m.check(neventsPtr as number, 4, what);
        let minTimeout: bigint | undefined;
        const ready: { userdata: bigint; type: number; error: number }[] = [];
        const clocks: { userdata: bigint; timeout: bigint }[] = [];
        for (let i = 0; i < count; i++) {
          const s = ((inPtr as number) >>> 0) + i * 48;
          const userdata = m.getU64(s, what);
          const tag = m.getU8(s + 8, what);
          if (tag === 0) {
            const id = m.getU32(s + 16, what);
            let timeout = m.getU64(s + 24, what);
            const flags = m.getU16(s + 40, what);
            if (id > 3) {
              ready.push({ userdata, type: 0, error: ERRNO.INVAL });
              continue;
            }
            if (flags & 1) timeout = timeout - this.now(id);
            if (timeout < 0n) timeout = 0n;
            clocks.push({ userdata, timeout });
            if (minTimeout === undefined || timeout < minTimeout) minTimeout = timeout;
          } else {
            const fd = m.getU32(s + 16, what);
            const e = this.fds.get(fd);
            ready.push({ userdata, type: tag, error: e ? ERRNO.SUCCESS : ERRNO.BADF });
          }
        }
        if (ready.length === 0 && minTimeout !== undefined) {
          this.sleepNs(minTimeout);
          for (const c of clocks)
            if (c.timeout === minTimeout) ready.push({ userdata: c.userdata, type: 0, error: 0 });
        }
        ready.forEach((r, i) => {
          const o = ((outPtr as number) >>> 0) + i * 32;
          m.u64(o, r.userdata, what);
          m.u16(o + 8, r.error, what);
          m.u8(o + 10, r.type, what);
          m.u64(o + 16, 0n, what);
          m.u16(o + 24, 0, what);
        });
        m.u32(neventsPtr as number, ready.length, what);
        return ERRNO.SUCCESS;
      },

      // ---- descriptors --------------------------------------------------------------------------
      fd_write: (fd, iovs, iovsLen, nwrittenPtr) => {
        const what = 'fd_write';
        const e = this.entry(fd as number);
        const list = iovecs(iovs as number, iovsLen as number, what);
        m.check(nwrittenPtr as number, 4, what);
        let total = 0;
        if (e.kind === 'stdout' || e.kind === 'stderr') {
          const cap = e.kind === 'stdout' ? this.stdout : this.stderr;
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
        m.u32(nwrittenPtr as number, total, what);
        return ERRNO.SUCCESS;
      },
      fd_pwrite: (fd, iovs, iovsLen, offset, nwrittenPtr) => {
        const what = 'fd_pwrite';
        const e = this.entry(fd as number);
        if (e.kind !== 'file') return e.kind === 'dir' ? ERRNO.ISDIR : ERRNO.SPIPE;
        if (!e.writable) return ERRNO.BADF;
        const off = BigInt.asUintN(64, offset as bigint);
        if (off > MAX_OFFSET) return ERRNO.INVAL;
        let pos = Number(off);
        let total = 0;
        for (const v of iovecs(iovs as number, iovsLen as number, what)) {
          const data = m.read(v.ptr, v.len, what);
          const w = writeSync(e.fd, data, 0, data.length, pos);
          pos += w;
          total += w;
        }
        m.u32(nwrittenPtr as number, total, what);
        return ERRNO.SUCCESS;
      },
      fd_read: (fd, iovs, iovsLen, nreadPtr) => {
        const what = 'fd_read';
        const e = this.entry(fd as number);
        const list = iovecs(iovs as number, iovsLen as number, what);
        m.check(nreadPtr as number, 4, what);
        let total = 0;
        if (e.kind === 'stdin') {
          if (this.stdinMode === 'inherit') {
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
        m.u32(nreadPtr as number, total, what);
        return ERRNO.SUCCESS;
      },
      fd_pread: (fd, iovs, iovsLen, offset, nreadPtr) => {
        const what = 'fd_pread';
        const e = this.entry(fd as number);
        if (e.kind !== 'file') return e.kind === 'dir' ? ERRNO.ISDIR : ERRNO.SPIPE;
        if (!e.readable) return ERRNO.BADF;
        const off = BigInt.asUintN(64, offset as bigint);
        if (off > MAX_OFFSET) return ERRNO.INVAL;
        let pos = Number(off);
        let total = 0;
        for (const v of iovecs(iovs as number, iovsLen as number, what)) {
          const tmp = new Uint8Array(v.len);
          const r = readSync(e.fd, tmp, 0, v.len, pos);
          m.write(v.ptr, tmp.subarray(0, r), what);
          pos += r;
          total += r;
          if (r < v.len) break;
        }
        m.u32(nreadPtr as number, total, what);
        return ERRNO.SUCCESS;
      },
      fd_seek: (fd, offset, whence, newOffsetPtr) => {
        const e = this.entry(fd as number);
        m.check(newOffsetPtr as number, 8, 'fd_seek');
        if (e.kind === 'dir') return ERRNO.ISDIR;
        if (e.kind !== 'file') return ERRNO.SPIPE;
        const off = BigInt.asIntN(64, offset as bigint);
        let base: bigint;
        switch (whence as number) {
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
        m.u64(newOffsetPtr as number, next, 'fd_seek');
        return ERRNO.SUCCESS;
      },
      fd_tell: (fd, ptr) => {
        const e = this.entry(fd as number);
        if (e.kind !== 'file') return ERRNO.SPIPE;
        m.u64(ptr as number, e.pos, 'fd_tell');
        return ERRNO.SUCCESS;
      },
      fd_close: (fd) => {
        const e = this.entry(fd as number);
        if (e.kind === 'file') closeSync(e.fd);
        this.fds.delete((fd as number) >>> 0);
        return ERRNO.SUCCESS;
      },
      fd_sync: (fd) => {
        const e = this.entry(fd as number);
        if (e.kind === 'file') fsyncSync(e.fd);
        return ERRNO.SUCCESS;
      },
      fd_datasync: (fd) => {
        const e = this.entry(fd as number);
        if (e.kind === 'file') fsyncSync(e.fd);
        return ERRNO.SUCCESS;
      },
      fd_advise: (fd) => {
        this.entry(fd as number);
        return ERRNO.SUCCESS;
      },
      fd_fdstat_get: (fd, ptr) => {
        const what = 'fd_fdstat_get';
        const e = this.entry(fd as number);
        m.check(ptr as number, 24, what);
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
        m.u8(ptr as number, type, what);
        m.u16((ptr as number) + 2, flags, what);
        m.u64((ptr as number) + 8, base, what);
        m.u64((ptr as number) + 16, inheriting, what);
        return ERRNO.SUCCESS;
      },
      fd_fdstat_set_flags: (fd, flags) => {
        const e = this.entry(fd as number);
        if (e.kind === 'file') {
          e.append = ((flags as number) & FDFLAGS.APPEND) !== 0;
          return ERRNO.SUCCESS;
        }
        return (flags as number) === 0 ? ERRNO.SUCCESS : ERRNO.NOTSUP;
      },
      fd_prestat_get: (fd, ptr) => {
        const e = this.fds.get((fd as number) >>> 0);
        if (e?.kind !== 'dir' || e.preopenName === undefined) return ERRNO.BADF;
        m.check(ptr as number, 8, 'fd_prestat_get');
        m.u8(ptr as number, 0, 'fd_prestat_get');
        m.u32((ptr as number) + 4, enc.encode(e.preopenName).length, 'fd_prestat_get');
        return ERRNO.SUCCESS;
      },
      fd_prestat_dir_name: (fd, ptr, len) => {
        const e = this.fds.get((fd as number) >>> 0);
        if (e?.kind !== 'dir' || e.preopenName === undefined) return ERRNO.BADF;
        const name = enc.encode(e.preopenName);
        if ((len as number) >>> 0 < name.length) return ERRNO.NAMETOOLONG;
        m.write(ptr as number, name, 'fd_prestat_dir_name');
        return ERRNO.SUCCESS;
      },
      fd_filestat_get: (fd, ptr) => {
        const what = 'fd_filestat_get';
        const e = this.entry(fd as number);
        if (e.kind === 'file') {
          const st = fstatSync(e.fd, { bigint: true });
          writeFilestat(ptr as number, st as never, FILETYPE.REGULAR_FILE, what);
        } else if (e.kind === 'dir') {
          const st = statSync(e.host, { bigint: true });
          writeFilestat(ptr as number, st as never, FILETYPE.DIRECTORY, what);
        } else {
          m.check(ptr as number, 64, what);
          m.bytes(ptr as number, 64, what).fill(0);
          m.u8((ptr as number) + 16, FILETYPE.CHARACTER_DEVICE, what);
        }
        return ERRNO.SUCCESS;
      },
      fd_filestat_set_size: (fd, size) => {
        const e = this.entry(fd as number);
        if (e.kind !== 'file') return ERRNO.BADF;
        if (!e.writable) return ERRNO.BADF;
        const n = BigInt.asUintN(64, size as bigint);
        if (n > MAX_OFFSET) return ERRNO.INVAL;
        ftruncateSync(e.fd, Number(n));
        return ERRNO.SUCCESS;
      },
      fd_readdir: (fd, buf, bufLen, cookie, bufUsedPtr) => {
        const what = 'fd_readdir';
        const e = this.entry(fd as number);
        if (e.kind !== 'dir') return ERRNO.NOTDIR;
        const cap = (bufLen as number) >>> 0;
        m.check(buf as number, cap, what);
        m.check(bufUsedPtr as number, 4, what);
        const start = Number(cookie as bigint);
        if (start === 0 || !e.listing) {
          const list: { name: string; type: number; ino: bigint }[] = [];
          const self = statSync(e.host, { bigint: true });
          list.push({ name: '.', type: FILETYPE.DIRECTORY, ino: self.ino });
          list.push({ name: '..', type: FILETYPE.DIRECTORY, ino: 0n });
          for (const d of readdirSync(e.host, { withFileTypes: true })) {
            let ino = 0n;
            try {
              ino = lstatSync(join(e.host, d.name), { bigint: true }).ino;
            } catch {
              // raced away
            }
            list.push({ name: d.name, type: filetypeOf(d), ino });
          }
          e.listing = list;
        }
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
        m.write(buf as number, out.subarray(0, used), what);
        m.u32(bufUsedPtr as number, used, what);
        return ERRNO.SUCCESS;
      },

      // ---- paths ------------------------------------------------------------------------------
      path_open: (dirfd, lookupflags, pathPtr, pathLen, oflags, rightsBase, _rightsInh, fdflags, fdPtr) => {
        const what = 'path_open';
        const dir = this.dirEntry(dirfd as number);
        const path = this.path(pathPtr as number, pathLen as number);
        m.check(fdPtr as number, 4, what);
        const of = (oflags as number) & 0xffff;
        const ff = (fdflags as number) & 0xffff;
        const rights = BigInt.asUintN(64, rightsBase as bigint);
        const follow = ((lookupflags as number) & LOOKUP_SYMLINK_FOLLOW) !== 0;
        const r = dir.sandbox.resolve(dir.host, path, follow);
        const mutates = (of & (OFLAGS.CREAT | OFLAGS.TRUNC)) !== 0 || (ff & FDFLAGS.APPEND) !== 0;
        if (mutates) writable(dir.sandbox);
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
            const n = this.allocFd({ kind: 'dir', sandbox: dir.sandbox, host: r.host });
            m.u32(fdPtr as number, n, what);
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
        const n = this.allocFd({
          kind: 'file',
          sandbox: dir.sandbox,
          host: r.host,
          fd: hostFd,
          pos: 0n,
          append: (ff & FDFLAGS.APPEND) !== 0,
          readable: (flags & fsc.O_WRONLY) === 0,
          writable: wantWrite,
        });
        m.u32(fdPtr as number, n, what);
        return ERRNO.SUCCESS;
      },
      path_filestat_get: (dirfd, lookupflags, pathPtr, pathLen, buf) => {
        const what = 'path_filestat_get';
        const dir = this.dirEntry(dirfd as number);
        const path = this.path(pathPtr as number, pathLen as number);
        m.check(buf as number, 64, what);
        const r = dir.sandbox.resolve(
          dir.host,
          path,
          ((lookupflags as number) & LOOKUP_SYMLINK_FOLLOW) !== 0,
        );
        if (!r.exists) return ERRNO.NOENT;
        const st = lstatSync(r.host, { bigint: true });
        writeFilestat(buf as number, st as never, filetypeOf(st), what);
        return ERRNO.SUCCESS;
      },
      path_create_directory: (dirfd, pathPtr, pathLen) => {
        const dir = this.dirEntry(dirfd as number);
        writable(dir.sandbox);
        const r = dir.sandbox.resolve(dir.host, this.path(pathPtr as number, pathLen as number), false);
        if (r.exists) return ERRNO.EXIST;
        mkdirSync(r.host);
        return ERRNO.SUCCESS;
      },
      path_unlink_file: (dirfd, pathPtr, pathLen) => {
        const dir = this.dirEntry(dirfd as number);
        writable(dir.sandbox);
        const r = dir.sandbox.resolve(dir.host, this.path(pathPtr as number, pathLen as number), false);
        if (!r.exists) return ERRNO.NOENT;
        if (!r.isLink && lstatSync(r.host).isDirectory()) return ERRNO.ISDIR;
        unlinkSync(r.host);
        return ERRNO.SUCCESS;
      },
      path_remove_directory: (dirfd, pathPtr, pathLen) => {
        const dir = this.dirEntry(dirfd as number);
        writable(dir.sandbox);
        const r = dir.sandbox.resolve(dir.host, this.path(pathPtr as number, pathLen as number), false);
        if (!r.exists) return ERRNO.NOENT;
        if (r.host === dir.sandbox.root) return ERRNO.ACCES;
        if (r.isLink || !lstatSync(r.host).isDirectory()) return ERRNO.NOTDIR;
        rmdirSync(r.host);
        return ERRNO.SUCCESS;
      },
      path_rename: (oldfd, oldPtr, oldLen, newfd, newPtr, newLen) => {
        const a = this.dirEntry(oldfd as number);
        const b = this.dirEntry(newfd as number);
        writable(a.sandbox);
        writable(b.sandbox);
        const from = a.sandbox.resolve(a.host, this.path(oldPtr as number, oldLen as number), false);
        const to = b.sandbox.resolve(b.host, this.path(newPtr as number, newLen as number), false);
        if (!from.exists) return ERRNO.NOENT;
        if (from.host === a.sandbox.root || to.host === b.sandbox.root) return ERRNO.ACCES;
        renameSync(from.host, to.host);
        return ERRNO.SUCCESS;
      },
    };
  }
}
