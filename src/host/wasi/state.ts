/**
 * The state one WASI instance keeps for its guest: the descriptor table, args/env, the captured
 * stdio, and the clock and random state. The syscall groups (args, clock, random, proc, fd, fd-stat,
 * path) are functions of this state; `Wasi` (index.ts) assembles them into the import object.
 */
import { createHash } from 'node:crypto';
import { writeSync } from 'node:fs';
import { HostError } from '../errors.ts';
import type { GuestMemory } from '../memory.ts';
import { Capture } from './capture.ts';
import { ERRNO, FILETYPE, type PREVIEW1_FUNCTIONS } from './constants.ts';
import type { StdioForward, WasiOptions } from './options.ts';
import { Sandbox, WasiErrno } from './sandbox.ts';

export type FdEntry =
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

export type DirEntry = Extract<FdEntry, { kind: 'dir' }>;

/** A preview1 function name. */
export type Preview1Name = (typeof PREVIEW1_FUNCTIONS)[number];

/** One syscall: the instance's state first, then the guest's arguments (i32 → number, i64 → bigint). */
// biome-ignore lint/suspicious/noExplicitAny: each syscall types its own guest arguments
export type Syscall = (s: WasiState, ...a: any[]) => number;

/** A group of syscalls by preview1 name. */
export type SyscallGroup = Partial<Record<Preview1Name, Syscall>>;

export const enc = new TextEncoder();
/** Largest file offset handled (Node takes offsets as JS numbers). */
export const MAX_OFFSET = BigInt(Number.MAX_SAFE_INTEGER);

export function filetypeOf(st: {
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}): number {
  if (st.isFile()) return FILETYPE.REGULAR_FILE;
  if (st.isDirectory()) return FILETYPE.DIRECTORY;
  if (st.isSymbolicLink()) return FILETYPE.SYMBOLIC_LINK;
  return FILETYPE.UNKNOWN;
}

export class WasiState {
  readonly fds = new Map<number, FdEntry>();
  readonly args: Uint8Array[];
  readonly env: Uint8Array[];
  readonly stdout: Capture;
  readonly stderr: Capture;
  readonly deterministic: boolean;
  virtualNs: bigint;
  readonly virtualStart: bigint;
  readonly stepNs: bigint;
  readonly seed: Uint8Array;
  randCounter = 0n;
  randPool = new Uint8Array(0);
  readonly stdinMode: 'empty' | 'inherit' | 'data';
  /** stdin: { data }: the bytes and how far the guest has read (zeroed when the run ends: wipeStdin). */
  stdinData?: Uint8Array;
  stdinPos = 0;

  constructor(
    readonly mem: GuestMemory,
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
    const stdin = options.stdin ?? 'empty';
    if (typeof stdin === 'object') {
      if (!(stdin.data instanceof Uint8Array))
        throw new HostError('HOST_INVALID_ARGUMENT', 'wasi.stdin.data must be a Uint8Array');
      this.stdinMode = 'data';
      this.stdinData = stdin.data;
    } else this.stdinMode = stdin;
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

  allocFd(entry: FdEntry): number {
    let n = 3;
    while (this.fds.has(n)) n++;
    if (n > 1024) throw new WasiErrno(ERRNO.NOSPC, 'too many open files');
    this.fds.set(n, entry);
    return n;
  }

  entry(fd: number): FdEntry {
    const e = this.fds.get(fd >>> 0);
    if (!e) throw new WasiErrno(ERRNO.BADF);
    return e;
  }

  dirEntry(fd: number): DirEntry {
    const e = this.entry(fd);
    if (e.kind !== 'dir') throw new WasiErrno(ERRNO.NOTDIR);
    return e;
  }

  /** A path argument (guest UTF-8 string). */
  path(ptr: number, len: number): string {
    return this.mem.readString(ptr, len, 'wasi path');
  }
}
