/**
 * Executor process: one per execution mode, started by the Engine with that mode's V8 flags.
 * Compiles modules (LRU cache by bytes, keyed by the SHA-256 of the instrumented bytecode), keeps a pool
 * of worker threads that share the compiled WasmModuleObject, enforces the wall-clock deadline by
 * terminating the worker, relays host calls to the parent. Internal to the engine.
 */
import { availableParallelism } from 'node:os';
import { serialize } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { siblingModule } from '../util/runtime.ts';
import {
  type ExecutorToParent,
  type ExecutorToWorker,
  HOST_DATA_BYTES,
  HOST_STATE_ERROR,
  HOST_STATE_OK,
  type Job,
  type JobResult,
  type ParentToExecutor,
  type WorkerToExecutor,
} from './protocol.ts';
import { WA, type WasmModuleObject } from './wasm-api.ts';

const send = (m: ExecutorToParent) => process.send?.(m);

const workerCount = Math.max(
  1,
  Number(process.env.WASMVM_ENGINE_WORKERS) || Math.min(4, availableParallelism()),
);
const cacheLimit = Math.max(0, Number(process.env.WASMVM_ENGINE_CACHE_BYTES) || 256 * 1024 * 1024);
const heapMb = Math.max(16, Number(process.env.WASMVM_ENGINE_WORKER_HEAP_MB) || 128);

// ---- compile cache (LRU by bytes; a Map iterates in insertion order) ----
const cache = new Map<string, { module: WasmModuleObject; size: number }>();
let cacheBytes = 0;
const compiling = new Map<string, Promise<WasmModuleObject>>();

function cacheGet(key: string): WasmModuleObject | undefined {
  const e = cache.get(key);
  if (!e) return undefined;
  cache.delete(key);
  cache.set(key, e);
  return e.module;
}

function cachePut(key: string, module: WasmModuleObject, size: number): void {
  if (size > cacheLimit) return;
  cache.set(key, { module, size });
  cacheBytes += size;
  for (const [k, e] of cache) {
    if (cacheBytes <= cacheLimit) break;
    cache.delete(k);
    cacheBytes -= e.size;
  }
}

// ---- worker pool ----
interface Task {
  id: number;
  module: WasmModuleObject;
  job: Job;
  cacheHit: boolean;
  slot?: Slot;
  timer?: NodeJS.Timeout;
  pendingHost?: Uint8Array;
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
}

const slots: Slot[] = [];
const queue: Task[] = [];
const tasks = new Map<number, Task>();
const cancelled = new Set<number>();
const workerUrl = siblingModule(import.meta.url, 'worker');
const workerOptions = {
  execArgv: [] as string[],
  resourceLimits: { maxOldGenerationSizeMb: heapMb, stackSizeMb: 4 },
  stdout: false,
  stderr: false,
};

function spawn(): Slot {
  const worker = workerUrl.pathname.endsWith('.ts')
    ? // Node 20 workers ignore `--import tsx` for their entry module: register tsx first, then import it.
      new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => m.register()).then(() => import(${JSON.stringify(workerUrl.href)}))`,
        { eval: true, ...workerOptions },
      )
    : new Worker(workerUrl, workerOptions);
  const slot: Slot = {
    worker,
    ready: false,
    ctrl: new SharedArrayBuffer(16),
    data: new SharedArrayBuffer(HOST_DATA_BYTES),
  };
  worker.on('message', (m: WorkerToExecutor) => onWorkerMessage(slot, m));
  worker.on('error', (e) => onWorkerGone(slot, `worker error: ${e?.message ?? e}`));
  worker.on('exit', (code) => onWorkerGone(slot, `worker exited with code ${code}`));
  slots.push(slot);
  return slot;
}

function replace(slot: Slot): void {
  const i = slots.indexOf(slot);
  if (i >= 0) slots.splice(i, 1);
  slot.worker.removeAllListeners();
  slot.worker.on('error', () => {});
  void slot.worker.terminate();
  spawn();
}

function finish(task: Task, result: JobResult | { code: string; message: string }): void {
  if (!tasks.delete(task.id)) return;
  if (task.timer) clearTimeout(task.timer);
  if (task.slot) task.slot.task = undefined;
  if ('status' in result) {
    send({
      type: 'result',
      id: task.id,
      result,
      cacheHit: task.cacheHit,
      cacheEntries: cache.size,
      cacheBytes,
    });
  } else send({ type: 'error', id: task.id, code: result.code, message: result.message });
}

function onWorkerGone(slot: Slot, why: string): void {
  if (!slots.includes(slot)) return;
  const task = slot.task;
  replace(slot);
  if (task) {
    if (/ERR_WORKER_OUT_OF_MEMORY|out of memory/i.test(why)) {
      finish(task, {
        status: 'memory_limit',
        outputs: [],
        message: 'worker heap limit reached',
        durationMs: 0,
      });
    } else finish(task, { code: 'INTERNAL', message: why });
  }
  pump();
}

function onWorkerMessage(slot: Slot, m: WorkerToExecutor): void {
  if (m.type === 'ready') {
    slot.ready = true;
    pump();
    return;
  }
  const task = slot.task;
  if (!task) return;
  switch (m.type) {
    case 'done':
      finish(task, m.result);
      pump();
      return;
    case 'error':
      finish(task, { code: m.code, message: m.message });
      pump();
      return;
    case 'host':
      send({ type: 'host', id: task.id, callId: task.nextCallId++, method: m.method, params: m.params });
      return;
    case 'host-more':
      writeChunk(task);
      return;
  }
}

function writeChunk(task: Task): void {
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

function pump(): void {
  while (queue.length > 0) {
    const slot = slots.find((s) => s.ready && !s.task);
    if (!slot) {
      if (slots.length < workerCount) spawn();
      return;
    }
    const task = queue.shift()!;
    slot.task = task;
    task.slot = slot;
    const msg: ExecutorToWorker = {
      type: 'run',
      module: task.module,
      job: task.job,
      ctrl: slot.ctrl,
      data: slot.data,
    };
    try {
      slot.worker.postMessage(msg);
    } catch (e) {
      finish(task, {
        code: 'INVALID_ARGUMENT',
        message: `request cannot be passed to a worker: ${(e as Error).message}`,
      });
    }
  }
  while (slots.length < Math.min(workerCount, 1)) spawn();
}

async function compile(key: string, bytes: Uint8Array): Promise<WasmModuleObject> {
  const inflight = compiling.get(key);
  if (inflight) return inflight;
  const p = WA.compile(bytes);
  compiling.set(key, p);
  p.then(
    (m) => {
      compiling.delete(key);
      cachePut(key, m, bytes.length);
    },
    () => compiling.delete(key),
  );
  return p;
}

async function onExec(m: Extract<ParentToExecutor, { type: 'exec' }>): Promise<void> {
  let module = cacheGet(m.key);
  const cacheHit = module !== undefined;
  if (!module) {
    if (!m.bytes) {
      const inflight = compiling.get(m.key);
      if (!inflight) {
        send({ type: 'need-bytes', id: m.id });
        return;
      }
      module = await inflight.catch(() => undefined);
      if (!module) {
        send({ type: 'need-bytes', id: m.id });
        return;
      }
    } else {
      try {
        module = await compile(m.key, m.bytes);
      } catch (e) {
        send({
          type: 'error',
          id: m.id,
          code: 'INVALID_BYTECODE',
          message: `compile failed: ${(e as Error).message}`,
        });
        return;
      }
    }
  }
  const task: Task = { id: m.id, module, job: m.job, cacheHit, nextCallId: 0 };
  if (tasks.has(m.id) || cancelled.delete(m.id)) return;
  tasks.set(m.id, task);
  // The deadline runs from here (after compilation): time spent queued for a free worker counts.
  task.timer = setTimeout(() => {
    const qi = queue.indexOf(task);
    if (qi >= 0) queue.splice(qi, 1);
    if (task.slot) replace(task.slot);
    finish(task, {
      status: 'deadline_exceeded',
      outputs: [],
      message: `deadline of ${task.job.timeoutMs} ms exceeded`,
      durationMs: task.job.timeoutMs,
    });
    pump();
  }, task.job.timeoutMs);
  queue.push(task);
  pump();
}

process.on('message', (m: ParentToExecutor) => {
  switch (m.type) {
    case 'exec':
      void onExec(m);
      return;
    case 'cancel': {
      const task = tasks.get(m.id);
      if (!task) {
        cancelled.add(m.id);
        if (cancelled.size > 10_000) cancelled.clear();
        return;
      }
      const qi = queue.indexOf(task);
      if (qi >= 0) queue.splice(qi, 1);
      if (task.slot) replace(task.slot);
      finish(task, { status: 'cancelled', outputs: [], message: 'cancelled', durationMs: 0 });
      pump();
      return;
    }
    case 'host-reply': {
      const task = tasks.get(m.id);
      if (!task?.slot) return;
      let bytes: Uint8Array;
      try {
        bytes = serialize(m.ok ? m.value : (m.error ?? 'error'));
      } catch (e) {
        m.ok = false;
        bytes = serialize(`host result not serializable: ${(e as Error).message}`);
      }
      task.pendingHost = bytes;
      task.pendingState = m.ok ? HOST_STATE_OK : HOST_STATE_ERROR;
      task.hostSent = 0;
      writeChunk(task);
      return;
    }
    case 'shutdown':
      for (const s of slots) void s.worker.terminate();
      process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));

// Ready once the first worker has loaded (so a warmed-up executor runs its first request at once).
const first = spawn();
const announce = () =>
  send({ type: 'ready', pid: process.pid, execArgv: process.execArgv, v8: process.versions.v8 });
first.worker.once('message', announce);
first.worker.once('exit', announce);
