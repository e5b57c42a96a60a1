import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { receiptLine } from '../../src/cli/receipts-text.ts';
import { parseRunArgs } from '../../src/cli/run.ts';
import { hostModulesFor, serviceHostSetup, unsupportedImportModules } from '../../src/host/index.ts';
import { attestingGuest, expectedStartReceipts } from './attesting-guest.ts';
import { wat } from './helpers.ts';

const bin = fileURLToPath(new URL('../../bin/wasmvm-tee.js', import.meta.url));

/** A guest that opens argv[1] under preopen fd 3 with the given oflags, writes "ok" into it, exits 0, or exits with the errno. */
const FILE_GUEST = `(module
  (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 900) "ok")
  (func $strlen (param $p i32) (result i32) (local $n i32)
    (block $done (loop $l
      (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
      (local.set $n (i32.add (local.get $n) (i32.const 1))) (br $l)))
    (local.get $n))
  (func (export "_start") (local $path i32) (local $e i32)
    (drop (call $args_get (i32.const 0) (i32.const 100)))
    (local.set $path (i32.load (i32.const 4)))
    (local.set $e (call $open (i32.const 3) (i32.const 1) (local.get $path) (call $strlen (local.get $path))
      (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 800)))
    (if (local.get $e) (then (call $exit (local.get $e))))
    (i32.store (i32.const 804) (i32.const 900))
    (i32.store (i32.const 808) (i32.const 2))
    (drop (call $write (i32.load (i32.const 800)) (i32.const 804) (i32.const 1) (i32.const 812)))
    (call $exit (i32.const 0))))`;

function run(args: string[]) {
  return spawnSync(process.execPath, [bin, 'run', ...args], { encoding: 'utf8', timeout: 60_000 });
}

describe('wasmvm-tee run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'run-'));
  const mod = join(dir, 'files.wasm');
  writeFileSync(mod, await wat(FILE_GUEST));
  const data = join(dir, 'data');
  mkdirSync(data);

  test('argument parsing', () => {
    const a = parseRunArgs([
      'm.wasm',
      '--dir=./d:rw',
      '--map',
      '/x=/y',
      '--env',
      'A=b=c',
      '--gas',
      '10',
      '--',
      '-v',
      'z',
    ]);
    assert.deepEqual(a.preopens, [
      { guest: './d', host: './d', writable: true },
      { guest: '/x', host: '/y', writable: false },
    ]);
    assert.deepEqual(a.env, { A: 'b=c' });
    assert.equal(a.gas, 10n);
    assert.deepEqual(a.args, ['-v', 'z']);
    assert.throws(() => parseRunArgs(['m.wasm', '--gas', 'x']), /--gas/);
    assert.throws(() => parseRunArgs([]), /missing module/);
    assert.throws(() => parseRunArgs(['m.wasm', '--bogus']), /unknown option/);
  });

  test('read-write --dir: the guest creates a file; exit code 0', () => {
    const r = run([mod, `--dir=${data}:rw`, '--no-gpu', '--', 'out.txt']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(join(data, 'out.txt'), 'utf8'), 'ok');
  });

  test('read-only by default: creating refused (EROFS=69 propagated as the exit code)', () => {
    const r = run([mod, `--dir=${data}`, '--no-gpu', '--', 'new.txt']);
    assert.equal(r.status, 69);
  });

  test('escape attempts refused (ENOTCAPABLE=76)', () => {
    for (const p of ['../escape.txt', '/etc/passwd']) {
      const r = run([mod, `--dir=${data}:rw`, '--no-gpu', '--', p]);
      assert.equal(r.status, 76, `${p}: ${r.stderr}`);
    }
  });

  test('bad usage exits 2; a trap exits 134 with the reason', async () => {
    assert.equal(run(['--gas']).status, 2);
    const missing = run([mod, '--dir=/nonexistent/dir', '--no-gpu']);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /not a directory/);
    const trap = join(dir, 'trap.wasm');
    writeFileSync(
      trap,
      await wat('(module (memory (export "memory") 1) (func (export "_start") unreachable))'),
    );
    const r = run([trap, '--no-gpu']);
    assert.equal(r.status, 134);
    assert.match(r.stderr, /guest stopped: unreachable/);
  });

  test('--collateral BUNDLE for attest_gpu: a bad file is a usage error (exit 2) before the guest runs', async () => {
    const ok = join(dir, 'collateral-ok.wasm');
    writeFileSync(ok, await wat('(module (memory (export "memory") 1) (func (export "_start") (nop)))'));
    const write = (name: string, text: string) => {
      const f = join(dir, name);
      writeFileSync(f, text);
      return f;
    };
    const notJson = write('not-json.json', '{"format": ');
    const r1 = run([ok, '--no-gpu', '--collateral', notJson]);
    assert.equal(r1.status, 2, r1.stderr);
    assert.match(r1.stderr, new RegExp(`^wasmvm-tee run: --collateral: ${notJson} is not JSON: `));
    const notBundle = write('policy.json', JSON.stringify({ format: 'wasmvm-tee/reference-values/v1' }));
    const r2 = run([ok, '--no-gpu', '--collateral', notBundle]);
    assert.equal(r2.status, 2, r2.stderr);
    assert.match(
      r2.stderr,
      /--collateral: .*policy\.json is not a collateral bundle \('wasmvm-tee collateral fetch'\): COLLATERAL_MALFORMED: format must be "wasmvm-tee\/collateral-bundle\/v1"/,
    );
    const r3 = run([ok, '--no-gpu', '--collateral', join(dir, 'missing.json')]);
    assert.equal(r3.status, 2);
    assert.match(r3.stderr, /--collateral: cannot read the collateral bundle .*missing\.json: ENOENT/);
    const bundle = write(
      'bundle.json',
      JSON.stringify({
        format: 'wasmvm-tee/collateral-bundle/v1',
        createdAt: '2026-06-29T02:10:00Z',
        items: [],
      }),
    );
    const both = run([ok, '--no-gpu', '--collateral', bundle, '--ocsp-online']);
    assert.equal(both.status, 2);
    assert.match(
      both.stderr,
      /--collateral is the offline source of the GPU revocation checks: not with --ocsp-online/,
    );
    // a well-formed bundle is taken and the guest runs
    const good = run([ok, '--no-gpu', '--collateral', bundle]);
    assert.equal(good.status, 0, good.stderr);
    assert.deepEqual(
      [
        parseRunArgs(['m.wasm', '--collateral', bundle]).collateral,
        parseRunArgs(['m.wasm', '--ocsp-online']).ocspOnline,
      ],
      [bundle, true],
    );
  });

  test('--gas: an endless guest stops out of gas (exit 134); a short one finishes', async () => {
    const loop = join(dir, 'loop.wasm');
    writeFileSync(
      loop,
      await wat('(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))'),
    );
    const r = run([loop, '--no-gpu', '--gas', '100000']);
    assert.equal(r.status, 134);
    assert.match(r.stderr, /out_of_gas/);
    const ok = join(dir, 'ok.wasm');
    writeFileSync(ok, await wat('(module (memory (export "memory") 1) (func (export "_start") (nop)))'));
    assert.equal(run([ok, '--no-gpu', '--gas', '100000']).status, 0);
  });

  test('hostModulesFor picks the host modules a guest imports', async () => {
    const list = [
      { module: 'wasmtime_attestation', name: 'attest_vm', kind: 'function' },
      { module: 'wasi_snapshot_preview1', name: 'fd_write', kind: 'function' },
      { module: 'env', name: 'x', kind: 'function' },
    ];
    assert.deepEqual(hostModulesFor(list), ['wasi_snapshot_preview1', 'wasmtime_attestation']);
    assert.deepEqual(unsupportedImportModules(list), ['env']);
    assert.deepEqual(hostModulesFor([]), []);
    const s = serviceHostSetup(list, { deterministic: true, seed: 'req-1' });
    assert.deepEqual(s.hostModules, ['wasi_snapshot_preview1', 'wasmtime_attestation']);
    const wasi = (s.hostOptions as { wasi: { preopens: unknown[]; stdio: string; deterministic: boolean } })
      .wasi;
    assert.deepEqual(wasi.preopens, [], 'no filesystem in the service');
    assert.equal(wasi.stdio, 'capture');
    assert.equal(wasi.deterministic, true);
    const compiled = new (
      globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object } }
    ).WebAssembly.Module(
      await wat('(module (import "wasmtime_attestation" "attest_vm" (func (result i32))))'),
    );
    assert.deepEqual(hostModulesFor(compiled), ['wasmtime_attestation']);
  });

  test('prints one line per guest attestation receipt on stderr, what the guest received', async () => {
    const mod = join(dir, 'attesting.wasm');
    writeFileSync(mod, await attestingGuest());
    const r = run([mod, '--allow-simulated', '--no-gpu']);
    assert.equal(r.status, 0, r.stderr);
    // the guest printed its five answers; the receipts are computed from them independently
    const want = expectedStartReceipts(r.stdout);
    assert.deepEqual(
      want.map((x) => x.outcome),
      ['ok', 'no_gpu', 'no_gpu', 'ok', 'ok'],
    );
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('wasmvm-tee run: guest attestation '));
    assert.deepEqual(
      lines,
      want.map((x, i) => `wasmvm-tee run: guest attestation ${receiptLine(x, i)}`),
    );
    assert.match(
      lines[3]!,
      /^wasmvm-tee run: guest attestation #4 vm AMD SEV-SNP \[simulated\] ok evidence sha256:[0-9a-f]{64} data sha256:ba7816bf[0-9a-f]{56} \(cached\)$/,
    );
  });
});
