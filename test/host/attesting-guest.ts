/**
 * A guest that attests through wasmtime_attestation (shared by the receipt tests of engine, server,
 * verifier and CLI), and a host handler over the simulated TEE and a simulated GPU that answers it.
 *
 * `_start` writes each answer's JSON on its own stdout line, in call order:
 *   1 attest_vm_with_data("abc")   2 attest_gpu(0)   3 attest_gpu(5) (no such GPU)
 *   4 attest_vm_with_data("abc") (the host's cache)   5 attest_vm()
 * `many` calls attest_vm() 70 times (more than a claim keeps) and returns how many answers succeeded.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GuestAttestationReceipt } from '../../src/binding/index.ts';
import {
  cpuVerifier,
  createHostHandlerInstance,
  type GpuAttestationProvider,
  type HostHandler,
} from '../../src/host/index.ts';
import { Attester, createSimulatedGpu, SimulatedSevSnpProvider } from '../../src/tee/index.ts';
import { wat } from './helpers.ts';

export const ATTESTING_GUEST_WAT = `(module
  (import "wasmtime_attestation" "attest_vm" (func $vm (result i32)))
  (import "wasmtime_attestation" "attest_vm_with_data" (func $vmd (param i32 i32) (result i32)))
  (import "wasmtime_attestation" "attest_gpu" (func $gpu (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 4)
  (global $heap (mut i32) (i32.const 8192))
  (data (i32.const 16) "\\n")
  (data (i32.const 32) "abc")
  (func (export "alloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (i32.and (i32.add (local.get $n) (i32.const 7)) (i32.const -8))))
    (local.get $p))
  (func $emit (param $p i32)
    (i32.store (i32.const 0) (i32.add (local.get $p) (i32.const 4)))
    (i32.store (i32.const 4) (i32.load (local.get $p)))
    (i32.store (i32.const 8) (i32.const 16))
    (i32.store (i32.const 12) (i32.const 1))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 2) (i32.const 24))))
  (func (export "_start")
    (call $emit (call $vmd (i32.const 32) (i32.const 3)))
    (call $emit (call $gpu (i32.const 0)))
    (call $emit (call $gpu (i32.const 5)))
    (call $emit (call $vmd (i32.const 32) (i32.const 3)))
    (call $emit (call $vm)))
  (func (export "many") (result i32) (local $i i32) (local $ok i32) (local $p i32)
    (loop $l
      (global.set $heap (i32.const 8192))
      (local.set $p (call $vm))
      ;; "{"success":true" starts with {"s... : count answers whose 12th byte is 't'
      (local.set $ok (i32.add (local.get $ok) (i32.eq (i32.load8_u (i32.add (local.get $p) (i32.const 15))) (i32.const 116))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 70))))
    (local.get $ok)))`;

export function attestingGuest(): Promise<Uint8Array> {
  return wat(ATTESTING_GUEST_WAT);
}

export interface AttestingHost {
  handler: HostHandler;
  tee: SimulatedSevSnpProvider;
  /** Empty the host's attestation cache (answers are cached across executions for its TTL). */
  clearCache(): void;
  cleanup(): void;
}

/** The host handler over a simulated SEV-SNP and one simulated GPU, simulation allowed by policy. */
export async function attestingHost(): Promise<AttestingHost> {
  const dir = mkdtempSync(join(tmpdir(), 'wasmvm-receipts-'));
  const tee = new SimulatedSevSnpProvider({ stateDir: dir, rsaBits: 2048, warn: false });
  const sim = await createSimulatedGpu({ count: 1 });
  const gpu: GpuAttestationProvider = {
    description: 'simulated GPU',
    async collect(index, nonce) {
      if (index !== 0) throw new Error(`no GPU ${index}`);
      const [ev] = await sim.collect(nonce, { index });
      return { evidence: ev as unknown as Record<string, unknown>, simulated: true, arch: ev?.arch ?? '' };
    },
  };
  const { handler, cache } = createHostHandlerInstance({
    tee,
    signer: new Attester(tee, { issuer: 'wasmvm-tee' }),
    verifyCpu: cpuVerifier(tee),
    gpu,
    policy: { allowSimulated: true, gpu: { requireMeasurementMatch: false } },
  });
  return {
    handler,
    tee,
    clearCache: () => cache.clear(),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The receipt an answer (as the guest got it) and the call's parameters make (computed independently). */
export function expectedReceipt(
  kind: 'vm' | 'gpu',
  answer: Record<string, unknown>,
  data: Uint8Array,
  gpuIndex?: number,
): GuestAttestationReceipt {
  const r: GuestAttestationReceipt = {
    kind,
    outcome: answer.success === true ? 'ok' : String(answer.code),
    cached: answer.cached === true,
  };
  if (gpuIndex !== undefined) r.gpuIndex = gpuIndex;
  if (typeof answer.tee_type === 'string') r.teeType = answer.tee_type;
  if (typeof answer.simulated === 'boolean') r.simulated = answer.simulated;
  r.dataSha256 = createHash('sha256').update(data).digest('hex');
  if (typeof answer.evidence === 'string')
    r.evidenceSha256 = createHash('sha256').update(answer.evidence).digest('hex');
  return r;
}

/** The receipts `_start` must produce, from the answers it printed. */
export function expectedStartReceipts(stdout: Uint8Array | string): GuestAttestationReceipt[] {
  const lines = (typeof stdout === 'string' ? stdout : new TextDecoder().decode(stdout))
    .trimEnd()
    .split('\n');
  if (lines.length !== 5) throw new Error(`expected 5 answers, got ${lines.length}`);
  const a = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const abc = new TextEncoder().encode('abc');
  const none = new Uint8Array(0);
  return [
    expectedReceipt('vm', a[0]!, abc),
    expectedReceipt('gpu', a[1]!, none, 0),
    expectedReceipt('gpu', a[2]!, none, 5),
    expectedReceipt('vm', a[3]!, abc),
    expectedReceipt('vm', a[4]!, none),
  ];
}
