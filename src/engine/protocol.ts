/** Messages between the Engine (parent), the executor process and its worker threads. Internal. */
import { deserialize, serialize } from 'node:v8';
import { EXECUTION_STATUSES } from '../binding/index.ts';
import { EngineError } from './errors.ts';
import type { ExecutionStatus, GpuComputeUsage, GuestAttestations, ValueType, WasmValue } from './types.ts';

/** One execution as the executor and worker see it (already validated and instrumented by the Engine). */
export interface Job {
  fn: string;
  params: ValueType[];
  results: ValueType[];
  args: WasmValue[];
  /** Gas to load into `__wasmvm_gas` before the call (metered runs). */
  gas?: bigint;
  /** Export to call (no params/results) after loading the gas, before `fn`: the moved start function. */
  startExport?: string;
  hostModules: string[];
  hostOptions: Record<string, unknown>;
  /** URL of the module exporting createHostModules (default src/host/index). */
  hostModuleUrl?: string;
  maxOutputBytes: number;
  timeoutMs: number;
  /** Report the function's V8 tier (needs --allow-natives-syntax in the executor). */
  probeTier?: boolean;
}

/** What a worker returns for one job. */
export interface JobResult {
  status: ExecutionStatus;
  outputs: WasmValue[];
  message?: string;
  exitCode?: number;
  gasUsed?: bigint;
  stdout?: Uint8Array;
  stderr?: Uint8Array;
  durationMs: number;
  tier?: { liftoff: boolean; turbofan: boolean };
  /** WebGPU compute the guest used (host module wasmvm_webgpu). */
  webgpu?: GpuComputeUsage;
  /**
   * The guest's attestation calls, as the host answered them (executors/receipts.ts). Added by the
   * executor in the Engine's process, where host calls are answered; never sent by a worker.
   */
  guestAttestations?: GuestAttestations;
}

/** On the IPC channel (the hot messages are frames on the socket, F_*). */
export type ParentToExecutor = { type: 'shutdown' };
export type ExecutorToParent = { type: 'ready'; pid: number; execArgv: string[]; v8: string };

/**
 * Worker mailbox: one SharedArrayBuffer per worker thread, so a cached execution crosses to the worker and
 * back with no structured clone and no postMessage. Int32 words at the start, then the data area:
 *
 *   [MB_REQ]  request sequence: the pool writes a request into the data area, bumps it, Atomics.notify;
 *             the worker sleeps in Atomics.wait on it.
 *   [MB_RES]  response sequence: the worker writes the answer, sets MB_KIND, stores the request's
 *             sequence here, then rings the pool's doorbell (one Int32 per pool, Atomics.notify): the
 *             pool waits on the doorbell with Atomics.waitAsync and scans its busy slots.
 *   [MB_KIND] what the answer is (MB_RESULT: writeResult; MB_ERROR: code and message strings).
 *
 * Request: u32 module id, u32 module id to evict (0: none), u8 flags (REQ_MODULE: the compiled module
 * waits on the worker's side port, REQ_JOB_POSTED: the job did not fit and waits there too), then
 * writeJob. A result that does not fit the data area is posted ({type:'done'}) and MB_RES is not bumped.
 */
export const MB_REQ = 0;
export const MB_RES = 1;
export const MB_KIND = 2;
/** Byte offset of the data area. */
export const MB_DATA = 16;
export const MAILBOX_BYTES = 64 * 1024;
export const MB_RESULT = 1;
export const MB_ERROR = 2;
export const REQ_MODULE = 1;
export const REQ_JOB_POSTED = 2;
/** Byte offset of the job in the data area (after module id, evict id and flags). */
export const MB_JOB = MB_DATA + 9;

/** What a worker receives on its side port with a request (REQ_MODULE / REQ_JOB_POSTED). */
export interface RequestExtras {
  module?: WebAssembly.Module;
  job?: Uint8Array;
}

const TYPE_CHAR: Record<ValueType, string> = { i32: 'i', i64: 'I', f32: 'f', f64: 'F' };
const CHAR_TYPE: Record<string, ValueType> = { i: 'i32', I: 'i64', f: 'f32', F: 'f64' };

/** A signature as a short string ("ii:I" = (i32, i32) -> i64). */
export function encodeSig(params: readonly ValueType[], results: readonly ValueType[]): string {
  let s = '';
  for (const t of params) s += TYPE_CHAR[t];
  s += ':';
  for (const t of results) s += TYPE_CHAR[t];
  return s;
}

export function decodeSig(sig: string): { params: ValueType[]; results: ValueType[] } {
  const [p = '', r = ''] = sig.split(':');
  return { params: [...p].map((c) => CHAR_TYPE[c]!), results: [...r].map((c) => CHAR_TYPE[c]!) };
}

export type WorkerToExecutor =
  | { type: 'ready' }
  | { type: 'done'; kind: number; bytes: Uint8Array }
  | { type: 'host'; method: string; params: unknown }
  | { type: 'host-more' };

/**
 * Host-call transport over the shared buffers: ctrl is an Int32Array[4]:
 * [0] state (0 waiting, 1 ok, 2 error), [1] total payload bytes, [2] bytes in this chunk, [3] chunk offset.
 * data holds the v8.serialize()d payload (the host handler's result, or its error message), chunked when
 * larger than the buffer: the worker asks for the next chunk with 'host-more'.
 */
export const HOST_STATE_WAITING = 0;
export const HOST_STATE_OK = 1;
export const HOST_STATE_ERROR = 2;
export const HOST_DATA_BYTES = 64 * 1024;

// ---------------------------------------------------------------------------------------------------
// Binary wire format: the worker mailboxes (shared memory) and the executor channel (socket frames) use
// the same little-endian encoding of a job and of a result, so neither side clones objects per call.
// ---------------------------------------------------------------------------------------------------

/** Thrown by a fixed-size writer when the message does not fit (the caller falls back). */
export const WIRE_OVERFLOW = new EngineError('INTERNAL', 'message does not fit the shared buffer');

const STATUS_CODE = new Map<ExecutionStatus, number>(EXECUTION_STATUSES.map((s, i) => [s, i]));

/** Writes into a growable buffer, or into a fixed one (a mailbox: WIRE_OVERFLOW when full). */
export class WireWriter {
  buf: Uint8Array;
  dv: DataView;
  pos: number;

  constructor(
    buf: Uint8Array = new Uint8Array(256),
    private readonly fixed = false,
    start = 0,
  ) {
    this.buf = buf;
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    if (this.fixed) throw WIRE_OVERFLOW;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.room(1);
    this.dv.setUint8(this.pos, v);
    this.pos += 1;
  }
  u32(v: number): void {
    this.room(4);
    this.dv.setUint32(this.pos, v, true);
    this.pos += 4;
  }
  f64(v: number): void {
    this.room(8);
    this.dv.setFloat64(this.pos, v, true);
    this.pos += 8;
  }
  i64(v: bigint): void {
    this.room(8);
    this.dv.setBigInt64(this.pos, BigInt.asIntN(64, v), true);
    this.pos += 8;
  }
  /** A string as its UTF-16 code units (exact for any JS string, no encoder on shared memory). */
  str(s: string): void {
    const n = s.length;
    this.room(4 + 2 * n);
    const dv = this.dv;
    let p = this.pos;
    dv.setUint32(p, n, true);
    p += 4;
    for (let i = 0; i < n; i++, p += 2) dv.setUint16(p, s.charCodeAt(i), true);
    this.pos = p;
  }
  bytes(b: Uint8Array): void {
    this.room(4 + b.length);
    this.dv.setUint32(this.pos, b.length, true);
    this.buf.set(b, this.pos + 4);
    this.pos += 4 + b.length;
  }
  /** A value as 8 raw bytes (i32 / f32 bits in the low half). */
  value(v: WasmValue): void {
    this.room(8);
    const p = this.pos;
    switch (v.type) {
      case 'i32':
        this.dv.setInt32(p, v.value, true);
        this.dv.setInt32(p + 4, 0, true);
        break;
      case 'i64':
        this.dv.setBigInt64(p, BigInt.asIntN(64, v.value), true);
        break;
      case 'f32':
        this.dv.setUint32(p, v.bits >>> 0, true);
        this.dv.setInt32(p + 4, 0, true);
        break;
      case 'f64':
        this.dv.setBigUint64(p, BigInt.asUintN(64, v.bits), true);
        break;
    }
    this.pos = p + 8;
  }
}

export class WireReader {
  readonly dv: DataView;
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
  ) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
  }
  u8(): number {
    return this.dv.getUint8(this.pos++);
  }
  u32(): number {
    const v = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  f64(): number {
    const v = this.dv.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }
  i64(): bigint {
    const v = this.dv.getBigInt64(this.pos, true);
    this.pos += 8;
    return v;
  }
  str(): string {
    const n = this.u32();
    const dv = this.dv;
    let p = this.pos;
    let s = '';
    // chunks keep String.fromCharCode's argument list short
    for (let i = 0; i < n; ) {
      const m = Math.min(n - i, 4096);
      const codes = new Array<number>(m);
      for (let j = 0; j < m; j++, p += 2) codes[j] = dv.getUint16(p, true);
      s += String.fromCharCode.apply(null, codes);
      i += m;
    }
    this.pos = p;
    return s;
  }
  /** Bytes, copied out (the source may be a shared buffer that is reused). */
  bytes(): Uint8Array {
    const n = this.u32();
    const b = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  value(type: ValueType): WasmValue {
    const p = this.pos;
    this.pos += 8;
    switch (type) {
      case 'i32':
        return { type, value: this.dv.getInt32(p, true) };
      case 'i64':
        return { type, value: this.dv.getBigInt64(p, true) };
      case 'f32':
        return { type, bits: this.dv.getUint32(p, true) };
      case 'f64':
        return { type, bits: this.dv.getBigUint64(p, true) };
    }
  }
}

const R_MESSAGE = 1;
const R_EXIT = 2;
const R_GAS = 4;
const R_EXTRA = 8;

/**
 * A JobResult: status, duration, outputs as raw words; message, exit code and gas when present; the rare
 * fields (captured output, tier, WebGPU usage) as one v8-serialized blob.
 */
export function writeResult(w: WireWriter, r: JobResult): void {
  let flags = 0;
  if (r.message !== undefined) flags |= R_MESSAGE;
  if (r.exitCode !== undefined) flags |= R_EXIT;
  if (r.gasUsed !== undefined) flags |= R_GAS;
  const extra = r.stdout || r.stderr || r.tier || r.webgpu;
  if (extra) flags |= R_EXTRA;
  w.u8(STATUS_CODE.get(r.status)!);
  w.u8(flags);
  w.f64(r.durationMs);
  if (r.message !== undefined) w.str(r.message);
  if (r.exitCode !== undefined) w.f64(r.exitCode);
  if (r.gasUsed !== undefined) w.i64(r.gasUsed);
  w.u32(r.outputs.length);
  for (const v of r.outputs) w.value(v);
  if (extra) {
    w.bytes(
      serialize([r.stdout, r.stderr, r.tier, r.webgpu] satisfies [
        JobResult['stdout'],
        JobResult['stderr'],
        JobResult['tier'],
        JobResult['webgpu'],
      ]),
    );
  }
}

export function readResult(rd: WireReader, results: readonly ValueType[]): JobResult {
  const status = EXECUTION_STATUSES[rd.u8()]!;
  const flags = rd.u8();
  const r: JobResult = { status, outputs: [], durationMs: rd.f64() };
  if (flags & R_MESSAGE) r.message = rd.str();
  if (flags & R_EXIT) r.exitCode = rd.f64();
  if (flags & R_GAS) r.gasUsed = rd.i64();
  const n = rd.u32();
  for (let i = 0; i < n; i++) r.outputs.push(rd.value(results[i]!));
  if (flags & R_EXTRA) {
    const [stdout, stderr, tier, webgpu] = deserialize(rd.bytes()) as [
      JobResult['stdout'],
      JobResult['stderr'],
      JobResult['tier'],
      JobResult['webgpu'],
    ];
    if (stdout) r.stdout = stdout;
    if (stderr) r.stderr = stderr;
    if (tier) r.tier = tier;
    if (webgpu) r.webgpu = webgpu;
  }
  return r;
}

const J_GAS = 1;
const J_PROBE = 2;
const J_START = 4;
const J_HOST = 8;
const J_URL = 16;

/**
 * A Job without its deadline (the sender keeps it): export, signature, output limit, gas, start export,
 * arguments as raw words, and the host configuration (v8-serialized: hostOptions is the caller's object)
 * when host modules are named.
 */
export function writeJob(w: WireWriter, job: Job, sig = encodeSig(job.params, job.results)): void {
  let flags = 0;
  if (job.gas !== undefined) flags |= J_GAS;
  if (job.probeTier) flags |= J_PROBE;
  if (job.startExport !== undefined) flags |= J_START;
  if (job.hostModules.length > 0) flags |= J_HOST;
  if (job.hostModuleUrl !== undefined) flags |= J_URL;
  w.u8(flags);
  w.f64(job.maxOutputBytes);
  if (job.gas !== undefined) w.i64(job.gas);
  w.str(job.fn);
  w.str(sig);
  if (job.startExport !== undefined) w.str(job.startExport);
  if (job.hostModuleUrl !== undefined) w.str(job.hostModuleUrl);
  if (flags & J_HOST) w.bytes(serialize([job.hostModules, job.hostOptions]));
  for (const a of job.args) w.value(a);
}

const sigCache = new Map<string, { params: ValueType[]; results: ValueType[] }>();

export function readJob(rd: WireReader, timeoutMs: number): Job {
  const flags = rd.u8();
  const maxOutputBytes = rd.f64();
  const gas = flags & J_GAS ? rd.i64() : undefined;
  const fn = rd.str();
  const sigText = rd.str();
  let sig = sigCache.get(sigText);
  if (!sig) {
    if (sigCache.size > 1000) sigCache.clear();
    sig = decodeSig(sigText);
    sigCache.set(sigText, sig);
  }
  const job: Job = {
    fn,
    params: sig.params,
    results: sig.results,
    args: [],
    hostModules: [],
    hostOptions: {},
    maxOutputBytes,
    timeoutMs,
  };
  if (gas !== undefined) job.gas = gas;
  if (flags & J_PROBE) job.probeTier = true;
  if (flags & J_START) job.startExport = rd.str();
  if (flags & J_URL) job.hostModuleUrl = rd.str();
  if (flags & J_HOST) {
    const [modules, options] = deserialize(rd.bytes()) as [string[], Record<string, unknown>];
    job.hostModules = modules;
    job.hostOptions = options;
  }
  for (const t of sig.params) job.args.push(rd.value(t));
  return job;
}

// ---------------------------------------------------------------------------------------------------
// Executor channel: length-prefixed binary frames on a Unix-domain socketpair (fork()'s fd 4). Frame:
// u32 length of what follows, u8 type, payload. The frames produced in one tick go out in one write.
// The IPC channel is kept for the start handshake ('ready'), 'shutdown' and noticing the parent's exit.
// ---------------------------------------------------------------------------------------------------

/** Parent → executor: id u32, timeoutMs f64, key, u8 has-bytes, writeJob, [bytes]. */
export const F_EXEC = 1;
/** Parent → executor: id u32. */
export const F_CANCEL = 2;
/** Parent → executor: id u32, u8 ok, bytes: v8.serialize(value) or of the error message. */
export const F_HOST_REPLY = 3;
/** Executor → parent: id u32, u8 cacheHit, f64 cacheEntries, f64 cacheBytes, writeResult. */
export const F_RESULT = 10;
/** Executor → parent: id u32, code, message. */
export const F_ERROR = 11;
/** Executor → parent: id u32 (the module is not cached: send the exec again with its bytes). */
export const F_NEED_BYTES = 12;
/** Executor → parent: id u32, method, bytes: v8.serialize(params). */
export const F_HOST = 13;

/** Frames queued for one write. */
export class FrameWriter {
  readonly w = new WireWriter(new Uint8Array(4096));
  private start = 0;

  get empty(): boolean {
    return this.w.pos === 0;
  }

  /** Start a frame; write its payload with `this.w`, then end(). */
  begin(type: number): WireWriter {
    this.start = this.w.pos;
    this.w.u32(0);
    this.w.u8(type);
    return this.w;
  }

  end(): void {
    this.w.dv.setUint32(this.start, this.w.pos - this.start - 4, true);
  }

  /** Drop a frame begun but not ended (its payload could not be encoded). */
  abort(): void {
    this.w.pos = this.start;
  }

  /** The queued frames (a copy: the socket keeps it until written); the writer is empty again. */
  take(): Uint8Array {
    const out = this.w.buf.slice(0, this.w.pos);
    this.w.pos = 0;
    return out;
  }
}

/** Splits a byte stream into frames (a frame may span chunks; a large one is assembled once). */
export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private have = 0;

  constructor(private readonly onFrame: (type: number, rd: WireReader) => void) {}

  push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.have += chunk.length;
    for (;;) {
      if (this.have < 4) return;
      if (this.chunks[0]!.length < 4) this.merge();
      const head = this.chunks[0]!;
      const need = 4 + new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true);
      if (this.have < need) return;
      if (head.length < need) this.merge();
      const data = this.chunks[0]!;
      let p = 0;
      const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
      while (data.length - p >= 4) {
        const n = dv.getUint32(p, true);
        if (data.length - p - 4 < n) break;
        const rd = new WireReader(data.subarray(p + 4, p + 4 + n));
        const type = rd.u8();
        p += 4 + n;
        this.onFrame(type, rd);
      }
      const rest = data.subarray(p);
      this.chunks.shift();
      if (rest.length > 0) this.chunks.unshift(rest);
      this.have -= p;
    }
  }

  private merge(): void {
    const all = new Uint8Array(this.have);
    let o = 0;
    for (const c of this.chunks) {
      all.set(c, o);
      o += c.length;
    }
    this.chunks = [all];
  }
}
