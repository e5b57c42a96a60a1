/**
 * The Engine: validates a request, instruments the bytecode (gas, stack height, NaN canonicalization,
 * memory cap), and runs it in the executor process of the requested mode. Traps are results; bad requests
 * throw EngineError.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism, getPriority, setPriority } from 'node:os';
import { childExecArgv, siblingModule } from '../util/runtime.ts';
import { DEFAULT_LIMITS, resolveLimits } from './limits.ts';
import { Pool } from './pool.ts';
import { type PreparedModule, prepareModule } from './prepare.ts';
import { PreparePool } from './prepare-pool.ts';
import type { ExecutorToParent, Job, JobResult, ParentToExecutor } from './protocol.ts';
import {
  EngineError,
  type ExecuteRequest,
  type ExecuteResult,
  type ExecutionMode,
  type ExecutionStatus,
  type Limits,
  type ValueType,
  type WasmValue,
} from './types.ts';
import { checkValue, isValueType, parseValue } from './values.ts';

export const EXECUTION_MODES: readonly ExecutionMode[] = ['interp', 'singlepass', 'multipass'];

/**
 * V8 flags per mode (valid for Node 20 / V8 11.3 and Node 24 / V8 13.6; see docs/engine.md).
 * - interp: V8 defaults (lazy Liftoff + dynamic tier-up to TurboFan). Node has no Wasm interpreter.
 * - singlepass: Liftoff only (`--liftoff-only`; `--liftoff --no-wasm-tier-up` does NOT stop dynamic
 *   tier-up in V8 11.3), compiled eagerly at compile time.
 * - multipass: TurboFan only, compiled eagerly.
 */
export const MODE_V8_FLAGS: Readonly<Record<ExecutionMode, readonly string[]>> = {
  interp: [],
  singlepass: ['--liftoff-only', '--no-wasm-lazy-compilation'],
  multipass: ['--no-liftoff', '--no-wasm-lazy-compilation'],
};

/** Handles host calls from guests (runs in the process that created the Engine). */
export type HostHandler = (method: string, params: unknown) => Promise<unknown>;

export interface EngineOptions {
  /** Default limits for requests (each request may override within MAX_LIMITS). */
  limits?: Partial<Limits>;
  /** Worker threads per executor process (per mode). Default min(4, CPUs). */
  workers?: number | Partial<Record<ExecutionMode, number>>;
  /** Compile cache size per executor, bytes of bytecode (default 256 MiB). */
  compileCacheBytes?: number;
  /** Host call handler for the guests' host modules. */
  hostHandler?: HostHandler;
  /** Module exporting createHostModules (default src/host/index). For tests. */
  hostModuleUrl?: string;
  /** Extra V8 flags for every executor (e.g. --allow-natives-syntax for the tier probe in tests). */
  extraV8Flags?: readonly string[];
  /** JS heap limit of each worker, MiB (default 128). */
  workerHeapMb?: number;
  /**
   * Opt in to running the `interp` worker pool in this process (worker threads of the caller) instead of
   * a supervised executor process: one IPC hop less each way, but a V8 abort or OOM while compiling or
   * running untrusted code (e.g. in TurboFan's background tier-up) then takes the caller's process down.
   * Default false (the server never sets it). It applies only when neither this process's flags
   * (execArgv, NODE_OPTIONS) nor `extraV8Flags` touch Wasm compilation.
   */
  interpInProcess?: boolean;
  /** RSS cap of each executor process, MiB (default: workers × (worker heap + max memory + 64) + 512). */
  executorMemoryMb?: number;
  /**
   * Niceness added to executor processes, so guests yield the CPU to the caller (default 0; the server's
   * default backend uses 10). Relative to every process on the machine, not only the caller.
   */
  executorNice?: number;
  /** JS heap (--max-old-space-size) of each executor's main thread, MiB (default 512). */
  executorHeapMb?: number;
  /** Restart backoff after executor crashes: initial × 2^(crashes-1), at most max (default 50 / 5000 ms). */
  restartBackoffMs?: { initial: number; max: number };
}

export interface EngineStats {
  executions: number;
  byStatus: Partial<Record<ExecutionStatus, number>>;
  cache: { hits: number; misses: number; entries: number; bytes: number };
  executors: Partial<
    Record<
      ExecutionMode,
      {
        pid: number | undefined;
        running: boolean;
        inFlight: number;
        restarts: number;
        execArgv: string[];
        /** The mode's worker pool runs in the Engine's own process (no executor process). */
        inProcess: boolean;
      }
    >
  >;
}

interface Pending {
  resolve(r: JobResult & { cacheHit: boolean }): void;
  reject(e: Error): void;
  msg: Extract<ParentToExecutor, { type: 'exec' }>;
  bytes: Uint8Array;
  /** When it was sent, and its deadline (performance.now() ms). */
  t0: number;
  deadline: number;
}

/** Where a mode's executions run: a forked executor process, or a worker pool in this process. */
interface ModeExecutor {
  readonly restarts: number;
  readonly cacheEntries: number;
  readonly cacheBytes: number;
  run(
    id: number,
    key: string,
    bytes: Uint8Array,
    job: Job,
    signal?: AbortSignal,
  ): Promise<JobResult & { cacheHit: boolean }>;
  warmup(): Promise<{ pid: number; execArgv: string[]; v8: string }>;
  info(): NonNullable<EngineStats['executors'][ExecutionMode]>;
  /** As a crash would: in-flight executions fail with ENGINE_CRASHED; false when nothing runs. */
  kill(): boolean;
  close(): Promise<void>;
}

const CANCELLED: JobResult & { cacheHit: boolean } = {
  status: 'cancelled',
  outputs: [],
  message: 'cancelled',
  durationMs: 0,
  cacheHit: false,
};

function poolOptions(mode: ExecutionMode, o: EngineOptions) {
  const w = typeof o.workers === 'number' ? o.workers : o.workers?.[mode];
  return {
    workers: Math.max(1, w || Math.min(4, availableParallelism())),
    cacheBytes: Math.max(0, o.compileCacheBytes ?? 256 * 1024 * 1024),
    heapMb: Math.max(16, o.workerHeapMb || 128),
  };
}

/** V8 flags that change how Wasm is compiled or run (also spelled with underscores). */
const WASM_FLAG = /^--(no-?)?(liftoff|wasm|turbo|jitless|experimental-wasm|max-lazy|sparkplug|maglev)/;

/** Whether this process runs with V8's default Wasm tiering (so the `interp` pool may run here). */
export function callerHasDefaultWasmFlags(): boolean {
  const args = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return !args.some((a) => WASM_FLAG.test(a.replace(/_/g, '-')));
}

/**
 * The worker pool of a mode whose V8 flags are this process's own (interp, when the caller runs with
 * default flags): the Engine talks to the worker threads directly, without an executor process.
 */
class LocalExecutor implements ModeExecutor {
  private pool?: Pool;
  private poolReady = false;
  private readonly pending = new Map<
    number,
    { resolve(r: JobResult & { cacheHit: boolean }): void; reject(e: Error): void }
  >();
  restarts = 0;

  constructor(
    readonly mode: ExecutionMode,
    readonly engine: Engine,
  ) {}

  get cacheEntries(): number {
    return this.pool?.cacheEntries ?? 0;
  }
  get cacheBytes(): number {
    return this.pool?.cacheBytes ?? 0;
  }

  private getPool(): Pool {
    if (this.pool) return this.pool;
    const pool: Pool = new Pool(
      poolOptions(this.mode, this.engine.options),
      {
        result: (id, result, cacheHit) => {
          const p = this.pending.get(id);
          if (!p) return;
          this.pending.delete(id);
          const r = result as JobResult & { cacheHit: boolean };
          r.cacheHit = cacheHit;
          p.resolve(r);
        },
        error: (id, code, message) => {
          const p = this.pending.get(id);
          if (!p) return;
          this.pending.delete(id);
          p.reject(new EngineError(code as EngineError['code'], message));
        },
        host: (id, _callId, method, params) => {
          const h = this.engine.options.hostHandler;
          if (!h) return pool.hostReply(id, false, undefined, 'no host handler configured');
          h(method, params).then(
            (v) => pool.hostReply(id, true, v),
            (e: unknown) => pool.hostReply(id, false, undefined, e instanceof Error ? e.message : String(e)),
          );
        },
        // bytes always come with exec(): never asked for
        needBytes: (id) => this.pending.get(id)?.reject(new EngineError('INTERNAL', 'module lost')),
      },
      true,
    );
    this.pool = pool;
    this.poolReady = false;
    void pool.ready.then(() => {
      if (this.pool === pool) this.poolReady = true;
    });
    return pool;
  }

  async run(id: number, key: string, bytes: Uint8Array, job: Job, signal?: AbortSignal) {
    let pool = this.getPool();
    // like a forked executor's start: the first worker is loaded before the deadline starts counting
    if (!this.poolReady) {
      pool.hold(1);
      try {
        await pool.ready;
      } finally {
        pool.hold(-1);
      }
      pool = this.getPool();
    }
    if (signal?.aborted) return { ...CANCELLED };
    return new Promise<JobResult & { cacheHit: boolean }>((resolve, reject) => {
      let onAbort: (() => void) | undefined;
      if (signal) {
        onAbort = () => {
          if (!this.pending.delete(id)) return;
          pool.cancel(id);
          resolve({ ...CANCELLED });
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
      this.pending.set(id, {
        resolve: (r) => {
          if (onAbort) signal?.removeEventListener('abort', onAbort);
          resolve(r);
        },
        reject: (e) => {
          if (onAbort) signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
      void pool.exec(id, key, bytes, job);
    });
  }

  async warmup() {
    const pool = this.getPool();
    pool.hold(1);
    try {
      await pool.ready;
    } finally {
      pool.hold(-1);
    }
    return { pid: process.pid, execArgv: process.execArgv, v8: process.versions.v8 };
  }

  info() {
    return {
      pid: process.pid,
      running: !!this.pool,
      inFlight: this.pending.size,
      restarts: this.restarts,
      execArgv: process.execArgv,
      inProcess: true,
    };
  }

  kill(): boolean {
    const pool = this.pool;
    if (!pool) return false;
    this.pool = undefined;
    this.restarts++;
    pool.close();
    const err = new EngineError('ENGINE_CRASHED', `worker pool (${this.mode}) was stopped`);
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err);
    return true;
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    pool?.close();
    const err = new EngineError('ENGINE_UNAVAILABLE', 'engine is closed');
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err);
  }
}

/** Why the supervisor killed an executor (reported to the requests in flight). */
type KillReason = 'deadline' | 'memory' | 'crash' | 'close';

class ForkedExecutor implements ModeExecutor {
  child?: ChildProcess;
  ready?: Promise<ExecutorToParent & { type: 'ready' }>;
  execArgv: string[] = [];
  pending = new Map<number, Pending>();
  known = new Set<string>();
  restarts = 0;
  /** Crashes since the executor last answered a request: the restart backoff grows with them. */
  crashes = 0;
  /** Earliest time (Date.now()) the next executor may start. */
  nextStartAt = 0;
  /** Why the current child is being killed by the supervisor, if it is. */
  killReason?: KillReason;
  /** Requests waiting for the executor to start (keeps the child referenced). */
  waiting = 0;
  cacheEntries = 0;
  cacheBytes = 0;
  private rssTimer?: NodeJS.Timeout;
  /** Peak RSS seen by the watchdog, bytes. */
  peakRss = 0;

  constructor(
    readonly mode: ExecutionMode,
    readonly engine: Engine,
  ) {}

  /** The executor's RSS cap, bytes (EngineOptions.executorMemoryMb; default from the pool's limits). */
  get rssCap(): number {
    const o = this.engine.options;
    if (o.executorMemoryMb) return o.executorMemoryMb * 1024 * 1024;
    const p = poolOptions(this.mode, o);
    const memPages = this.engine.limits.maxMemoryPages;
    // per worker: its heap, its linear memory (instrumented cap), its stack and code; plus the executor
    const perWorker = p.heapMb * 1024 * 1024 + memPages * 65536 + 64 * 1024 * 1024;
    return p.workers * perWorker + 512 * 1024 * 1024;
  }

  /** Wait out the restart backoff (at most until `deadline`, performance.now() ms). */
  async backoff(deadline: number): Promise<void> {
    const wait = this.nextStartAt - Date.now();
    if (wait <= 0 || this.child) return;
    if (performance.now() + wait > deadline) {
      throw new EngineError(
        'ENGINE_UNAVAILABLE',
        `executor (${this.mode}) is restarting after ${this.crashes} crash(es); retry in ${wait} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, wait));
  }

  start(): Promise<ExecutorToParent & { type: 'ready' }> {
    if (this.ready && this.child && this.child.exitCode === null && this.child.connected) return this.ready;
    const o = this.engine.options;
    const heap = Math.max(64, o.executorHeapMb ?? 512);
    const flags = [...MODE_V8_FLAGS[this.mode], `--max-old-space-size=${heap}`, ...(o.extraV8Flags ?? [])];
    const url = siblingModule(import.meta.url, 'executor');
    const w = typeof o.workers === 'number' ? o.workers : o.workers?.[this.mode];
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (w) env.WASMVM_ENGINE_WORKERS = String(w);
    if (o.compileCacheBytes !== undefined) env.WASMVM_ENGINE_CACHE_BYTES = String(o.compileCacheBytes || 1);
    if (o.workerHeapMb) env.WASMVM_ENGINE_WORKER_HEAP_MB = String(o.workerHeapMb);
    const child = fork(url, [], {
      // the caller's debugger / test-runner / watch flags must not leak into the executor
      execArgv: childExecArgv(import.meta.url, flags).filter((a) => !/^--(inspect|debug|test|watch)/.test(a)),
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env,
    });
    this.child = child;
    this.killReason = undefined;
    this.known.clear();
    // Guest code and V8's compilers run below the caller's priority: a CPU-bound guest (or a slow
    // compilation) cannot starve the caller's event loop (health checks, other clients' I/O).
    if (child.pid !== undefined && (o.executorNice ?? 0) !== 0) {
      try {
        setPriority(child.pid, Math.min(19, getPriority(process.pid) + (o.executorNice ?? 0)));
      } catch {
        /* not permitted here: same priority */
      }
    }
    this.ready = new Promise((resolve, reject) => {
      child.once('error', reject);
      const onMsg = (m: ExecutorToParent) => {
        if (m.type === 'ready') {
          this.execArgv = m.execArgv;
          resolve(m);
        }
      };
      child.on('message', onMsg);
      child.once('exit', (code, signal) =>
        reject(new EngineError('ENGINE_UNAVAILABLE', `executor (${this.mode}) exited: ${code ?? signal}`)),
      );
    });
    this.ready.catch(() => {});
    child.on('message', (m: ExecutorToParent) => this.onMessage(m));
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    this.startRssWatchdog(child);
    this.refresh();
    return this.ready;
  }

  /** Poll the executor's RSS (Linux /proc); above the cap it is killed and its requests get memory_limit. */
  private startRssWatchdog(child: ChildProcess): void {
    clearInterval(this.rssTimer);
    const pid = child.pid;
    if (pid === undefined || process.platform !== 'linux') return;
    const cap = this.rssCap;
    const page = 4096;
    this.rssTimer = setInterval(() => {
      if (this.child !== child) return;
      let rss: number;
      try {
        rss = Number(readFileSync(`/proc/${pid}/statm`, 'latin1').split(' ')[1]) * page;
      } catch {
        return;
      }
      if (rss > this.peakRss) this.peakRss = rss;
      if (rss > cap && !this.killReason) {
        this.killReason = 'memory';
        child.kill('SIGKILL');
      }
    }, 100);
    this.rssTimer.unref();
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    clearInterval(this.rssTimer);
    const reason = this.killReason ?? 'crash';
    this.child = undefined;
    this.ready = undefined;
    this.killReason = undefined;
    if (reason !== 'close') {
      this.restarts++;
      this.crashes++;
      const b = this.engine.options.restartBackoffMs ?? { initial: 50, max: 5_000 };
      this.nextStartAt = Date.now() + Math.min(b.max, b.initial * 2 ** Math.min(16, this.crashes - 1));
    }
    const now = performance.now();
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      if (reason === 'memory') {
        p.resolve({
          status: 'memory_limit',
          outputs: [],
          message: `executor (${this.mode}) exceeded its memory cap of ${Math.round(this.rssCap / 1048576)} MiB and was killed`,
          durationMs: now - p.t0,
          cacheHit: false,
        });
      } else if (reason === 'deadline' && now >= p.deadline) {
        p.resolve({
          status: 'deadline_exceeded',
          outputs: [],
          message: `deadline of ${p.msg.job.timeoutMs} ms exceeded (compilation or instantiation did not stop: executor killed)`,
          durationMs: now - p.t0,
          cacheHit: false,
        });
      } else if (reason === 'close') {
        p.reject(new EngineError('ENGINE_UNAVAILABLE', 'engine is closed'));
      } else {
        p.reject(
          new EngineError(
            'ENGINE_CRASHED',
            `executor (${this.mode}) ${reason === 'deadline' ? 'was killed (another execution would not stop)' : `exited: ${code ?? signal}`}; the request may be retried`,
          ),
        );
      }
    }
  }

  /** Kill the executor (SIGKILL) for `reason`: its in-flight requests are answered in onExit. */
  killFor(reason: KillReason): boolean {
    const c = this.child;
    if (!c || c.exitCode !== null) return false;
    this.killReason ??= reason;
    return c.kill('SIGKILL');
  }

  refresh(): void {
    const c = this.child;
    if (!c) return;
    const ch = c.channel as { ref?(): void; unref?(): void } | undefined;
    if (this.pending.size > 0 || this.waiting > 0) {
      c.ref();
      ch?.ref?.();
    } else {
      c.unref();
      ch?.unref?.();
    }
  }

  private outbox: ParentToExecutor[] = [];

  /**
   * Queue a message; the messages queued in one tick go to the executor as one IPC message (a batch),
   * which saves system calls and wake-ups when many executions are in flight.
   */
  post(m: ParentToExecutor): void {
    this.outbox.push(m);
    if (this.outbox.length === 1) process.nextTick(() => this.flush());
  }

  private flush(): void {
    const batch = this.outbox;
    this.outbox = [];
    const c = this.child;
    if (!c || batch.length === 0) return; // no executor: its exit handler fails the pending requests
    try {
      c.send(batch.length === 1 ? batch[0]! : { type: 'batch', messages: batch });
      return;
    } catch (e) {
      if (batch.length === 1) {
        this.unsendable(c, batch[0]!, e as Error);
        return;
      }
    }
    for (const m of batch) {
      try {
        c.send(m);
      } catch (e) {
        this.unsendable(c, m, e as Error);
      }
    }
  }

  /** A message that cannot be serialized (e.g. a function in hostOptions or in a host result). */
  private unsendable(c: ChildProcess, m: ParentToExecutor, e: Error): void {
    if (m.type === 'exec') {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      this.refresh();
      p?.reject(new EngineError('INVALID_ARGUMENT', `request cannot be sent to the executor: ${e.message}`));
    } else if (m.type === 'host-reply' && m.ok) {
      try {
        c.send({ ...m, ok: false, value: undefined, error: `host result not serializable: ${e.message}` });
      } catch {
        /* the executor is gone: its exit handler fails the request */
      }
    }
  }

  onMessage(m: ExecutorToParent): void {
    if (m.type === 'ready') return;
    if (m.type === 'batch') {
      for (const x of m.messages) this.onMessage(x);
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    switch (m.type) {
      case 'need-bytes':
        p.msg.bytes = p.bytes;
        this.post(p.msg);
        return;
      case 'result':
        this.pending.delete(m.id);
        this.crashes = 0;
        this.cacheEntries = m.cacheEntries;
        this.cacheBytes = m.cacheBytes;
        p.resolve({ ...m.result, cacheHit: m.cacheHit });
        break;
      case 'error':
        this.pending.delete(m.id);
        p.reject(new EngineError(m.code as EngineError['code'], m.message));
        break;
      case 'host': {
        const h = this.engine.options.hostHandler;
        const reply = (ok: boolean, value?: unknown, error?: string) =>
          this.post({ type: 'host-reply', id: m.id, callId: m.callId, ok, value, error });
        if (!h) reply(false, undefined, 'no host handler configured');
        else
          h(m.method, m.params).then(
            (v) => reply(true, v),
            (e: unknown) => reply(false, undefined, e instanceof Error ? e.message : String(e)),
          );
        return;
      }
    }
    this.refresh();
  }

  async run(id: number, key: string, bytes: Uint8Array, job: Job, signal?: AbortSignal) {
    this.waiting++;
    try {
      await this.backoff(performance.now() + job.timeoutMs);
      const p = this.start();
      this.refresh();
      await p;
    } finally {
      this.waiting--;
    }
    // Starting an executor (once, ~0.1-0.3 s, or after a crash) is not counted in the deadline.
    return new Promise<JobResult & { cacheHit: boolean }>((resolve, reject) => {
      const msg: Extract<ParentToExecutor, { type: 'exec' }> = { type: 'exec', id, key, job };
      if (!this.known.has(key)) {
        msg.bytes = bytes;
        this.known.add(key);
        if (this.known.size > 100_000) this.known.clear();
      }
      let onAbort: (() => void) | undefined;
      const sent = performance.now();
      // Watchdog: the executor answers every request by its deadline (it terminates the worker and waits
      // for it to stop); if it does not within a grace period, V8 is stuck in compilation or
      // instantiation of this module, which cannot be interrupted inside the process: kill the executor.
      const watchdog = setTimeout(() => {
        if (this.pending.has(id)) this.killFor('deadline');
      }, job.timeoutMs + WATCHDOG_GRACE_MS);
      watchdog.unref();
      let abortTimer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(watchdog);
        clearTimeout(abortTimer);
        if (onAbort) signal?.removeEventListener('abort', onAbort);
      };
      this.pending.set(id, {
        resolve: (r) => {
          done();
          resolve(r);
        },
        reject: (e) => {
          done();
          reject(e);
        },
        msg,
        bytes,
        t0: sent,
        deadline: sent + job.timeoutMs,
      });
      if (signal) {
        // Cancel: the executor stops the execution (terminates its worker) and then answers 'cancelled';
        // the request resolves only then, so whoever waits on it knows the work has stopped.
        onAbort = () => {
          if (!this.pending.has(id)) return;
          this.post({ type: 'cancel', id });
          abortTimer = setTimeout(() => {
            if (this.pending.has(id)) this.killFor('deadline');
          }, WATCHDOG_GRACE_MS);
          abortTimer.unref();
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
      this.refresh();
      this.post(msg);
    });
  }

  async warmup() {
    this.waiting++;
    try {
      const p = this.start();
      this.refresh();
      const r = await p;
      return { pid: r.pid, execArgv: r.execArgv, v8: r.v8 };
    } finally {
      this.waiting--;
      this.refresh();
    }
  }

  info() {
    return {
      pid: this.child?.pid,
      running: !!this.child && this.child.exitCode === null,
      inFlight: this.pending.size,
      restarts: this.restarts,
      execArgv: this.execArgv,
      inProcess: false,
    };
  }

  kill(): boolean {
    return this.killFor('crash');
  }

  /** Ask the executor to exit; SIGKILL if it has not within 2 s. Resolves once it is gone. */
  async close(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) {
      clearInterval(this.rssTimer);
      return;
    }
    this.killReason = 'close';
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    try {
      c.send({ type: 'shutdown' });
    } catch {
      /* channel gone */
    }
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(t);
  }
}

type Prepared = PreparedModule;

/** Limits that change what prepare() produces or accepts (part of its cache key). */
const STATIC_KEYS: (keyof Limits)[] = [
  'maxMemoryPages',
  'maxTableElements',
  'maxTables',
  'maxTotalTableElements',
  'maxMemories',
  'maxGlobals',
  'maxDataSegments',
  'maxDataBytes',
  'maxElementSegments',
  'maxElementItems',
  'maxFunctions',
  'maxFunctionBodyBytes',
  'maxLocals',
  'maxBrTableTargets',
  'maxNestingDepth',
  'maxCompileCost',
];

export const UNLIMITED_GAS = (1n << 63n) - 1n;
/**
 * Time past a request's deadline after which an executor that has not answered is killed (it answers
 * every request by its deadline unless V8 is stuck in compilation or instantiation, which cannot be
 * interrupted inside the process).
 */
const WATCHDOG_GRACE_MS = 2_000;
/** Modules at least this large are prepared (validated, instrumented, hashed) in a worker thread. */
const PREPARE_INLINE_BYTES = 32 * 1024;

export class Engine {
  readonly options: EngineOptions;
  readonly limits: Limits;
  private readonly executors = new Map<ExecutionMode, ModeExecutor>();
  private readonly shas = new ShaCache();
  private nextId = 1;
  private readonly prepared = new Map<string, Prepared>();
  private preparedBytes = 0;
  private closed = false;
  private readonly counters = { executions: 0, hits: 0, misses: 0, byStatus: {} as EngineStats['byStatus'] };

  constructor(options: EngineOptions = {}) {
    this.options = options;
    this.limits = resolveLimits(DEFAULT_LIMITS, options.limits);
  }

  private executor(mode: ExecutionMode): ModeExecutor {
    let e = this.executors.get(mode);
    if (!e) {
      const local =
        MODE_V8_FLAGS[mode].length === 0 &&
        this.options.interpInProcess === true &&
        (this.options.extraV8Flags ?? []).length === 0 &&
        callerHasDefaultWasmFlags();
      e = local ? new LocalExecutor(mode, this) : new ForkedExecutor(mode, this);
      this.executors.set(mode, e);
    }
    return e;
  }

  private preparePool?: PreparePool;

  /**
   * Validate + static limits + instrument (cached by the original bytes' hash and the options). Modules of
   * PREPARE_INLINE_BYTES or more are prepared (and hashed, on a SHA-cache miss) in a worker thread, which
   * the deadline terminates. Returns the module and the input's SHA-256, or 'timeout'.
   */
  private async prepare(
    bytes: Uint8Array,
    metered: boolean,
    canonicalizeNaN: boolean,
    limits: Limits,
    deadline: number,
  ): Promise<{ prep: Prepared; sha: string } | 'timeout'> {
    const large = bytes.length >= PREPARE_INLINE_BYTES;
    let sha = large ? this.shas.lookup(bytes) : this.shas.sha256(bytes);
    const cacheKey = (h: string) =>
      `${h}:${metered ? 1 : 0}:${canonicalizeNaN ? 1 : 0}:${JSON.stringify(limits, STATIC_KEYS)}:${metered ? limits.maxStackHeight : 0}`;
    if (sha) {
      const ck = cacheKey(sha);
      const hit = this.prepared.get(ck);
      if (hit) {
        this.prepared.delete(ck);
        this.prepared.set(ck, hit);
        return { prep: hit, sha };
      }
    }
    const input = { bytes, metered, canonicalizeNaN, limits, hashInput: !sha };
    let p: Prepared;
    if (large) {
      this.preparePool ??= new PreparePool(
        Math.max(1, Math.min(2, availableParallelism())),
        Math.max(128, this.options.workerHeapMb || 128) * 2,
      );
      const r = await this.preparePool.run(input, deadline);
      if (r === 'timeout') return 'timeout';
      p = r;
      if (!sha) {
        sha = p.inputSha256!;
        this.shas.remember(bytes, sha);
      }
    } else p = prepareModule(input);
    const budget = this.options.compileCacheBytes ?? 256 * 1024 * 1024;
    if (p.size <= budget) {
      this.prepared.set(cacheKey(sha!), p);
      this.preparedBytes += p.size;
      for (const [k, v] of this.prepared) {
        if (this.preparedBytes <= budget) break;
        this.prepared.delete(k);
        this.preparedBytes -= v.size;
      }
    }
    return { prep: p, sha: sha! };
  }

  /** Run one execution. Traps are results; bad requests throw EngineError. */
  async execute(req: ExecuteRequest): Promise<ExecuteResult> {
    if (this.closed) throw new EngineError('ENGINE_UNAVAILABLE', 'engine is closed');
    const mode = req.mode ?? 'interp';
    if (!EXECUTION_MODES.includes(mode))
      throw new EngineError('INVALID_ARGUMENT', `unknown mode ${String(mode)}`);
    const limits = resolveLimits(this.limits, req.limits);
    const bytecode = req.bytecode;
    if (!(bytecode instanceof Uint8Array))
      throw new EngineError('INVALID_ARGUMENT', 'bytecode must be a Uint8Array');
    if (bytecode.length > limits.maxBytecodeBytes) {
      throw new EngineError(
        'BYTECODE_TOO_LARGE',
        `bytecode is ${bytecode.length} bytes, above the limit of ${limits.maxBytecodeBytes}`,
      );
    }
    if (
      req.gasLimit !== undefined &&
      (typeof req.gasLimit !== 'bigint' || req.gasLimit < 0n || req.gasLimit > UNLIMITED_GAS)
    ) {
      throw new EngineError('INVALID_ARGUMENT', 'gasLimit must be a bigint in 0..2^63-1');
    }
    const metered = req.meter ?? req.gasLimit !== undefined;
    const gas = metered ? (req.gasLimit ?? UNLIMITED_GAS) : undefined;
    const canonicalizeNaN = req.canonicalizeNaN ?? metered;
    // One deadline from here to the answer: preparation, compilation, instantiation and the call.
    const t0 = performance.now();
    const deadline = t0 + limits.timeoutMs;
    const prepared = await this.prepare(bytecode, metered, canonicalizeNaN, limits, deadline);
    if (prepared === 'timeout') {
      return this.count(this.deadlineResult(mode, limits.timeoutMs, t0, this.shas.sha256(bytecode)));
    }
    const { prep, sha } = prepared;

    const exp = prep.info.exports.get(req.fn);
    if (!exp) throw new EngineError('FUNCTION_NOT_FOUND', `no export named ${JSON.stringify(req.fn)}`);
    if (exp.kind !== 'func')
      throw new EngineError('NOT_A_FUNCTION', `export ${JSON.stringify(req.fn)} is a ${exp.kind}`);
    const params = exp.params ?? [];
    const results = exp.results ?? [];
    for (const t of [...params, ...results]) {
      if (!isValueType(t)) {
        throw new EngineError(
          'UNSUPPORTED_FEATURE',
          `export ${req.fn} uses value type ${t} (only i32/i64/f32/f64)`,
        );
      }
    }
    if (params.length > limits.maxArgs)
      throw new EngineError('LIMIT_EXCEEDED', `export takes ${params.length} arguments, above maxArgs`);
    if (results.length > limits.maxResults) {
      throw new EngineError('LIMIT_EXCEEDED', `export returns ${results.length} results, above maxResults`);
    }
    const args = checkArgs(req.args, params as ValueType[], req.fn);
    const hostModules = [...(req.hostModules ?? [])];
    for (const imp of prep.info.imports) {
      if (imp.kind !== 'func' || !hostModules.includes(imp.module)) {
        throw new EngineError('UNKNOWN_IMPORT', `unknown import ${imp.module}.${imp.name} (${imp.kind})`);
      }
    }
    const signal = req.signal;
    const base = { bytecodeSha256: sha, mode };
    if (signal?.aborted) {
      return this.count({
        status: 'cancelled',
        outputs: [],
        message: 'cancelled',
        ...base,
        durationMs: 0,
        cacheHit: false,
      });
    }
    const job: Job = {
      fn: req.fn,
      params: params as ValueType[],
      results: results as ValueType[],
      args,
      hostModules,
      hostOptions: req.hostOptions ?? {},
      maxOutputBytes: limits.maxOutputBytes,
      // what is left of the deadline (the executor counts compilation and instantiation in it)
      timeoutMs: Math.max(1, Math.ceil(deadline - performance.now())),
    };
    if (gas !== undefined) job.gas = gas;
    if (prep.startExport) job.startExport = prep.startExport;
    if (this.options.hostModuleUrl) job.hostModuleUrl = this.options.hostModuleUrl;
    if ((this.options.extraV8Flags ?? []).includes('--allow-natives-syntax')) job.probeTier = true;
    const r = await this.executor(mode).run(this.nextId++, prep.key, prep.bytes, job, signal);
    const result: ExecuteResult & { tier?: JobResult['tier'] } = {
      status: r.status,
      outputs: r.outputs,
      ...base,
      durationMs: r.durationMs,
      cacheHit: r.cacheHit,
    };
    if (r.message !== undefined) result.message = r.message;
    if (r.exitCode !== undefined) result.exitCode = r.exitCode;
    if (metered) {
      result.gasUsed =
        r.gasUsed ?? (r.status === 'deadline_exceeded' || r.status === 'cancelled' ? undefined : 0n);
      if (result.gasUsed === undefined) delete result.gasUsed;
      if (prep.costTableVersion !== undefined) result.costTableVersion = prep.costTableVersion;
    }
    if (r.stdout) result.stdout = r.stdout;
    if (r.stderr) result.stderr = r.stderr;
    if (r.tier) result.tier = r.tier;
    if (r.webgpu) result.webgpu = r.webgpu;
    return this.count(result);
  }

  private deadlineResult(mode: ExecutionMode, timeoutMs: number, t0: number, sha: string): ExecuteResult {
    return {
      status: 'deadline_exceeded',
      outputs: [],
      message: `deadline of ${timeoutMs} ms exceeded (module preparation)`,
      bytecodeSha256: sha,
      mode,
      durationMs: performance.now() - t0,
      cacheHit: false,
    };
  }

  private count(r: ExecuteResult): ExecuteResult {
    this.counters.executions++;
    this.counters.byStatus[r.status] = (this.counters.byStatus[r.status] ?? 0) + 1;
    if (r.status !== 'cancelled') {
      if (r.cacheHit) this.counters.hits++;
      else if (r.status !== 'deadline_exceeded') this.counters.misses++;
    }
    return r;
  }

  /** Start the executor of a mode now (otherwise lazily on first use); resolves with its V8 argv. */
  async warmup(mode: ExecutionMode = 'interp'): Promise<{ pid: number; execArgv: string[]; v8: string }> {
    return this.executor(mode).warmup();
  }

  stats(): EngineStats {
    let entries = 0;
    let bytes = 0;
    const executors: EngineStats['executors'] = {};
    for (const [mode, e] of this.executors) {
      entries += e.cacheEntries;
      bytes += e.cacheBytes;
      executors[mode] = e.info();
    }
    return {
      executions: this.counters.executions,
      byStatus: { ...this.counters.byStatus },
      cache: { hits: this.counters.hits, misses: this.counters.misses, entries, bytes },
      executors,
    };
  }

  /** For tests: kill a mode's executor process as a crash would. */
  killExecutor(mode: ExecutionMode): boolean {
    return this.executors.get(mode)?.kill() ?? false;
  }

  /** Stop everything: executors are asked to exit and killed when they do not within 2 s. */
  async close(): Promise<void> {
    this.closed = true;
    this.preparePool?.close();
    this.preparePool = undefined;
    const all = [...this.executors.values()].map((e) => e.close());
    this.executors.clear();
    await Promise.all(all);
  }
}

function checkArgs(args: ExecuteRequest['args'], params: ValueType[], fn: string): WasmValue[] {
  if (args === undefined || args === null) args = [];
  if (!Array.isArray(args) && typeof args === 'object' && 'legacy' in args) {
    const legacy = args.legacy;
    if (!Array.isArray(legacy))
      throw new EngineError('INVALID_ARGUMENT', 'legacy args must be an array of strings');
    if (legacy.length !== params.length) {
      throw new EngineError(
        'ARITY_MISMATCH',
        `${fn} expects ${params.length} argument(s) (${params.join(', ') || 'none'}), got ${legacy.length}`,
      );
    }
    return legacy.map((s, i) => {
      // an optional TYPE: prefix (CLI style) must match the parameter's type
      const m = typeof s === 'string' ? /^(i32|i64|f32|f64):(.*)$/s.exec(s) : null;
      if (m && m[1] !== params[i]) {
        throw new EngineError('INVALID_ARGUMENT', `argument ${i}: expected ${params[i]}, got ${m[1]}`);
      }
      return parseValue(params[i]!, m ? m[2]! : s, i);
    });
  }
  if (!Array.isArray(args))
    throw new EngineError('INVALID_ARGUMENT', 'args must be an array of typed values or {legacy}');
  if (args.length !== params.length) {
    throw new EngineError(
      'ARITY_MISMATCH',
      `${fn} expects ${params.length} argument(s) (${params.join(', ') || 'none'}), got ${args.length}`,
    );
  }
  return args.map((a, i) => checkValue(a, params[i]!, i));
}

/** Fingerprint of bytecode for the SHA cache: its length and an FNV-1a hash of up to ~96 sampled bytes. */
function fingerprint(b: Uint8Array): string {
  let h = 0x811c9dc5;
  const step = Math.max(1, Math.floor(b.length / 64));
  for (let i = 0; i < b.length; i += step) h = Math.imul(h ^ b[i]!, 0x01000193);
  for (let i = Math.max(0, b.length - 32); i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return `${b.length}:${h >>> 0}`;
}

/**
 * SHA-256 of recently seen bytecode. A hit is found by fingerprint and confirmed by comparing all bytes
 * with a stored copy (memcmp, many times faster than hashing), so the digest is always that of the
 * bytes given, even when the caller reuses and mutates a buffer. LRU, bounded by bytes.
 */
class ShaCache {
  private readonly map = new Map<string, { copy: Buffer; sha: string }>();
  private bytes = 0;
  constructor(private readonly budget = 64 * 1024 * 1024) {}

  /** The digest of `b` when these exact bytes were seen recently (a memcmp, no hashing). */
  lookup(b: Uint8Array): string | undefined {
    const view = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    const fp = fingerprint(b);
    const e = this.map.get(fp);
    if (e?.copy.equals(view)) {
      this.map.delete(fp);
      this.map.set(fp, e);
      return e.sha;
    }
    return undefined;
  }

  sha256(b: Uint8Array): string {
    const known = this.lookup(b);
    if (known) return known;
    const sha = createHash('sha256').update(b).digest('hex');
    this.remember(b, sha);
    return sha;
  }

  /** Record the digest of `b` (computed elsewhere, e.g. in a preparation thread). */
  remember(b: Uint8Array, sha: string): void {
    const view = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    const fp = fingerprint(b);
    const e = this.map.get(fp);
    if (e) {
      this.map.delete(fp);
      this.bytes -= e.copy.length;
    }
    if (b.length <= this.budget / 4) {
      this.map.set(fp, { copy: Buffer.from(view), sha });
      this.bytes += b.length;
      for (const [k, v] of this.map) {
        if (this.bytes <= this.budget) break;
        this.map.delete(k);
        this.bytes -= v.copy.length;
      }
    }
  }
}
