import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { test } from 'node:test';
import { MODEL_LINE, root, runWasm, sh, tmp } from './guest-helpers.ts';

test('rust: Debian rustc (wasm32-wasi, no cargo, no dependencies) builds the crate and example; it runs', () => {
  const out = tmp();
  const r0 = sh('sh', ['-c', `OUT=${out} sh ${join(root, 'guest/rust/build.sh')}`]);
  assert.match(r0.stdout, /attest_train_rust\.wasm/);
  const r = runWasm(join(out, 'attest_train_rust.wasm'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /VM attested: AMD SEV-SNP \[SIMULATED\], token verified/);
  assert.match(r.stdout, MODEL_LINE);
  const g = runWasm(join(out, 'attest_train_rust.wasm'), ['--', '--require-gpu']);
  assert.equal(g.status, 3);
});
