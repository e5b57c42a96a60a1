/**
 * In-process guest harness for host-room tests: runs a module's _start in a worker thread with the host
 * modules, answering bridge calls with a real (async) HostHandler over SharedArrayBuffer + Atomics,
 * the same shape as the engine's bridge. Lets the host room test guests independently of the engine.
 */
import { Worker } from 'node:worker_threads';
import type { HostHandler } from '../../src/host/index.ts';

export interface GuestRun {
  status: string;
  code?: number;
  message?: string;
  stdout: string;
  stderr: string;
}

export function runGuest(
  bytes: Uint8Array,
  handler: HostHandler,
  options: Record<string, unknown> = {},
  names: readonly string[] = ['wasi_snapshot_preview1', 'wasmtime_attestation'],
): Promise<GuestRun> {
  const url = new URL('./guest-worker-boot.mjs', import.meta.url);
  const ctrl = new SharedArrayBuffer(8);
  const data = new SharedArrayBuffer(4 << 20);
  const c = new Int32Array(ctrl);
  const w = new Worker(url, {
    workerData: { bytes, names, options, ctrl, data },
  });
  return new Promise((resolve, reject) => {
    w.on('error', reject);
    w.on('message', (m: Record<string, unknown>) => {
      if (m.type === 'host') {
        const reply = (state: number, text: string) => {
          const b = new TextEncoder().encode(text);
          new Uint8Array(data).set(b);
          Atomics.store(c, 1, b.length);
          Atomics.store(c, 0, state);
          Atomics.notify(c, 0);
        };
        handler(String(m.method), m.params).then(
          (v) => reply(1, JSON.stringify(v ?? null)),
          (e: unknown) => reply(2, String((e as Error).message ?? e)),
        );
      } else if (m.type === 'done') {
        const dec = new TextDecoder();
        resolve({
          status: String(m.status),
          ...(m.code !== undefined ? { code: m.code as number } : {}),
          ...(m.message !== undefined ? { message: String(m.message) } : {}),
          stdout: dec.decode(m.stdout as Uint8Array),
          stderr: dec.decode(m.stderr as Uint8Array),
        });
        void w.terminate();
      }
    });
  });
}
