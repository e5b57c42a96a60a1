/**
 * The attestation imports through a real asynchronous HostHandler behind a synchronous worker bridge
 * (harness.ts; the same shape as the engine's), independent of the engine.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { decodeJwt } from 'jose';
import { createHostHandlerInstance, guestReportData } from '../../src/host/index.ts';
import { Attester } from '../../src/tee/index.ts';
import type { CpuEvidence, TeeProvider } from '../../src/tee/types.ts';
import { runGuest } from './harness.ts';
import { wat } from './helpers.ts';

const tee: TeeProvider = {
  kind: 'sev-snp',
  simulated: true,
  description: 'fake',
  async getEvidence(reportData: Uint8Array): Promise<CpuEvidence> {
    const r = new Uint8Array(1184);
    r.set(reportData, 0x50);
    return { kind: 'sev-snp', simulated: true, report: r, provider: 'fake' };
  },
};

// 64 bytes of guest data 0..63 at 2048; attest_vm_with_data_into into a 16-byte buffer (too small),
// then into the needed size; print the JSON block on stdout; exit with verify_token's answer + 10.
const GUEST = `(module
  (import "wasmtime_attestation" "attest_vm_with_data_into" (func $att (param i32 i32 i32 i32) (result i32)))
  (import "wasmtime_attestation" "verify_token" (func $verify (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 2)
  (func (export "_start") (local $i i32) (local $need i32) (local $len i32) (local $p i32) (local $q i32)
    (loop $fill (i32.store8 (i32.add (i32.const 2048) (local.get $i)) (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 64))))
    (local.set $need (call $att (i32.const 2048) (i32.const 64) (i32.const 4096) (i32.const 16)))
    (drop (call $att (i32.const 2048) (i32.const 64) (i32.const 4096) (local.get $need)))
    (local.set $len (i32.load (i32.const 4096)))
    (i32.store (i32.const 0) (i32.const 4100))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    ;; find the token: the bytes between "token":" and the next quote
    (local.set $p (i32.const 4100))
    (block $found (loop $scan
      (br_if $found (i32.and (i32.eq (i32.load8_u (local.get $p)) (i32.const 116))
        (i32.and (i32.eq (i32.load (i32.add (local.get $p) (i32.const 1))) (i32.const 0x6e656b6f))
          (i32.eq (i32.load8_u (i32.add (local.get $p) (i32.const 5))) (i32.const 34)))))
      (local.set $p (i32.add (local.get $p) (i32.const 1))) (br $scan)))
    (local.set $p (i32.add (local.get $p) (i32.const 8)))
    (local.set $q (local.get $p))
    (loop $end (local.set $q (i32.add (local.get $q) (i32.const 1)))
      (br_if $end (i32.ne (i32.load8_u (local.get $q)) (i32.const 34))))
    (call $exit (i32.add (i32.const 10) (call $verify (local.get $p) (i32.sub (local.get $q) (local.get $p)))))))`;

test('attest_vm_with_data_into through the async handler: data bound, token verifies, one attestation', async () => {
  let attestations = 0;
  const counting: TeeProvider = {
    ...tee,
    getEvidence: (rd) => {
      attestations++;
      return tee.getEvidence(rd);
    },
  };
  const signer = new Attester(tee);
  const { handler } = createHostHandlerInstance({
    tee: counting,
    signer,
    verifyCpu: async () => ({ ok: true, kind: 'sev-snp', checks: [] }),
    policy: { allowSimulated: true },
  });
  const r = await runGuest(await wat(GUEST), handler);
  assert.equal(r.status, 'exit', r.message);
  assert.equal(r.code, 11, 'verify_token returned 1');
  const res = JSON.parse(r.stdout) as { success: boolean; nonce: string; report_data: string; token: string };
  assert.equal(res.success, true);
  const data = Uint8Array.from({ length: 64 }, (_, i) => i);
  assert.equal(
    res.report_data,
    Buffer.from(guestReportData(Buffer.from(res.nonce, 'hex'), data)).toString('hex'),
  );
  assert.equal(decodeJwt(res.token).data_sha256, createHash('sha256').update(data).digest('hex'));
  assert.equal(attestations, 1, 'the retry after a too-small buffer did not attest again');
});
