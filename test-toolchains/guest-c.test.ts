import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { MODEL_LINE, root, runWasm, sh, tmp } from './guest-helpers.ts';

for (const [lang, compiler, src, flags] of [
  ['c', 'clang', 'guest/cpp/examples/attest_train.c', []],
  ['cpp', 'clang++', 'guest/cpp/examples/attest_train.cpp', ['-std=c++17', '-fno-exceptions']],
] as const) {
  test(`${lang}: clang + wasi-libc build of the example attests, verifies and trains under wasmvm-tee run`, () => {
    const out = join(tmp(), `attest_train_${lang}.wasm`);
    sh(compiler, ['--target=wasm32-wasi', '-O2', ...flags, '-o', out, src]);
    const r = runWasm(out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /VM attested: AMD SEV-SNP \[SIMULATED\], token verified/);
    assert.match(r.stdout, MODEL_LINE);
    // the committed prebuilt module is what this toolchain produces
    assert.deepEqual(readFileSync(out), readFileSync(join(root, `guest/prebuilt/attest_train_${lang}.wasm`)));
  });
}
