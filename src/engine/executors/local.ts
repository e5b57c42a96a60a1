/**
 * The worker pool of a mode run in the Engine's own process (opt-in `interpInProcess`): the Engine
 * talks to the worker threads directly, without an executor process.
 */
import { EngineError } from '../errors.ts';
import { poolOptions } from '../options.ts';
import { Pool } from '../pool.ts';
import type { Job, JobResult } from '../protocol.ts';
import type { ExecutionMode } from '../types.ts';
import { CANCELLED, type ExecutorHost, type ModeExecutor } from './mode-executor.ts';
import { ReceiptBook, withReceipts } from './receipts.ts';

/**
 * The worker pool of a mode whose V8 flags are this process's own (interp, when the caller runs with
 * default flags): the Engine talks to the worker threads directly, without an executor process.
 */
export class LocalExecutor implements ModeExecutor {
  private pool?: Pool;
  private poolReady = false;
  private readonly pending = new Map<
    number,
    { resolve(r: JobResult & { cacheHit: boolean }): void; reject(e: Error): void }
  >();
  restarts = 0;
  /** Receipts of the guests' attestation calls, per execution in flight. */
  private readonly receipts = new ReceiptBook();

  constructor(
    readonly mode: ExecutionMode,
    readonly engine: ExecutorHost,
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
          p.reject(EngineError.fromWire({ code, message }));
        },
        host: (id, _callId, method, params) =>
          this.receipts.call(this.engine.options.hostHandler, id, method, params, (r) =>
            pool.hostReply(id, r.ok, r.value, r.error),
          ),
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
      this.receipts.begin(id);
      this.pending.set(id, {
        resolve: (r) => {
          if (onAbort) signal?.removeEventListener('abort', onAbort);
          const g = this.receipts.end(id);
          resolve(withReceipts(r, g));
        },
        reject: (e) => {
          if (onAbort) signal?.removeEventListener('abort', onAbort);
          this.receipts.end(id);
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
