#!/usr/bin/env node
// Entry point of the `wasmvm-tee` command. It runs the compiled JavaScript in dist/ (built by
// `npm run build`, which `npm install` runs through `prepare`; the published package ships dist/ only).
// In a source checkout, WASMVM_TEE_FROM_SOURCE=1 runs src/ through tsx instead (a dev dependency):
// the test runner sets it so tests exercise the sources they sit next to.
import { existsSync } from 'node:fs';

const dist = new URL('../dist/cli/main.js', import.meta.url);
const src = new URL('../src/cli/main.ts', import.meta.url);

if (process.env.WASMVM_TEE_FROM_SOURCE === '1' && existsSync(src)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(src.href);
} else if (existsSync(dist)) {
  await import(dist.href);
} else {
  process.stderr.write(
    `wasmvm-tee: ${dist.pathname} is missing: this checkout is not built. Run 'npm run build' (or 'npm install').\n`,
  );
  process.exitCode = 1;
}
