/**
 * Worker thread that prepares modules (prepare.ts) off the Engine's event loop. One job at a time;
 * the Engine terminates the thread when a job's deadline passes. Internal to the engine.
 */
import { parentPort } from 'node:worker_threads';
import { type PrepareInput, prepareModule } from './prepare.ts';

parentPort?.on('message', (m: { id: number; input: PrepareInput }) => {
  try {
    const p = prepareModule(m.input);
    parentPort?.postMessage({ id: m.id, ok: true, prepared: p });
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
