/**
 * The exit-code table (src/cli/exit-codes.ts), each code through a real `wasmvm-tee` run:
 * 0 ok, 1 verification failed, 2 usage/input, 3 transport, 4 trap, 5 resource limit, 70 internal,
 * 130 a second signal in serve; `run` exits with the guest's own code.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EXIT, EXIT_TABLE, exitForStatus } from '../../src/cli/exit-codes.ts';
import { commands, runCli } from '../../src/cli/main.ts';
import { wat } from '../host/helpers.ts';

const BIN = fileURLToPath(new URL('../../bin/wasmvm-tee.js', import.meta.url));
const KERNELS = fileURLToPath(new URL('../fixtures/c/kernels.wasm', import.meta.url));
const TRUNCATED = fileURLToPath(new URL('../fixtures/wasm/truncated.wasm', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'exit-codes-'));

function cli(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, WASMVM_TEE_STATE_DIR: join(dir, 'state') },
  });
}

test('the table: codes are distinct, and the help text shows each', () => {
  const codes = Object.values(EXIT);
  assert.equal(new Set(codes).size, codes.length);
  for (const c of codes) assert.match(EXIT_TABLE, new RegExp(`^  ${c} `, 'm'));
  assert.equal(exitForStatus('ok'), 0);
  assert.equal(exitForStatus('unreachable'), 4);
  for (const s of ['out_of_gas', 'deadline_exceeded', 'memory_limit', 'output_limit'])
    assert.equal(exitForStatus(s), 5, s);
});

test('0 ok', () => {
  const r = cli(['exec', '--wasm', KERNELS, '--fn', 'fib', '--arg', '10']);
  assert.equal(r.status, EXIT.OK, r.stderr);
  assert.equal(r.stdout.trim(), 'i64 55');
});

test('1 verification failed (verify --rim on a file that is not a RIM)', () => {
  const f = join(dir, 'not-a-rim.xml');
  writeFileSync(f, 'not xml');
  const r = cli(['verify', '--rim', f, '--offline']);
  assert.equal(r.status, EXIT.VERIFICATION_FAILED, r.stderr + r.stdout);
});

test('2 usage or input error, in every verb that parses', () => {
  const cases: [string[], RegExp][] = [
    [['exec', '--wasm', KERNELS, '--bogus'], /unknown option '--bogus'/],
    [['exec', '--wasm', KERNELS, '--fn'], /--fn needs a value/],
    [['exec', '--wasm', KERNELS, '--fn', 'fib', '--json=1'], /--json takes no value/],
    [['serve', '--port', '99999'], /--port: expected an integer in 0\.\.65535, got '99999'/],
    [['serve', '--bogus'], /unknown option '--bogus'/],
    [['run', '--gas'], /--gas needs a value/],
    // One gas-limit rule everywhere (binding's GAS_LIMIT_MIN..MAX): 0 and 2^63 are refused by every verb.
    [['run', KERNELS, '--gas', '0'], /--gas wants an integer in 1\.\.2\^63-1/],
    [['exec', '--wasm', KERNELS, '--fn', 'fib', '--gas', '0'], /--gas must be an integer in 1\.\.2\^63-1/],
    [['exec', '--wasm', KERNELS, '--fn', 'fib', '--gas', '9223372036854775808'], /1\.\.2\^63-1/],
    [
      ['exec', '--server', '127.0.0.1:1', '--wasm', KERNELS, '--fn', 'fib', '--gas', '0'],
      /--gas: an integer in 1\.\.2\^63-1/,
    ],
    [['verify', '--bogus'], /unknown option '--bogus'/],
    [['verify', '--tdx-quote', 'q', '--bogus'], /unknown option '--bogus'/],
    [['verify', '--rim', 'x', '--bogus'], /unknown option '--bogus'/],
    [['verify', '--nras-response', 'x', '--bogus'], /unknown option '--bogus'/],
    [['attest', '--bogus'], /unknown option '--bogus'/],
    [['attest', '--provider', 'bogus'], /--provider: /],
    [['measure', 'snp', '--bogus'], /unknown option '--bogus'/],
    [['collateral', 'fetch', '--bogus'], /unknown option '--bogus'/],
    [['inspect', TRUNCATED], /INVALID_BYTECODE/],
    [['inspect', 'a.wasm', 'b.wasm'], /unexpected argument 'b\.wasm'/],
    [['nope'], /unknown command 'nope'/],
    [[], /Usage: wasmvm-tee <command>/],
  ];
  for (const [args, msg] of cases) {
    const r = cli(args);
    assert.equal(r.status, EXIT.USAGE, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr + r.stdout, msg, args.join(' '));
  }
});

test('serve --port 99999: refused before the TEE starts (no banner, no session key)', () => {
  const r = cli(['serve', '--port', '99999', '--tee', 'simulated']);
  assert.equal(r.status, EXIT.USAGE);
  assert.doesNotMatch(r.stderr, /SIMULATED TEE|session key|listening/);
});

test('3 transport error (nothing listens on the port)', () => {
  const r = cli(['exec', '--server', '127.0.0.1:1', '--wasm', KERNELS, '--fn', 'fib', '--arg', '3']);
  assert.equal(r.status, EXIT.TRANSPORT, r.stderr);
  assert.match(r.stderr, /ECONNREFUSED/);
});

test('4 the guest trapped', () => {
  const r = cli(['exec', '--wasm', KERNELS, '--fn', 'div', '--arg', '1', '--arg', '0']);
  assert.equal(r.status, EXIT.TRAP, r.stderr);
  assert.match(r.stderr, /integer_divide_by_zero/);
});

test('5 a resource limit (gas)', () => {
  const r = cli(['exec', '--wasm', KERNELS, '--fn', 'fib', '--arg', '90', '--gas', '10']);
  assert.equal(r.status, EXIT.RESOURCE_LIMIT, r.stderr);
  assert.match(r.stderr, /out_of_gas/);
});

test('70 internal: whatever a verb throws', async () => {
  commands['throws-for-test'] = {
    summary: 'test only',
    load: async () => ({
      summary: 'test only',
      help: '',
      main: async () => {
        throw new Error('boom');
      },
    }),
  };
  const error = console.error;
  const err: string[] = [];
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  try {
    assert.equal(await runCli(['throws-for-test']), EXIT.INTERNAL);
  } finally {
    console.error = error;
    delete commands['throws-for-test'];
  }
  assert.match(err.join('\n'), /internal error: boom/);
});

test("run: the guest's own exit code", async () => {
  const mod = join(dir, 'exit7.wasm');
  writeFileSync(
    mod,
    await wat(`(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1) (func (export "_start") (call $exit (i32.const 7))))`),
  );
  const r = cli(['run', mod, '--no-gpu']);
  assert.equal(r.status, 7, r.stderr);
});

test('130: a second SIGTERM while serve drains an in-flight call', { timeout: 180_000 }, async () => {
  const spin = join(dir, 'spin.wasm');
  writeFileSync(spin, await wat('(module (func (export "spin") (loop $l (br $l))))'));
  const env = { ...process.env, WASMVM_TEE_STATE_DIR: join(dir, 'state') };
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--tee', 'simulated', '--timeout-ms', '120000'],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | string | null>((resolve) =>
    child.on('exit', (code, sig) => resolve(code ?? sig)),
  );
  const until = async (ok: () => boolean | Promise<boolean>) => {
    while (!(await ok())) {
      if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await until(() => /wasmvm-tee listening on/.test(stderr));
  const port = /listening on 127\.0\.0\.1:(\d+)/.exec(stderr)![1]!;
  // a call that runs until the server's 120 s deadline: the graceful shutdown waits for it
  const client = spawn(
    process.execPath,
    [BIN, 'exec', '--server', `127.0.0.1:${port}`, '--wasm', spin, '--fn', 'spin', '--allow-simulated'],
    { env, stdio: 'ignore' },
  );
  try {
    await until(async () =>
      /wasmvm_executions_in_flight 1/.test(
        await fetch(`http://127.0.0.1:${port}/metrics`).then(
          (r) => r.text(),
          () => '',
        ),
      ),
    );
    child.kill('SIGTERM');
    await until(() => /graceful shutdown/.test(stderr));
    child.kill('SIGTERM');
    assert.equal(await exited, EXIT.SECOND_SIGNAL, stderr);
  } finally {
    client.kill();
    child.kill('SIGKILL');
  }
});
