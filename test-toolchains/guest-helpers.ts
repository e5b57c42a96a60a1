/** Shared by the guest toolchain tests: build with the real toolchain into a temp dir, run with wasmvm-tee run. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const bin = join(root, 'bin', 'wasmvm-tee.js');

export function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'guest-build-'));
}

export function sh(cmd: string, args: string[], cwd = root) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 300_000 });
  if (r.error) throw r.error;
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

export function runWasm(wasm: string, extra: string[] = []) {
  return spawnSync(process.execPath, [bin, 'run', wasm, '--allow-simulated', '--no-gpu', ...extra], {
    encoding: 'utf8',
    timeout: 120_000,
  });
}

export const MODEL_LINE = /model: y = 2\.0048 \* x \+ 1\.0083 \(mse 0\.0193\)/;
