/**
 * The committed guest examples (guest/prebuilt/*.wasm, built by guest/build.sh) run under
 * `wasmvm-tee run --allow-simulated` on the simulated TEE: attest, verify the token, then train.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/wasmvm-tee.js', import.meta.url));
const prebuilt = (n: string) =>
  fileURLToPath(new URL(`../../guest/prebuilt/attest_train_${n}.wasm`, import.meta.url));

function run(args: string[]) {
  return spawnSync(process.execPath, [bin, 'run', ...args], { encoding: 'utf8', timeout: 120_000 });
}

describe('guest examples under wasmvm-tee run', () => {
  for (const lang of ['c', 'cpp', 'rust', 'as']) {
    test(`${lang}: attests (simulated), verifies the token, trains`, () => {
      const r = run([prebuilt(lang), '--allow-simulated', '--no-gpu']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /VM attested: AMD SEV-SNP \[SIMULATED\], token verified \(\d+ bytes\)/);
      assert.match(
        r.stdout,
        /GPU attestation unavailable \(no NVIDIA GPU \/ NVML not available.*\): continuing CPU-only/,
      );
      assert.match(r.stdout, /model: y = 2\.0048 \* x \+ 1\.0083 \(mse 0\.0193\)/);
    });
  }

  test('--require-gpu without a GPU: exit 3 with the reason, no training', () => {
    const r = run([prebuilt('rust'), '--allow-simulated', '--no-gpu', '--', '--require-gpu']);
    assert.equal(r.status, 3);
    assert.match(r.stderr, /GPU attestation required but failed: no NVIDIA GPU/);
    assert.doesNotMatch(r.stdout, /model:/);
  });

  test('without --allow-simulated (no hardware TEE here): exit 1, VM attestation refused, no training', () => {
    const r = run([prebuilt('c'), '--no-gpu']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /VM attestation failed: no TEE available/);
    assert.doesNotMatch(r.stdout, /model:/);
  });
});
