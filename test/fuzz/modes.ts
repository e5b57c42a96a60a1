/** Runs a batch of (already instrumented) modules in one child process per V8 tier. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Call, CallOutcome } from './harness.ts';
import { toWire, type WireJob } from './mode-child.ts';

export type Mode = 'interp' | 'singlepass' | 'multipass';
export const MODE_FLAGS: Record<Mode, string[]> = {
  interp: [],
  singlepass: ['--liftoff-only'],
  multipass: ['--no-liftoff'],
};

const CHILD = fileURLToPath(new URL('./mode-child.ts', import.meta.url));

export function runInMode(
  mode: Mode,
  modules: { wasm: Uint8Array; calls: Call[] }[],
): Promise<CallOutcome[][]> {
  const job: WireJob = {
    modules: modules.map((m) => ({
      wasm: Buffer.from(m.wasm).toString('base64'),
      calls: m.calls.map(toWire),
    })),
  };
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...MODE_FLAGS[mode], '--import', 'tsx', CHILD], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => err.push(d));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) reject(new Error(`${mode} child exited ${code}: ${Buffer.concat(err).toString()}`));
      else resolve(JSON.parse(Buffer.concat(out).toString('utf8')) as CallOutcome[][]);
    });
    p.stdin.end(JSON.stringify(job));
  });
}
