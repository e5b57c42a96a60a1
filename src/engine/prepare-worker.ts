/**
 * Worker thread that prepares modules (prepare.ts) off the Engine's event loop. One job at a time;
 * the Engine terminates the thread when a job's deadline passes. Internal to the engine.
 */
import { parentPort } from 'node:worker_threads';
import { type PrepareInput, prepareModule } from './prepare.ts';

parentPort?.on('message', (m: { id: number; input: PrepareInput }) => {
  try {
    // the module arrives in shared memory (prepare-pool.ts toShared): a private copy, so that what is
    // validated, hashed and instrumented cannot change underneath, and WebAssembly gets a plain buffer
    const bytes = m.input.bytes.buffer instanceof SharedArrayBuffer ? m.input.bytes.slice() : m.input.bytes;
    const p = prepareModule({ ...m.input, bytes });
    // the result goes back by transfer, not by clone: a clone of a large module is deserialised on the
    // server's event loop (tens of ms for 16 MiB); a transfer hands the buffer over without touching it
    const out = owns(p.bytes) ? p.bytes : p.bytes.slice();
    parentPort?.postMessage({ id: m.id, ok: true, prepared: { ...p, bytes: out } }, [
      out.buffer as ArrayBuffer,
    ]);
  } catch (e) {
    const err = e as { code?: unknown; message?: unknown };
    parentPort?.postMessage({
      id: m.id,
      ok: false,
      code: typeof err.code === 'string' ? err.code : 'INTERNAL',
      message: typeof err.message === 'string' ? err.message : String(e),
    });
  }
});
parentPort?.postMessage({ ready: true });

/** The view covers its whole (non-shared) buffer, so transferring the buffer hands over exactly it. */
function owns(b: Uint8Array): boolean {
  return (
    !(b.buffer instanceof SharedArrayBuffer) && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength
  );
}
