/**
 * The metering bench kernels (bench/metering/kernels, prebuilt from C) give the same results
 * metered and unmetered, with and without NaN canonicalization, and the same gas on every run.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { instrument } from '../../src/engine/instrument/index.ts';

const KDIR = new URL('../../bench/metering/kernels/', import.meta.url);
const UNLIMITED = (1n << 63n) - 1n;
const SMALL: Record<string, number> = { sieve: 1, matmul: 1, keccak: 50, base64: 2, loops: 1, fib: 18 };

function run(bytes: Uint8Array, arg: number): { result: string; gas?: bigint } {
  const e = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports;
  const g = e.__wasmvm_gas instanceof WebAssembly.Global ? e.__wasmvm_gas : undefined;
  if (g) g.value = UNLIMITED;
  if (typeof e.__wasmvm_start === 'function') (e.__wasmvm_start as () => void)();
  const result = String((e.run as (n: number) => number | bigint)(arg));
  return { result, gas: g ? UNLIMITED - (g.value as bigint) : undefined };
}

for (const [name, arg] of Object.entries(SMALL)) {
  test(`bench kernel ${name}: metered = unmetered, gas repeatable`, () => {
    const bytes = new Uint8Array(readFileSync(new URL(`${name}.wasm`, KDIR)));
    const plain = run(bytes, arg);
    const metered = instrument(bytes, { gas: {} }).bytes;
    const det = instrument(bytes, { gas: {}, canonicalizeNaN: true }).bytes;
    const a = run(metered, arg);
    const b = run(metered, arg);
    const c = run(det, arg);
    assert.equal(a.result, plain.result);
    assert.equal(c.result, plain.result);
    assert.ok(a.gas !== undefined && a.gas > 0n);
    assert.equal(b.gas, a.gas);
    assert.equal(run(det, arg).gas, c.gas);
  });
}
