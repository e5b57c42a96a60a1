#!/usr/bin/env node
// Runs every *.test.ts under the given folder with node's own test runner (tsx as the loader).
// Node 20's `--test` takes no globs, so the files are listed here. Extra args go to `node --test`.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const [dir = 'test', ...rest] = process.argv.slice(2);
const filter = process.env.TEST_FILTER;

function walk(d) {
  const out = [];
  for (const name of readdirSync(d).sort()) {
    const p = join(d, name);
    if (name === 'node_modules' || name === 'data' || name === 'fixtures') continue;
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts') && (!filter || p.includes(filter))) out.push(p);
  }
  return out;
}

const files = walk(dir);
if (files.length === 0) {
  console.error(`no test files under ${dir}`);
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? (process.env.CI ? '2' : '3');
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...rest, ...files],
  // bin/wasmvm-tee.js runs dist/ unless told to run the sources: tests test the sources beside them.
  {
    stdio: 'inherit',
    env: { ...process.env, WASMVM_TEE_FROM_SOURCE: process.env.WASMVM_TEE_FROM_SOURCE ?? '1' },
  },
);
process.exit(r.status ?? 1);
