/**
 * bin/wasmvm-tee.js and `serve`'s command line: the top-level usage loads no verb; serve checks its
 * arguments before anything starts (no TEE, no socket) and exits 2 on a usage error; the log names the
 * address as bound.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { commands } from '../../src/cli/main.ts';

const BIN = fileURLToPath(new URL('../../bin/wasmvm-tee.js', import.meta.url));
const state = mkdtempSync(join(tmpdir(), 'wasmvm-tee-cli-bin-'));
const env = { ...process.env, WASMVM_TEE_FROM_SOURCE: '1', WASMVM_TEE_STATE_DIR: state };
after(() => rmSync(state, { recursive: true, force: true }));

test("the top-level usage's summaries are each verb's own", async () => {
  for (const [name, c] of Object.entries(commands)) {
    const mod = await c.load();
    assert.equal(c.summary, mod.summary, name);
  }
});

for (const [args, message] of [
  [['--port', '99999'], /--port: expected an integer in 0\.\.65535, got '99999'/],
  [['--port', '-1'], /--port/],
  [['--port', '8x'], /--port: expected an integer in 0\.\.65535, got '8x'/],
  [['--bogus'], /unknown option '--bogus'/],
  [['--attestation', 'never'], /--attestation: expected session-key or per-request/],
  [['--tls-cert', 'a.pem'], /--tls-cert and --tls-key go together/],
  [['--timeout-ms', '999999999999'], /--timeout-ms: .* above the engine's ceiling/],
] as const) {
  test(`serve ${args.join(' ')}: usage error, exit 2, before the TEE or a socket starts`, () => {
    const r = spawnSync(process.execPath, [BIN, 'serve', ...args], {
      env,
      encoding: 'utf8',
      timeout: 180_000,
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /wasmvm-tee serve --help/);
    assert.doesNotMatch(r.stderr, /SIMULATED|listening|serving/);
    assert.equal(r.stdout, '');
  });
}

test('serve logs the address as bound (0.0.0.0 is "all interfaces", not 127.0.0.1)', async () => {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--tee', 'simulated'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no listening line:\n${err}`)), 60_000);
      child.stderr!.on('data', (d: Buffer) => {
        err += d;
        if (/serving on http/.test(err)) {
          clearTimeout(t);
          resolve();
        }
      });
      child.on('exit', (c) => reject(new Error(`exited ${c}:\n${err}`)));
    });
  } finally {
    child.kill('SIGTERM');
  }
  const m = /listening on 0\.0\.0\.0:(\d+) \(all interfaces\), serving on http:\/\/127\.0\.0\.1:(\d+)/.exec(
    err,
  );
  assert.ok(m, err);
  assert.equal(m[1], m[2]);
  const line = err.split('\n').find((l) => l.includes('"msg":"listening"') || l.includes('"listening"'));
  assert.ok(line, err);
  assert.equal(JSON.parse(line).address, `0.0.0.0:${m[1]}`);
});
