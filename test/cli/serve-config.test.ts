/**
 * `serve` configuration: every option also by environment variable (the command line wins), an invalid
 * value names the variable, and docs/server.md's one configuration table lists every option with it.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SERVE_ENV, SERVE_OPTIONS, withEnv } from '../../src/cli/serve.ts';

const BIN = fileURLToPath(new URL('../../bin/wasmvm-tee.js', import.meta.url));
const DOCS = fileURLToPath(new URL('../../docs/server.md', import.meta.url));

test('environment variables become options; the command line wins', () => {
  const { argv, fromEnv } = withEnv(['--port', '7000'], {
    WASMVM_TEE_PORT: '8000',
    WASMVM_TEE_HOST: '127.0.0.1',
    WASMVM_TEE_REQUIRE_HARDWARE: 'true',
    WASMVM_TEE_WEBGPU: '0',
    WASMVM_TEE_LIMIT: 'maxTables=10, maxGlobals=5',
    WASMVM_TEE_PROVIDER: 'simulated',
    UNRELATED: 'x',
  });
  assert.deepEqual(argv, [
    '--port',
    '7000',
    '--host=127.0.0.1',
    '--tee=simulated',
    '--require-hardware',
    '--limit=maxTables=10',
    '--limit=maxGlobals=5',
  ]);
  assert.equal(fromEnv.get('host'), 'WASMVM_TEE_HOST');
  assert.equal(fromEnv.has('port'), false);
  assert.throws(
    () => withEnv([], { WASMVM_TEE_WEBGPU: 'maybe' }),
    /WASMVM_TEE_WEBGPU: expected 1\/true\/yes/,
  );
});

test('an invalid value from the environment names its variable (exit 2, nothing started)', () => {
  const r = spawnSync(process.execPath, [BIN, 'serve'], {
    env: { ...process.env, WASMVM_TEE_PORT: '99999' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--port: expected an integer in 0\.\.65535, got '99999' \(set by WASMVM_TEE_PORT\)/);
  assert.doesNotMatch(r.stderr, /SIMULATED TEE/);
});

test('--collateral: a file that is not a collateral bundle refuses to start (exit 2), naming its variable', () => {
  const r = spawnSync(process.execPath, [BIN, 'serve'], {
    env: { ...process.env, WASMVM_TEE_COLLATERAL: DOCS },
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 2, r.stderr);
  assert.match(
    r.stderr,
    /^wasmvm-tee serve: --collateral: .*server\.md is not JSON: .* \(set by WASMVM_TEE_COLLATERAL\)$/m,
  );
  assert.doesNotMatch(r.stderr, /SIMULATED TEE|listening/);
  const missing = spawnSync(process.execPath, [BIN, 'serve', '--collateral', '/nonexistent/bundle.json'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(missing.status, 2, missing.stderr);
  assert.match(
    missing.stderr,
    /--collateral: cannot read the collateral bundle \/nonexistent\/bundle\.json: ENOENT/,
  );
  assert.doesNotMatch(missing.stderr, /set by/);
});

test("docs/server.md's configuration table lists every option with its variable", () => {
  const doc = readFileSync(DOCS, 'utf8');
  const section = /## Configuration \(flags and environment variables\)([\s\S]*?)\n## /.exec(doc)?.[1] ?? '';
  const rows = new Map<string, string>();
  for (const m of section.matchAll(/^\| `--([a-z-]+)[^`]*` \| `([A-Z_]+)` \|/gm)) rows.set(m[1]!, m[2]!);
  const options = Object.keys(SERVE_OPTIONS).filter((k) => k !== 'help');
  assert.deepEqual([...rows.keys()].sort(), [...options].sort());
  for (const o of options) assert.equal(rows.get(o), SERVE_ENV[o], o);
});
