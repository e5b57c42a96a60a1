/**
 * `wasmvm-tee inspect`: a module's imports and exports with their signatures (text and --json), and
 * clear input errors (exit 2) on truncated or malformed modules.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { help, listModule } from '../../src/cli/inspect.ts';
import { wat } from '../host/helpers.ts';

const BIN = fileURLToPath(new URL('../../bin/wasmvm-tee.js', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/wasm/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'inspect-'));

function inspect(args: string[]) {
  return spawnSync(process.execPath, [BIN, 'inspect', ...args], { encoding: 'utf8', timeout: 60_000 });
}

const MODULE = `(module
  (import "env" "log" (func (param i32 i64)))
  (import "env" "mem" (memory 1 2))
  (import "env" "base" (global i32))
  (table (export "table") 2 10 funcref)
  (global (export "counter") (mut i64) (i64.const 0))
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "pair") (param f64) (result f32 i64) f32.const 1 i64.const 2)
  (func (export "nothing"))
  (export "memory" (memory 0))
  (export "base" (global 0)))`;

test('text: imports and exports with their signatures', async () => {
  const f = join(dir, 'm.wasm');
  writeFileSync(f, await wat(MODULE));
  const r = inspect([f]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n').map((l) => l.trim());
  for (const want of [
    'func env.log(i32, i64)',
    'memory env.mem 1..2 pages',
    'global env.base: i32',
    'table table funcref 2..10',
    'global counter: mut i64',
    'func add(i32, i32) -> i32',
    'func pair(f64) -> (f32, i64)',
    'func nothing()',
    'memory memory 1..2 pages',
    'global base: i32',
  ])
    assert.ok(lines.includes(want), `missing '${want}' in\n${r.stdout}`);
  assert.match(r.stdout, /3 import\(s\), 7 export\(s\)/);
});

test('--json: the same listing as listModule', async () => {
  const bytes = await wat(MODULE);
  const f = join(dir, 'j.wasm');
  writeFileSync(f, bytes);
  const r = inspect([f, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.deepEqual(j, JSON.parse(JSON.stringify(listModule(bytes))));
  assert.deepEqual(
    j.exports.find((e: { name: string }) => e.name === 'add'),
    { name: 'add', kind: 'func', params: ['i32', 'i32'], results: ['i32'] },
  );
  assert.equal(j.start, false);
});

test('the committed C fixture lists its kernels', () => {
  const r = inspect([fileURLToPath(new URL('../fixtures/c/kernels.wasm', import.meta.url))]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /func fib\(i32\) -> i64/);
});

test('truncated and malformed modules: exit 2, INVALID_BYTECODE with the offset', () => {
  for (const [name, why] of [
    ['truncated.wasm', /INVALID_BYTECODE: .*runs past the end.*at byte offset \d+/],
    ['bad-section.wasm', /INVALID_BYTECODE: malformed section id 99 \(at byte offset 8\)/],
  ] as const) {
    const r = inspect([fixture(name)]);
    assert.equal(r.status, 2, name);
    assert.match(r.stderr, why, name);
    assert.equal(r.stdout, '');
  }
  const notWasm = join(dir, 'not.wasm');
  writeFileSync(notWasm, 'hello, world');
  assert.match(inspect([notWasm]).stderr, /magic header not detected/);
});

test('usage: no module, a missing file, an unknown option → exit 2; --help', () => {
  assert.equal(inspect([]).status, 2);
  const missing = inspect([join(dir, 'nope.wasm')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot read .*nope\.wasm/);
  assert.match(inspect(['x.wasm', '--bogus']).stderr, /unknown option '--bogus'/);
  const h = inspect(['--help']);
  assert.equal(h.status, 0);
  assert.equal(h.stdout.trimEnd(), help.trimEnd());
});
