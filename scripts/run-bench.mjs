#!/usr/bin/env node
// `npm run bench [-- [--quick] [NAME ...]]`: runs every benchmark under bench/ (bench/<name>/index.ts,
// through tsx), one after another so they do not disturb each other, and prints a summary. Each bench
// prints its own medians and ratios. --quick asks each for a short run (a smoke test of the bench, not
// a measurement): the flags it takes for that are below. NAME limits the run to those benches. Each bench
// also writes bench/results/<name>.json (its figures) and bench/results/<name>.svg (a bar chart of them).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`Usage: npm run bench [-- [--quick] [NAME ...]]\n\nBenches: ${list().join(', ')}`);
  process.exit(0);
}
const quick = args.includes('--quick');
const names = args.filter((a) => !a.startsWith('-'));

/** Short-run flags of the benches that do not take --quick themselves. */
const QUICK_FLAGS = {
  service: ['--seconds', '0.5', '--rounds', '1', '--concurrency', '1,8'],
};

function list() {
  return readdirSync(join(root, 'bench'))
    .filter((n) => existsSync(join(root, 'bench', n, 'index.ts')))
    .sort();
}

const all = list();
for (const n of names) {
  if (!all.includes(n)) {
    console.error(`run-bench: no bench '${n}' (have: ${all.join(', ')})`);
    process.exit(2);
  }
}
const results = [];
for (const name of names.length ? names : all) {
  const file = join(root, 'bench', name, 'index.ts');
  const src = readFileSync(file, 'utf8');
  const extra = !quick ? [] : (QUICK_FLAGS[name] ?? (src.includes("'--quick'") ? ['--quick'] : []));
  console.log(`\n=== bench/${name} ${extra.join(' ')}`.trimEnd());
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', file, ...extra], { cwd: root, stdio: 'inherit' });
  results.push({ name, status: r.status ?? (r.signal ? 128 : 1), s: (performance.now() - t0) / 1000 });
}
console.log('\n=== summary');
for (const r of results)
  console.log(
    `  ${r.name.padEnd(10)} ${r.status === 0 ? 'ok    ' : `FAILED (exit ${r.status})`} ${r.s.toFixed(1)} s`,
  );
process.exit(results.every((r) => r.status === 0) ? 0 : 1);
