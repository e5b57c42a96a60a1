/**
 * Worker-thread pool of one execution mode: compile cache (LRU by bytes, keyed by the SHA-256 of the
 * instrumented bytecode), worker threads that share the compiled WebAssembly.Module, the wall-clock deadline
 * (the worker is terminated and replaced), cancellation and the synchronous host-call bridge.
 * It runs inside a forked executor process (executor.ts, per-mode V8 flags) or, for the mode whose flags
 * are the caller's own, directly in the caller's process (engine.ts). Internal to the engine.
 */
import { serialize } from 'node:v8';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { siblingModule } from '../util/runtime.ts';
import {
  HOST_DATA_BYTES,
  HOST_STATE_ERROR,
  HOST_STATE_OK,
  type Job,
  type JobResult,
  MAILBOX_BYTES,
  MB_DATA,
  MB_ERROR,
  MB_JOB,
  MB_KIND,
  MB_REQ,
  MB_RES,
  REQ_JOB_POSTED,
  REQ_MODULE,
  type RequestExtras,
  readResult,
  WIRE_OVERFLOW,
  WireReader,
  WireWriter,
  type WorkerToExecutor,
  writeJob,
} from './protocol.ts';

export interface PoolOptions {
  workers: number;
  cacheBytes: number;
  heapMb: number;
}

/** Where a pool's answers go (IPC to the Engine, or the Engine itself when in-process). */
export interface PoolEvents {
  result(id: number, result: JobResult, cacheHit: boolean): void;
  error(id: number, code: string, message: string): void;
  host(id: number, callId: number, method: string, params: unknown): void;
  /** The module of `exec(id, key)` is not cached: send it again with its bytes. */
  needBytes(id: number): void;
}

/** Compiled modules a worker keeps by key, so a module is posted to a worker once, not per execution. */
const WORKER_MODULES = 16;

interface Task {
  id: number;
  key: string;
  module: WebAssembly.Module;
  job: Job;
  cacheHit: boolean;
  slot?: Slot;
  /** The mailbox sequence number of its request (the answer carries it back). */
  seq?: number;
  /** When it started (request's arrival) and its deadline, performance.now() ms. */
  t0: number;
  deadline: number;
  pendingHost?: Uint8Array;
  stopping?: boolean;
  pendingState?: number;
  hostSent?: number;
  nextCallId: number;
}

interface Slot {
  worker: Worker;
  task?: Task;
  ready: boolean;
  ctrl: SharedArrayBuffer;
  data: SharedArrayBuffer;
  /** The worker's mailbox (protocol.ts, MB_*): requests in, answers out, as raw words. */
  mb: Int32Array;
  box: Uint8Array;
  writer: WireWriter;
  /** Requests written so far (MB_REQ). */
  seq: number;
  /** Where a module, or a job too large for the mailbox, goes with a request. */
  side: MessagePort;
  /** Ids of the modules this worker holds (mirrors the worker's map; LRU order). */
  modules: Map<number, true>;
}

const workerUrl = siblingModule(import.meta.url, 'worker');

/** Atomics.waitAsync (Node 16+; not in this project's TypeScript lib yet). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      a: Int32Array,
      index: number,
      value: number,
    ): { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<string> };
  }
).waitAsync;

export class Pool {
  private readonly cache = new Map<string, { module: WebAssembly.Module; size: number }>();
  private cacheSize = 0;
  private readonly compiling = new Map<string, Promise<WebAssembly.Module>>();
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private readonly tasks = new Map<number, Task>();
  private readonly cancelled = new Set<number>();
  private closed = false;
  /** Module ids by cache key (never reused: a worker may still hold an id after its key is forgotten). */
  private readonly moduleIds = new Map<string, number>();
  private nextModuleId = 1;
  /** Rung by every worker after it answers in its mailbox; the pool waits on it with Atomics.waitAsync. */
  private readonly bell = new SharedArrayBuffer(4);
  private readonly bellWord = new Int32Array(this.bell);
  /** Whether an Atomics.waitAsync on the doorbell is pending. */
  private watching = false;
  /** Tasks whose request sits in a mailbox (answers to look for when the doorbell rings). */
  private running = 0;
  /** Whether idle workers may keep the process alive (in-process pools unref them when idle). */
  private referenced = true;
  /** Callers waiting on the pool (start, compilation): they keep it referenced too. */
  private holds = 0;
  /** Resolves when the first worker has loaded. */
  readonly ready: Promise<void>;

  constructor(
    readonly options: PoolOptions,
    private readonly events: PoolEvents,
    private readonly unrefWhenIdle = false,
  ) {
    const first = this.spawn();
    this.ready = new Promise((resolve) => {
      first.worker.once('message', () => resolve());
      first.worker.once('exit', () => resolve());
    });
    // Pre-start the other workers once the first is up: a worker stopped by a deadline or a cancel is then
    // not the only one (its replacement takes a while to load), and no request waits for a cold start.
    void this.ready.then(() => {
      while (!this.closed && this.slots.length < this.options.workers) this.spawn();
      this.updateRef();
    });
    this.updateRef();
  }

  get cacheEntries(): number {
    return this.cache.size;
  }
  get cacheBytes(): number {
    return this.cacheSize;
  }
  get inFlight(): number {
    return this.tasks.size;
  }

  private cacheGet(key: string): WebAssembly.Module | undefined {
    const e = this.cache.get(key);
    if (!e) return undefined;
    this.cache.delete(key);
    this.cache.set(key, e);
    return e.module;
  }

  private cachePut(key: string, module: WebAssembly.Module, size: number): void {
    if (size > this.options.cacheBytes) return;
    this.cache.set(key, { module, size });
    this.cacheSize += size;
    for (const [k, e] of this.cache) {
      if (this.cacheSize <= this.options.cacheBytes) break;
      this.cache.delete(k);
      this.cacheSize -= e.size;
    }
  }

  private spawn(): Slot {
    const ctrl = new SharedArrayBuffer(16);
    const data = new SharedArrayBuffer(HOST_DATA_BYTES);
    const box = new SharedArrayBuffer(MAILBOX_BYTES);
    const { port1, port2 } = new MessageChannel();
    const workerOptions = {
      execArgv: [] as string[],
      resourceLimits: { maxOldGenerationSizeMb: this.options.heapMb, stackSizeMb: 4 },
      stdout: false,
      stderr: false,
      workerData: { ctrl, data, box, bell: this.bell, side: port2 },
      transferList: [port2],
    };
    const worker = workerUrl.pathname.endsWith('.ts')
      ? // Node 20 workers ignore `--import tsx` for their entry module: register tsx first, then import it.
        new Worker(
          `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => m.register()).then(() => import(${JSON.stringify(workerUrl.href)}))`,
          { eval: true, ...workerOptions },
        )
      : new Worker(workerUrl, workerOptions);
    const boxBytes = new Uint8Array(box);
    const slot: Slot = {
      worker,
      ready: false,
      ctrl,
      data,
      mb: new Int32Array(box),
      box: boxBytes,
      writer: new WireWriter(boxBytes, true),
      seq: 0,
      side: port1,
      modules: new Map(),
    };
    worker.on('message', (m: WorkerToExecutor) => this.onWorkerMessage(slot, m));
    worker.on('error', (e) => this.onWorkerGone(slot, `worker error: ${e?.message ?? e}`));
    worker.on('exit', (code) => this.onWorkerGone(slot, `worker exited with code ${code}`));
    if (this.unrefWhenIdle && !this.referenced) worker.unref();
    this.slots.push(slot);
    return slot;
  }

  /** Keep the pool referenced while awaiting something of it (+1 / -1). */
  hold(delta: 1 | -1): void {
    this.holds += delta;
    this.updateRef();
  }

  /** In-process pools: workers keep the caller's process alive only while executions are in flight. */
  private updateRef(): void {
    if (!this.unrefWhenIdle) return;
    const want = this.tasks.size > 0 || this.queue.length > 0 || this.holds > 0;
    if (want === this.referenced) return;
    this.referenced = want;
    for (const s of this.slots) {
      if (want) s.worker.ref();
      else s.worker.unref();
    }
  }

  /** Terminate a slot's worker and start another; resolves when the old worker has stopped. */
  private replace(slot: Slot): Promise<unknown> {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    slot.worker.removeAllListeners();
    slot.worker.on('error', () => {});
    if (slot.task?.seq !== undefined) {
      this.running--;
      slot.task.seq = undefined;
    }
    slot.side.close();
    const stopped = slot.worker.terminate().catch(() => undefined);
    if (!this.closed) this.spawn();
    return stopped;
  }

  /**
   * Stop a task (deadline or cancel) and answer it once its worker has really stopped (terminate()
   * resolved): the caller's concurrency slot is then free for work that is not still running. A worker
   * that cannot be stopped (V8 in uninterruptible compilation / instantiation) is the supervisor's to kill.
   */
  private stop(task: Task, result: JobResult): void {
    if (task.stopping) return;
    task.stopping = true;
    const qi = this.queue.indexOf(task);
    if (qi >= 0) this.queue.splice(qi, 1);
    const slot = task.slot;
    const stopped = slot ? this.replace(slot) : Promise.resolve();
    if (slot) slot.task = undefined;
    void stopped.then(() => {
      this.finish(task, result);
      this.pump();
    });
    this.pump();
  }

  private finish(task: Task, result: JobResult | { code: string; message: string }): void {
    if (!this.tasks.delete(task.id)) return;
    if (task.slot && task.slot.task === task) {
      task.slot.task = undefined;
      if (task.seq !== undefined) this.running--;
    }
    task.seq = undefined;
    if ('status' in result) this.events.result(task.id, result, task.cacheHit);
    else this.events.error(task.id, result.code, result.message);
  }

  private onWorkerGone(slot: Slot, why: string): void {
    if (!this.slots.includes(slot)) return;
    const task = slot.task;
    this.replace(slot);
    if (task) {
      if (/ERR_WORKER_OUT_OF_MEMORY|out of memory/i.test(why)) {
        this.finish(task, {
          status: 'memory_limit',
          outputs: [],
          message: 'worker heap limit reached',
          durationMs: 0,
        });
      } else this.finish(task, { code: 'INTERNAL', message: why });
    }
    this.pump();
  }

  private onWorkerMessage(slot: Slot, m: WorkerToExecutor): void {
    if (m.type === 'ready') {
      slot.ready = true;
      this.pump();
      return;
    }
    const task = slot.task;
    if (!task) return;
    switch (m.type) {
      case 'done':
        // an answer too large for the mailbox
        this.answer(task, m.kind, new WireReader(m.bytes));
        this.pump();
        return;
      case 'host':
        this.events.host(task.id, task.nextCallId++, m.method, m.params);
        return;
      case 'host-more':
        this.writeChunk(task);
        return;
    }
  }

  /** Finish a task with the answer its worker wrote (mailbox, or posted when too large). */
  private answer(task: Task, kind: number, rd: WireReader): void {
    let answer: JobResult | { code: string; message: string };
    try {
      if (kind === MB_ERROR) {
        const code = rd.str();
        answer = { code, message: rd.str() };
      } else answer = readResult(rd, task.job.results);
    } catch (e) {
      answer = { code: 'INTERNAL', message: `unreadable answer from a worker: ${(e as Error).message}` };
    }
    this.finish(task, answer);
  }

  /** Wait (without blocking the event loop) for the doorbell that workers ring after answering. */
  private watch(): void {
    if (this.watching || this.running === 0) return;
    const seen = Atomics.load(this.bellWord, 0);
    // answers that came before `seen` was read
    if (this.collect() > 0) {
      this.pump();
      if (this.running === 0) return;
    }
    const w = waitAsync(this.bellWord, 0, seen);
    this.watching = true;
    if (w.async) void w.value.then(this.rung);
    else queueMicrotask(this.rung);
  }

  private readonly rung = (): void => {
    this.watching = false;
    if (this.collect() > 0) this.pump();
    this.watch();
  };

  /**
   * One timer for every deadline of the pool, armed for the earliest (a timer per execution costs more
   * than the rest of a cached call's dispatch): when it fires, the tasks past their deadline are stopped
   * and it is armed for the next. Unreferenced: tasks in flight keep the process alive by their workers.
   */
  private deadlineTimer?: NodeJS.Timeout;
  private deadlineAt = Number.POSITIVE_INFINITY;

  private armDeadline(at: number): void {
    if (at >= this.deadlineAt) return;
    clearTimeout(this.deadlineTimer);
    this.deadlineAt = at;
    this.deadlineTimer = setTimeout(this.onDeadline, Math.max(1, Math.ceil(at - performance.now())));
    this.deadlineTimer.unref();
  }

  private readonly onDeadline = (): void => {
    this.deadlineTimer = undefined;
    this.deadlineAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const task of [...this.tasks.values()]) {
      if (task.stopping) continue;
      if (task.deadline <= now) {
        this.stop(task, {
          status: 'deadline_exceeded',
          outputs: [],
          message: `deadline of ${task.job.timeoutMs} ms exceeded`,
          durationMs: now - task.t0,
        });
      } else if (task.deadline < next) next = task.deadline;
    }
    if (next !== Number.POSITIVE_INFINITY && !this.closed) this.armDeadline(next);
  };

  /** Answers waiting in the mailboxes of busy slots: finish their tasks. */
  private collect(): number {
    let n = 0;
    for (const slot of this.slots) {
      const task = slot.task;
      if (task?.seq === undefined || Atomics.load(slot.mb, MB_RES) !== task.seq) continue;
      n++;
      this.answer(task, Atomics.load(slot.mb, MB_KIND), new WireReader(slot.box, MB_DATA));
    }
    return n;
  }

  private writeChunk(task: Task): void {
    const slot = task.slot!;
    const bytes = task.pendingHost!;
    const ctrl = new Int32Array(slot.ctrl);
    const off = task.hostSent ?? 0;
    const n = Math.min(bytes.length - off, slot.data.byteLength);
    new Uint8Array(slot.data).set(bytes.subarray(off, off + n));
    task.hostSent = off + n;
    ctrl[1] = bytes.length;
    ctrl[2] = n;
    ctrl[3] = off;
    Atomics.store(ctrl, 0, task.pendingState!);
    Atomics.notify(ctrl, 0);
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let slot: Slot | undefined;
      for (const s of this.slots) {
        if (s.ready && !s.task) {
          slot = s;
          break;
        }
      }
      if (!slot) {
        if (this.slots.length < this.options.workers && !this.closed) this.spawn();
        break;
      }
      const task = this.queue.shift()!;
      if (!this.post(slot, task)) continue;
    }
    this.watch();
    if (this.slots.length === 0 && !this.closed) this.spawn();
    this.updateRef();
  }

  /**
   * Hand a task to an idle worker: the request goes into its mailbox as raw words (the compiled module,
   * the first time this worker runs it, and a job too large for the mailbox go on its side port), then
   * MB_REQ is bumped and the worker woken. False when the request could not be encoded (answered).
   */
  private post(slot: Slot, task: Task): boolean {
    const job = task.job;
    let id = this.moduleIds.get(task.key);
    if (id === undefined) {
      if (this.moduleIds.size >= 100_000) this.moduleIds.clear();
      id = this.nextModuleId++;
      this.moduleIds.set(task.key, id);
    }
    const w = slot.writer;
    let flags = 0;
    const extras: RequestExtras = {};
    w.pos = MB_JOB;
    try {
      try {
        writeJob(w, job);
      } catch (e) {
        if (e !== WIRE_OVERFLOW) throw e;
        const big = new WireWriter(new Uint8Array(1024));
        writeJob(big, job);
        extras.job = big.buf.slice(0, big.pos);
        flags |= REQ_JOB_POSTED;
      }
    } catch (e) {
      // e.g. a function in hostOptions: nothing was sent, the worker stays as it is
      this.finish(task, {
        code: 'INVALID_ARGUMENT',
        message: `request cannot be passed to a worker: ${(e as Error).message}`,
      });
      return false;
    }
    let evict = 0;
    if (slot.modules.has(id)) {
      slot.modules.delete(id);
      slot.modules.set(id, true);
    } else {
      extras.module = task.module;
      flags |= REQ_MODULE;
      slot.modules.set(id, true);
      if (slot.modules.size > WORKER_MODULES) {
        evict = slot.modules.keys().next().value as number;
        slot.modules.delete(evict);
      }
    }
    if (flags !== 0) slot.side.postMessage(extras);
    const dv = w.dv;
    dv.setUint32(MB_DATA, id, true);
    dv.setUint32(MB_DATA + 4, evict, true);
    dv.setUint8(MB_DATA + 8, flags);
    slot.task = task;
    task.slot = slot;
    task.seq = ++slot.seq;
    this.running++;
    Atomics.store(slot.mb, MB_REQ, task.seq);
    Atomics.notify(slot.mb, MB_REQ);
    return true;
  }

  private compile(key: string, bytes: Uint8Array): Promise<WebAssembly.Module> {
    const inflight = this.compiling.get(key);
    if (inflight) return inflight;
    const p = WebAssembly.compile(bytes);
    this.compiling.set(key, p);
    p.then(
      (m) => {
        this.compiling.delete(key);
        this.cachePut(key, m, bytes.length);
      },
      () => this.compiling.delete(key),
    );
    return p;
  }

  /** Queue one execution; the answer comes through the events (needBytes when `bytes` are required). */
  async exec(id: number, key: string, bytes: Uint8Array | undefined, job: Job): Promise<void> {
    const t0 = performance.now();
    if (this.cache.has(key)) return this.enqueue(id, key, this.cacheGet(key)!, job, true, t0);
    this.hold(1);
    try {
      const module = await this.load(id, key, bytes);
      if (module) this.enqueue(id, key, module, job, false, t0);
    } finally {
      this.hold(-1);
    }
  }

  private async load(
    id: number,
    key: string,
    bytes: Uint8Array | undefined,
  ): Promise<WebAssembly.Module | undefined> {
    let module = this.cacheGet(key);
    if (!module) {
      if (!bytes) {
        const inflight = this.compiling.get(key);
        module = inflight ? await inflight.catch(() => undefined) : undefined;
        if (!module) this.events.needBytes(id);
      } else {
        try {
          module = await this.compile(key, bytes);
        } catch (e) {
          this.events.error(id, 'INVALID_BYTECODE', `compile failed: ${(e as Error).message}`);
        }
      }
    }
    return module;
  }

  private enqueue(
    id: number,
    key: string,
    module: WebAssembly.Module,
    job: Job,
    cacheHit: boolean,
    t0: number,
  ): void {
    if (this.closed || this.tasks.has(id)) return;
    if (this.cancelled.delete(id)) {
      // cancelled while its module compiled: answer now (nothing runs)
      this.events.result(
        id,
        { status: 'cancelled', outputs: [], message: 'cancelled', durationMs: 0 },
        cacheHit,
      );
      return;
    }
    // The deadline runs from the request's arrival: compilation, time queued for a free worker,
    // instantiation and the call all count.
    const task: Task = { id, key, module, job, cacheHit, nextCallId: 0, t0, deadline: t0 + job.timeoutMs };
    this.tasks.set(id, task);
    this.armDeadline(task.deadline);
    this.queue.push(task);
    this.pump();
  }

  /** Stop an execution (queued: dropped; running: its worker is terminated and replaced). */
  cancel(id: number): void {
    const task = this.tasks.get(id);
    if (!task) {
      this.cancelled.add(id);
      if (this.cancelled.size > 10_000) this.cancelled.clear();
      return;
    }
    this.stop(task, { status: 'cancelled', outputs: [], message: 'cancelled', durationMs: 0 });
  }

  /** The host handler's answer to a host call of execution `id`: written into its worker's buffer. */
  hostReply(id: number, ok: boolean, value?: unknown, error?: string): void {
    if (!this.tasks.get(id)?.slot) return;
    let bytes: Uint8Array;
    try {
      bytes = serialize(ok ? value : (error ?? 'error'));
    } catch (e) {
      ok = false;
      bytes = serialize(`host result not serializable: ${(e as Error).message}`);
    }
    this.hostReplyBytes(id, ok, bytes);
  }

  /** hostReply with the answer already v8-serialized (as it comes over the executor channel). */
  hostReplyBytes(id: number, ok: boolean, bytes: Uint8Array): void {
    const task = this.tasks.get(id);
    if (!task?.slot) return;
    task.pendingHost = bytes;
    task.pendingState = ok ? HOST_STATE_OK : HOST_STATE_ERROR;
    task.hostSent = 0;
    this.writeChunk(task);
  }

  /** Terminate every worker; executions in flight are dropped without an answer (the caller fails them). */
  close(): void {
    this.closed = true;
    this.running = 0;
    Atomics.notify(this.bellWord, 0); // release the pending waitAsync
    clearTimeout(this.deadlineTimer);
    this.tasks.clear();
    this.queue.length = 0;
    for (const s of this.slots.splice(0)) {
      s.side.close();
      s.worker.removeAllListeners();
      s.worker.on('error', () => {});
      void s.worker.terminate();
    }
  }
}
