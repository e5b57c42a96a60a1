import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { HostTrap } from '../../src/host/index.ts';
import { fakeBridge, instantiate, okResult, readResult } from './helpers.ts';

const IMPORTS = `
  (import "wasmtime_attestation" "attest_vm" (func $attest_vm (result i32)))
  (import "wasmtime_attestation" "attest_gpu" (func $attest_gpu (param i32) (result i32)))
  (import "wasmtime_attestation" "verify_token" (func $verify_token (param i32 i32) (result i32)))
  (import "wasmtime_attestation" "clear_cache" (func $clear_cache))
  (import "wasmtime_attestation" "detect_tee" (func $detect_tee (result i32)))
  (import "wasmtime_attestation" "detect_tee_code" (func $detect_tee_code (result i32)))
  (import "wasmtime_attestation" "attest_vm_with_data" (func $attest_vm_with_data (param i32 i32) (result i32)))
  (import "wasmtime_attestation" "attest_vm_into" (func $attest_vm_into (param i32 i32) (result i32)))
  (import "wasmtime_attestation" "attest_gpu_into" (func $attest_gpu_into (param i32 i32 i32) (result i32)))
`;
const CALLS = `
  (func (export "vm") (result i32) (call $attest_vm))
  (func (export "gpu") (param i32) (result i32) (call $attest_gpu (local.get 0)))
  (func (export "verify") (param i32 i32) (result i32) (call $verify_token (local.get 0) (local.get 1)))
  (func (export "clear") (call $clear_cache))
  (func (export "detect") (result i32) (call $detect_tee))
  (func (export "code") (result i32) (call $detect_tee_code))
  (func (export "vm_data") (param i32 i32) (result i32) (call $attest_vm_with_data (local.get 0) (local.get 1)))
  (func (export "vm_into") (param i32 i32) (result i32) (call $attest_vm_into (local.get 0) (local.get 1)))
  (func (export "gpu_into") (param i32 i32 i32) (result i32) (call $attest_gpu_into (local.get 0) (local.get 1) (local.get 2)))
`;

/** A module with a bump allocator exported under `allocName` with the right signature. */
function guest(allocator: string, memory = '(memory (export "memory") 1)'): string {
  return `(module ${IMPORTS} ${memory} (global $bump (mut i32) (i32.const 4096)) ${allocator} ${CALLS})`;
}
const BUMP = `(local.set $p (global.get $bump))
  (global.set $bump (i32.and (i32.add (i32.add (global.get $bump) (local.get $n)) (i32.const 3)) (i32.const -4)))
  (local.get $p)`;
const CABI = `(func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (local $n i32) (local $p i32) (local.set $n (local.get 3)) ${BUMP})`;
const MALLOC = `(func (export "malloc") (param $n i32) (result i32) (local $p i32) ${BUMP})`;
const ALLOC = `(func (export "alloc") (param $n i32) (result i32) (local $p i32) ${BUMP})`;

type Fn = (...a: number[]) => number;
const fn = (g: { instance: { exports: Record<string, unknown> } }, name: string) =>
  g.instance.exports[name] as Fn;

const answers = {
  attest_vm: (p: Record<string, unknown>) => okResult({ data: p.data ?? null }),
  attest_gpu: (p: Record<string, unknown>) => ({
    success: false,
    error: `no GPU ${p.index}`,
    timestamp: 1,
    tee_type: 'NVIDIA GPU',
  }),
  verify_token: (p: Record<string, unknown>) => ({ valid: p.token === 'good' }),
  clear_cache: () => ({ cleared: 0 }),
  detect_tee: () => ({ tee_type: 'AMD SEV-SNP', supports_attestation: true, simulated: true, code: 0x101 }),
};

describe('wasmtime_attestation ABI', () => {
  for (const [name, alloc] of [
    ['cabi_realloc', CABI],
    ['malloc', MALLOC],
    ['alloc', ALLOC],
  ] as const) {
    test(`attest_vm returns [len][JSON] allocated through ${name}`, async () => {
      const g = await instantiate(guest(alloc), fakeBridge(answers));
      const ptr = fn(g, 'vm')();
      assert.equal(ptr, 4096);
      const r = readResult(g.memory, ptr) as Record<string, unknown>;
      assert.equal(r.success, true);
      assert.equal(r.token, 'tok.en.sig');
      assert.equal(r.tee_type, 'AMD SEV-SNP');
    });
  }

  test('attest_gpu passes the index (u32) and returns the failure JSON', async () => {
    const g = await instantiate(guest(CABI), fakeBridge(answers));
    const r = readResult(g.memory, fn(g, 'gpu')(-1)) as Record<string, unknown>;
    assert.equal(r.success, false);
    assert.equal(r.error, 'no GPU 4294967295');
  });

  test('no allocator: a clear trap', async () => {
    const g = await instantiate(guest(''), fakeBridge(answers));
    assert.throws(
      () => fn(g, 'vm')(),
      (e: unknown) => e instanceof HostTrap && /no allocator/.test(e.message),
    );
  });

  test('allocator returning an out-of-range pointer traps, host memory untouched', async () => {
    for (const bad of [0x7ffffff0, -16, 65536 - 8]) {
      const g = await instantiate(
        guest(`(func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const ${bad}))`),
        fakeBridge(answers),
      );
      assert.throws(
        () => fn(g, 'vm')(),
        (e: unknown) => e instanceof HostTrap && /outside linear memory/.test(e.message),
      );
    }
  });

  test('allocator returning NULL traps', async () => {
    const g = await instantiate(
      guest(`(func (export "malloc") (param i32) (result i32) (i32.const 0))`),
      fakeBridge(answers),
    );
    assert.throws(
      () => fn(g, 'vm')(),
      (e: unknown) => e instanceof HostTrap && /NULL/.test(e.message),
    );
  });

  test('allocator that grows memory: pointer checked against the new size', async () => {
    const grow = `(func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
        (drop (memory.grow (i32.const 1))) (i32.const 65536))`;
    const g = await instantiate(guest(grow), fakeBridge(answers));
    const ptr = fn(g, 'vm')();
    assert.equal(ptr, 65536);
    assert.equal((readResult(g.memory, ptr) as { success: boolean }).success, true);
  });

  test('verify_token: 1 for valid, 0 for invalid; bad pointers/lengths trap', async () => {
    const g = await instantiate(guest(CABI), fakeBridge(answers));
    new Uint8Array(g.memory.buffer).set(new TextEncoder().encode('good'), 100);
    new Uint8Array(g.memory.buffer).set(new TextEncoder().encode('evil'), 200);
    assert.equal(fn(g, 'verify')(100, 4), 1);
    assert.equal(fn(g, 'verify')(200, 4), 0);
    assert.throws(() => fn(g, 'verify')(100, -1), HostTrap);
    assert.throws(() => fn(g, 'verify')(65530, 100), HostTrap);
    assert.throws(() => fn(g, 'verify')(-4, 4), HostTrap);
  });

  test('attest_vm_with_data sends the bytes (hex); bad lengths trap', async () => {
    const b = fakeBridge(answers);
    const g = await instantiate(guest(CABI), b);
    new Uint8Array(g.memory.buffer).set([1, 2, 0xff], 300);
    const r = readResult(g.memory, fn(g, 'vm_data')(300, 3)) as Record<string, unknown>;
    assert.equal(r.data, '0102ff');
    assert.throws(() => fn(g, 'vm_data')(300, -5), HostTrap);
    assert.throws(() => fn(g, 'vm_data')(65000, 1000), HostTrap);
    assert.throws(() => fn(g, 'vm_data')(0, 65 * 1024), HostTrap);
  });

  test('attest_vm_into: too small → needed size, retry gets the same result without a new attestation', async () => {
    const b = fakeBridge(answers);
    const g = await instantiate(guest(''), b);
    const needed = fn(g, 'vm_into')(1000, 8);
    assert.ok(needed > 8);
    assert.equal(new DataView(g.memory.buffer).getUint32(1000, true), 0, 'nothing written when too small');
    const again = fn(g, 'vm_into')(1000, needed);
    assert.equal(again, needed);
    assert.equal((readResult(g.memory, 1000) as { success: boolean }).success, true);
    assert.equal(b.calls.filter((c) => c.method === 'attest_vm').length, 1);
    assert.throws(() => fn(g, 'vm_into')(65500, 100), HostTrap);
    assert.throws(() => fn(g, 'gpu_into')(0, 100, -1), HostTrap);
  });

  test('detect_tee returns the original JSON shape; detect_tee_code the numeric code', async () => {
    const g = await instantiate(guest(CABI), fakeBridge(answers));
    const r = readResult(g.memory, fn(g, 'detect')()) as Record<string, unknown>;
    assert.equal(r.tee_type, 'AMD SEV-SNP');
    assert.equal(r.supports_attestation, true);
    assert.equal(fn(g, 'code')(), 0x101);
  });

  test('a failing bridge becomes success:false JSON, not a crash', async () => {
    const g = await instantiate(
      guest(CABI),
      fakeBridge({
        attest_vm: () => {
          throw new Error('parent gone');
        },
      }),
    );
    const r = readResult(g.memory, fn(g, 'vm')()) as Record<string, unknown>;
    assert.equal(r.success, false);
    assert.match(String(r.error), /parent gone/);
  });

  test('a guest without memory export traps clearly', async () => {
    const g = await instantiate(guest(CABI, '(memory 1)'), fakeBridge(answers));
    assert.throws(
      () => fn(g, 'vm')(),
      (e: unknown) => e instanceof HostTrap && /exports no memory/.test(e.message),
    );
  });
});
