/**
 * Executor process: one per execution mode whose V8 flags differ from the caller's, started by the Engine
 * with that mode's flags. Runs a worker pool (pool.ts) and relays its messages over IPC. Internal.
 */
import { availableParallelism } from 'node:os';
import { Pool } from './pool.ts';
import type { ExecutorToParent, ParentToExecutor } from './protocol.ts';

// Messages produced in one event-loop turn go to the parent as one IPC message.
let outbox: ExecutorToParent[] = [];
const flush = () => {
  const batch = outbox;
  outbox = [];
  process.send?.(batch.length === 1 ? batch[0] : { type: 'batch', messages: batch });
};
const send = (m: ExecutorToParent) => {
  outbox.push(m);
  if (outbox.length === 1) setImmediate(flush);
};

const pool = new Pool(
  {
    workers: Math.max(1, Number(process.env.WASMVM_ENGINE_WORKERS) || Math.min(4, availableParallelism())),
    cacheBytes: Math.max(0, Number(process.env.WASMVM_ENGINE_CACHE_BYTES) || 256 * 1024 * 1024),
    heapMb: Math.max(16, Number(process.env.WASMVM_ENGINE_WORKER_HEAP_MB) || 128),
  },
  {
    result: (id, result, cacheHit) =>
      send({
        type: 'result',
        id,
        result,
        cacheHit,
        cacheEntries: pool.cacheEntries,
        cacheBytes: pool.cacheBytes,
      }),
    error: (id, code, message) => send({ type: 'error', id, code, message }),
    host: (id, callId, method, params) => send({ type: 'host', id, callId, method, params }),
    needBytes: (id) => send({ type: 'need-bytes', id }),
  },
);

function onMessage(m: ParentToExecutor): void {
  switch (m.type) {
    case 'batch':
      for (const x of m.messages) onMessage(x);
      return;
    case 'exec':
      void pool.exec(m.id, m.key, m.bytes, m.job);
      return;
    case 'cancel':
      pool.cancel(m.id);
      return;
    case 'host-reply':
      pool.hostReply(m.id, m.ok, m.value, m.error);
      return;
    case 'shutdown':
      pool.close();
      process.exit(0);
  }
}
process.on('message', onMessage);
process.on('disconnect', () => process.exit(0));

// Ready once the first worker has loaded (so a warmed-up executor runs its first request at once).
void pool.ready.then(() =>
  process.send?.({ type: 'ready', pid: process.pid, execArgv: process.execArgv, v8: process.versions.v8 }),
);
