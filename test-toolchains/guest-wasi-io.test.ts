/** Real wasi-libc and Rust std programs doing file I/O through the WASI subset and its sandbox. */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { bin, root, sh, tmp } from './guest-helpers.ts';

function setup() {
  const dir = tmp();
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'in.txt'), 'hello data');
  return dir;
}

function run(wasm: string, args: string[]) {
  return spawnSync(process.execPath, [bin, 'run', wasm, '--no-gpu', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

test('wasi-libc: stdio files, mkdir, opendir/readdir, stat, rename, unlink, rmdir; escapes refused', () => {
  const dir = setup();
  const wasm = join(dir, 'fio.wasm');
  sh('clang', [
    '--target=wasm32-wasi',
    '-O2',
    '-o',
    wasm,
    join(root, 'test-toolchains/guest-fixtures/fio.c'),
  ]);
  const r = run(wasm, [`--map`, `/data=${join(dir, 'data')}:rw`, '--env', 'HOME=/home']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /read 10: hello data/);
  assert.match(r.stdout, /size 20/);
  assert.match(r.stdout, /entry in\.txt/);
  assert.match(r.stdout, /entry sub/);
  assert.match(r.stdout, /passwd: Capabilities insufficient/);
  assert.match(r.stdout, /dotdot: Capabilities insufficient/);
  assert.match(r.stdout, /env HOME=\/home/);
  assert.doesNotMatch(r.stdout, /OPENED!|rename:|unlink:|rmdir:/);
  const ro = run(wasm, [`--map`, `/data=${join(dir, 'data')}`]);
  assert.equal(ro.status, 11, 'read-only preopen: fopen(w) fails');
  assert.match(ro.stdout, /mkdir: Read-only file system/);
});

test('Rust std: fs::*, read_dir, remove_dir_all, sleep; exit code; read-only refusal', () => {
  const dir = setup();
  const wasm = join(dir, 'fio_rs.wasm');
  sh('/usr/bin/rustc', [
    '--target',
    'wasm32-wasi',
    '-O',
    join(root, 'test-toolchains/guest-fixtures/fio.rs'),
    '-o',
    wasm,
  ]);
  const r = run(wasm, ['--map', `/data=${join(dir, 'data')}:rw`]);
  assert.equal(r.status, 5, r.stderr);
  assert.match(r.stdout, /read: hello data/);
  assert.match(r.stdout, /meta len 7/);
  assert.match(r.stdout, /dir \["in\.txt", "r"\]/);
  assert.match(r.stdout, /escape: Err/);
  assert.match(r.stdout, /slept true/);
  const ro = run(wasm, ['--map', `/data=${join(dir, 'data')}`]);
  assert.equal(ro.status, 134);
  assert.match(ro.stderr, /Read-only file system/);
});
