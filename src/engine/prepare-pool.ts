/**
 * Worker threads that run prepareModule (validation, static limits, instrumentation, hashing) off the
 * Engine's event loop. A job's deadline terminates its thread (the work really stops; a fresh thread
 * is started for the next job). Idle threads do not keep the process alive. Internal to the engine.
 */
import { Worker } from 'node:worker_threads';
import { siblingModule } from '../util/runtime.ts';
import { EngineError } from './errors.ts';
import type { PreparedModule, PrepareInput } from './prepare.ts';

const workerUrl = siblingModule(import.meta.url, 'prepare-worker');

interface Job {
  id: number;
  input: PrepareInput;
  deadline: number;
  resolve(p: PreparedModule | 'timeout'): void;
  reject(e: Error): void;
  timer?: NodeJS.Timeout;
  slot?: Slot;
}
interface Slot {
  worker: Worker;
  job?: Job;
}

export class PreparePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    readonly size: number,
    readonly heapMb: number,
  ) {}

  /** Prepare in a worker thread; 'timeout' when the deadline (performance.now() ms) passes first. */
  async run(input: PrepareInput, deadline: number): Promise<PreparedModule | 'timeout'> {
    if (this.closed) throw new EngineError('ENGINE_UNAVAILABLE', 'engine is closed');
    // The module goes to the thread in shared memory, copied a slice per turn of the event loop:
    // postMessage would clone it in one go on this thread (20-100 ms for 16 MiB, measured under the
    // abuse suite), and health checks wait behind that.
    const bytes = await toShared(input.bytes, deadline);
    if (bytes === 'timeout') return 'timeout';
    if (this.closed) throw new EngineError('ENGINE_UNAVAILABLE', 'engine is closed');
    return new Promise((resolve, reject) => {
      const job: Job = { id: this.nextId++, input: { ...input, bytes }, deadline, resolve, reject };
      job.timer = setTimeout(() => this.expire(job), Math.max(0, deadline - performance.now()));
      this.queue.push(job);
      this.pump();
    });
  }

  private spawn(): Slot {
    const opts = {
      resourceLimits: { maxOldGenerationSizeMb: this.heapMb, stackSizeMb: 4 },
      stdout: false,
      stderr: false,
    };
    const worker = workerUrl.pathname.endsWith('.ts')
      ? new Worker(
          `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => m.register()).then(() => import(${JSON.stringify(workerUrl.href)}))`,
          { eval: true, ...opts },
        )
      : new Worker(workerUrl, opts);
    const slot: Slot = { worker };
    worker.on(
      'message',
      (m: {
        ready?: true;
        id?: number;
        ok?: boolean;
        prepared?: PreparedModule;
        code?: string;
        message?: string;
      }) => {
        if (m.ready) return;
        const job = slot.job;
        if (!job || job.id !== m.id) return;
        this.done(slot, job);
        if (m.ok) job.resolve(m.prepared!);
        else job.reject(EngineError.fromWire(m, 'preparation failed'));
        this.pump();
      },
    );
    const gone = (why: string) => {
      const i = this.slots.indexOf(slot);
      if (i < 0) return;
      this.slots.splice(i, 1);
      const job = slot.job;
      if (job) {
        this.done(slot, job);
        job.reject(
          /out of memory|ERR_WORKER_OUT_OF_MEMORY/i.test(why)
            ? new EngineError(
                'MEMORY_LIMIT',
                `preparing the module exceeded the ${this.heapMb} MiB preparation heap`,
              )
            : new EngineError('INTERNAL', `module preparation failed: ${why}`),
        );
      }
      this.pump();
    };
    worker.on('error', (e) => gone(String((e as { code?: string }).code ?? e?.message ?? e)));
    worker.on('exit', (code) => gone(`exit ${code}`));
    this.slots.push(slot);
    return slot;
  }

  private done(slot: Slot, job: Job): void {
    clearTimeout(job.timer);
    slot.job = undefined;
    job.slot = undefined;
    slot.worker.unref();
  }

  private pump(): void {
    while (this.queue.length > 0 && !this.closed) {
      let slot = this.slots.find((s) => !s.job);
      if (!slot) {
        if (this.slots.length >= this.size) return;
        slot = this.spawn();
      }
      const job = this.queue.shift()!;
      slot.job = job;
      job.slot = slot;
      slot.worker.ref();
      slot.worker.postMessage({ id: job.id, input: job.input });
    }
  }

  /** Deadline: a queued job leaves the queue; a running one's thread is terminated (awaited). */
  private expire(job: Job): void {
    const qi = this.queue.indexOf(job);
    if (qi >= 0) {
      this.queue.splice(qi, 1);
      job.resolve('timeout');
      return;
    }
    const slot = job.slot;
    if (!slot) return;
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    slot.job = undefined;
    slot.worker.removeAllListeners();
    slot.worker.on('error', () => {});
    void slot.worker.terminate().finally(() => {
      job.resolve('timeout');
      this.pump();
    });
  }

  close(): void {
    this.closed = true;
    for (const j of this.queue.splice(0)) {
      clearTimeout(j.timer);
      j.reject(new EngineError('ENGINE_UNAVAILABLE', 'engine is closed'));
    }
    for (const s of this.slots.splice(0)) {
      if (s.job) {
        clearTimeout(s.job.timer);
        s.job.reject(new EngineError('ENGINE_UNAVAILABLE', 'engine is closed'));
      }
      s.worker.removeAllListeners();
      s.worker.on('error', () => {});
      void s.worker.terminate();
    }
  }
}

/** Bytes copied per turn of the event loop by toShared (about 0.1-0.3 ms of memcpy). */
export const SHARED_COPY_SLICE = 1 << 20;

/**
 * A copy of `bytes` in a SharedArrayBuffer, made SHARED_COPY_SLICE bytes per macrotask so that no single
 * turn of the event loop copies a whole large module; 'timeout' if the deadline passes meanwhile.
 */
export async function toShared(
  bytes: Uint8Array,
  deadline = Number.POSITIVE_INFINITY,
): Promise<Uint8Array | 'timeout'> {
  const out = new Uint8Array(new SharedArrayBuffer(bytes.length));
  for (let off = 0; off < bytes.length; off += SHARED_COPY_SLICE) {
    if (off > 0) {
      await new Promise<void>((r) => setImmediate(r));
      if (performance.now() >= deadline) return 'timeout';
    }
    out.set(bytes.subarray(off, Math.min(bytes.length, off + SHARED_COPY_SLICE)), off);
  }
  return out;
}
