/**
 * A mode's executor process (src/engine/executor.ts, forked with the mode's V8 flags) and its
 * supervision: start and restart backoff, the RSS watchdog, the deadline watchdog, cancellation, and
 * the IPC outbox.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFile } from 'node:fs';
import type { Socket } from 'node:net';
import { getPriority, setPriority } from 'node:os';
import { deserialize, serialize } from 'node:v8';
import { childExecArgv, siblingModule } from '../../util/runtime.ts';
import { EngineError } from '../errors.ts';
import { MODE_V8_FLAGS, poolOptions } from '../options.ts';
import {
  type ExecutorToParent,
  F_CANCEL,
  F_ERROR,
  F_EXEC,
  F_HOST,
  F_HOST_REPLY,
  F_NEED_BYTES,
  F_RESULT,
  FrameDecoder,
  FrameWriter,
  type Job,
  type JobResult,
  type ParentToExecutor,
  readResult,
  type WireReader,
  writeJob,
} from '../protocol.ts';
import type { ExecutionMode } from '../types.ts';
import type { ExecutorHost, ModeExecutor } from './mode-executor.ts';
import { ReceiptBook, withReceipts } from './receipts.ts';

/**
 * Time past a request's deadline after which an executor that has not answered is killed (it answers
 * every request by its deadline unless V8 is stuck in compilation or instantiation, which cannot be
 * interrupted inside the process).
 */
const WATCHDOG_GRACE_MS = 2_000;

interface Pending {
  resolve(r: JobResult & { cacheHit: boolean }): void;
  reject(e: Error): void;
  key: string;
  job: Job;
  bytes: Uint8Array;
  /** When it was sent, and its deadline (performance.now() ms). */
  t0: number;
  deadline: number;
}

/** Why the supervisor killed an executor (reported to the requests in flight). */
type KillReason = 'deadline' | 'memory' | 'crash' | 'close';

export class ForkedExecutor implements ModeExecutor {
  child?: ChildProcess;
  /** The frame channel to the child (its fd 4: a Unix-domain socketpair). */
  sock?: Socket;
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
  /** Receipts of the guests' attestation calls (answered here, in the Engine's process), per execution. */
  private readonly receipts = new ReceiptBook();

  constructor(
    readonly mode: ExecutionMode,
    readonly engine: ExecutorHost,
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
    const url = siblingModule(import.meta.url, '../executor');
    const w = typeof o.workers === 'number' ? o.workers : o.workers?.[this.mode];
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (w) env.WASMVM_ENGINE_WORKERS = String(w);
    if (o.compileCacheBytes !== undefined) env.WASMVM_ENGINE_CACHE_BYTES = String(o.compileCacheBytes || 1);
    if (o.workerHeapMb) env.WASMVM_ENGINE_WORKER_HEAP_MB = String(o.workerHeapMb);
    const child = fork(url, [], {
      // the caller's debugger / test-runner / watch flags must not leak into the executor
      execArgv: childExecArgv(import.meta.url, flags).filter((a) => !/^--(inspect|debug|test|watch)/.test(a)),
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc', 'pipe'],
      env,
    });
    this.child = child;
    const sock = child.stdio[4] as Socket;
    this.sock = sock;
    const decoder = new FrameDecoder((type, rd) => {
      try {
        this.onFrame(type, rd);
      } catch {
        // an unreadable frame: the stream cannot be trusted any more; the exit handler fails what is in flight
        this.killFor('crash');
      }
    });
    sock.on('data', (chunk: Buffer) => {
      if (this.sock === sock) decoder.push(chunk);
    });
    sock.on('error', () => {}); // the child's exit handler fails what is in flight
    this.out = new FrameWriter();
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
    // Read on the thread pool, not the event loop: a synchronous read of /proc/<pid>/statm was seen
    // blocking the server's event loop for 60 ms under the abuse suite (a busy executor, a loaded machine).
    let reading = false;
    this.rssTimer = setInterval(() => {
      if (this.child !== child || reading) return;
      reading = true;
      readFile(`/proc/${pid}/statm`, 'latin1', (err, text) => {
        reading = false;
        if (err || this.child !== child) return;
        const rss = Number(text.split(' ')[1]) * page;
        if (rss > this.peakRss) this.peakRss = rss;
        if (rss > cap && !this.killReason) {
          this.killReason = 'memory';
          child.kill('SIGKILL');
        }
      });
    }, 100);
    this.rssTimer.unref();
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    clearInterval(this.rssTimer);
    const reason = this.killReason ?? 'crash';
    this.child = undefined;
    this.sock?.destroy();
    this.sock = undefined;
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
          message: `deadline of ${p.job.timeoutMs} ms exceeded (compilation or instantiation did not stop: executor killed)`,
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
      this.sock?.ref();
    } else {
      c.unref();
      ch?.unref?.();
      this.sock?.unref();
    }
  }

  /** Frames queued in this tick: they go to the executor in one write (a batch when many are in flight). */
  private out = new FrameWriter();
  private flushQueued = false;

  private queued(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    process.nextTick(() => {
      this.flushQueued = false;
      if (this.out.empty) return;
      const frames = this.out.take();
      // no executor: its exit handler fails the pending requests
      this.sock?.write(frames);
    });
  }

  /** Queue an exec frame; false (frame dropped) when the job cannot be encoded. */
  private sendExec(id: number, key: string, job: Job, bytes: Uint8Array | undefined): string | undefined {
    const w = this.out.begin(F_EXEC);
    try {
      w.u32(id);
      w.f64(job.timeoutMs);
      w.str(key);
      w.u8(bytes ? 1 : 0);
      writeJob(w, job);
      if (bytes) w.bytes(bytes);
    } catch (e) {
      // e.g. a function in hostOptions
      this.out.abort();
      return (e as Error).message;
    }
    this.out.end();
    this.queued();
    return undefined;
  }

  private sendCancel(id: number): void {
    this.out.begin(F_CANCEL).u32(id);
    this.out.end();
    this.queued();
  }

  private sendHostReply(id: number, ok: boolean, value: unknown, error: string | undefined): void {
    let bytes: Uint8Array;
    try {
      bytes = serialize(ok ? value : (error ?? 'error'));
    } catch (e) {
      ok = false;
      bytes = serialize(`host result not serializable: ${(e as Error).message}`);
    }
    const w = this.out.begin(F_HOST_REPLY);
    w.u32(id);
    w.u8(ok ? 1 : 0);
    w.bytes(bytes);
    this.out.end();
    this.queued();
  }

  private onFrame(type: number, rd: WireReader): void {
    const id = rd.u32();
    const p = this.pending.get(id);
    if (!p) return;
    switch (type) {
      case F_NEED_BYTES: {
        const why = this.sendExec(id, p.key, p.job, p.bytes);
        if (why === undefined) return;
        this.pending.delete(id);
        p.reject(new EngineError('INTERNAL', why));
        break;
      }
      case F_RESULT: {
        this.pending.delete(id);
        this.crashes = 0;
        const cacheHit = rd.u8() === 1;
        this.cacheEntries = rd.f64();
        this.cacheBytes = rd.f64();
        const r = readResult(rd, p.job.results) as JobResult & { cacheHit: boolean };
        r.cacheHit = cacheHit;
        p.resolve(r);
        break;
      }
      case F_ERROR: {
        this.pending.delete(id);
        const code = rd.str();
        p.reject(EngineError.fromWire({ code, message: rd.str() }));
        break;
      }
      case F_HOST: {
        const method = rd.str();
        const params = deserialize(rd.bytes());
        this.receipts.call(this.engine.options.hostHandler, id, method, params, (r) =>
          this.sendHostReply(id, r.ok, r.value, r.error),
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
      let withBytes: Uint8Array | undefined;
      if (!this.known.has(key)) {
        withBytes = bytes;
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
        return this.receipts.end(id);
      };
      this.receipts.begin(id);
      this.pending.set(id, {
        resolve: (r) => {
          const g = done();
          resolve(withReceipts(r, g));
        },
        reject: (e) => {
          done();
          reject(e);
        },
        key,
        job,
        bytes,
        t0: sent,
        deadline: sent + job.timeoutMs,
      });
      if (signal) {
        // Cancel: the executor stops the execution (terminates its worker) and then answers 'cancelled';
        // the request resolves only then, so whoever waits on it knows the work has stopped.
        onAbort = () => {
          if (!this.pending.has(id)) return;
          this.sendCancel(id);
          abortTimer = setTimeout(() => {
            if (this.pending.has(id)) this.killFor('deadline');
          }, WATCHDOG_GRACE_MS);
          abortTimer.unref();
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
      this.refresh();
      const why = this.sendExec(id, key, job, withBytes);
      if (why !== undefined) {
        if (withBytes) this.known.delete(key);
        this.pending
          .get(id)
          ?.reject(new EngineError('INVALID_ARGUMENT', `request cannot be sent to the executor: ${why}`));
        this.pending.delete(id);
        this.refresh();
      }
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
      c.send({ type: 'shutdown' } satisfies ParentToExecutor);
    } catch {
      /* channel gone */
    }
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(t);
  }
}
