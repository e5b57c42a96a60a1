import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { test } from 'node:test';
import { MODEL_LINE, root, runWasm, sh, tmp } from './guest-helpers.ts';

test('assemblyscript: asc builds the example (buffer-variant ABI, no allocator export); it runs', () => {
  const out = join(tmp(), 'attest_train_as.wasm');
  sh(process.execPath, [
    join(root, 'node_modules/assemblyscript/bin/asc.js'),
    'guest/assemblyscript/assembly/example.ts',
    '--config',
    'guest/assemblyscript/asconfig.json',
    '--outFile',
    out,
    '--textFile',
    `${out}.wat`,
  ]);
  const r = runWasm(out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /VM attested: AMD SEV-SNP \[SIMULATED\], token verified/);
  assert.match(r.stdout, MODEL_LINE);
});
