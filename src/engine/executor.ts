/**
 * Executor process: one per execution mode, started by the Engine with that mode's V8 flags. Runs a worker
 * pool (pool.ts) and talks to the Engine in binary frames over a Unix-domain socketpair (fd 4; protocol.ts,
 * F_*); the IPC channel only carries the start handshake and 'shutdown'. Internal.
 */
import { Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { serialize } from 'node:v8';
import { Pool } from './pool.ts';
import {
  F_CANCEL,
  F_ERROR,
  F_EXEC,
  F_HOST,
  F_HOST_REPLY,
  F_NEED_BYTES,
  F_RESULT,
  FrameDecoder,
  FrameWriter,
  readJob,
  type WireReader,
  writeResult,
} from './protocol.ts';

const channel = new Socket({ fd: 4, readable: true, writable: true });

// Frames produced in one event-loop turn go to the parent in one write.
const out = new FrameWriter();
let flushing = false;
const flush = () => {
  flushing = false;
  if (!out.empty) channel.write(out.take());
};
const queued = () => {
  if (flushing) return;
  flushing = true;
  queueMicrotask(flush);
};

const pool = new Pool(
  {
    workers: Math.max(1, Number(process.env.WASMVM_ENGINE_WORKERS) || Math.min(4, availableParallelism())),
    cacheBytes: Math.max(0, Number(process.env.WASMVM_ENGINE_CACHE_BYTES) || 256 * 1024 * 1024),
    heapMb: Math.max(16, Number(process.env.WASMVM_ENGINE_WORKER_HEAP_MB) || 128),
  },
  {
    result: (id, result, cacheHit) => {
      const w = out.begin(F_RESULT);
      w.u32(id);
      w.u8(cacheHit ? 1 : 0);
      w.f64(pool.cacheEntries);
      w.f64(pool.cacheBytes);
      writeResult(w, result);
      out.end();
      queued();
    },
    error: (id, code, message) => {
      const w = out.begin(F_ERROR);
      w.u32(id);
      w.str(code);
      w.str(message);
      out.end();
      queued();
    },
    host: (id, _callId, method, params) => {
      const w = out.begin(F_HOST);
      w.u32(id);
      w.str(method);
      // params came from the worker by structured clone: they serialize
      w.bytes(serialize(params));
      out.end();
      queued();
    },
    needBytes: (id) => {
      out.begin(F_NEED_BYTES).u32(id);
      out.end();
      queued();
    },
  },
);

function onFrame(type: number, rd: WireReader): void {
  switch (type) {
    case F_EXEC: {
      const id = rd.u32();
      const timeoutMs = rd.f64();
      const key = rd.str();
      const hasBytes = rd.u8() === 1;
      const job = readJob(rd, timeoutMs);
      const bytes = hasBytes ? rd.bytes() : undefined;
      void pool.exec(id, key, bytes, job);
      return;
    }
    case F_CANCEL:
      pool.cancel(rd.u32());
      return;
    case F_HOST_REPLY: {
      const id = rd.u32();
      const ok = rd.u8() === 1;
      pool.hostReplyBytes(id, ok, rd.bytes());
      return;
    }
  }
}
const decoder = new FrameDecoder((type, rd) => {
  try {
    onFrame(type, rd);
  } catch {
    // an unreadable frame: the stream cannot be trusted; the supervisor fails what is in flight
    process.exit(70);
  }
});
channel.on('data', (chunk: Buffer) => decoder.push(chunk));
channel.on('error', () => process.exit(0));

process.on('message', (m: { type: string }) => {
  if (m.type === 'shutdown') {
    pool.close();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));

// Ready once the first worker has loaded (so a warmed-up executor runs its first request at once).
void pool.ready.then(() =>
  process.send?.({ type: 'ready', pid: process.pid, execArgv: process.execArgv, v8: process.versions.v8 }),
);
