import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/wasmvm-tee.js', import.meta.url));

test('wasmvm-tee --help lists the commands', () => {
  const r = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  for (const c of ['serve', 'exec', 'run', 'verify', 'attest'])
    assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
});

test('wasmvm-tee with an unknown command exits 2 with usage', () => {
  const r = spawnSync(process.execPath, [bin, 'frobnicate'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
});
