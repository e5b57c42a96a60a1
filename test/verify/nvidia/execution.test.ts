// Composite attestation through C's verifyExecution: the envelope's `gpu` evidence is verified by
// verifyGpuEvidenceList with nonce = gpuNonceFor(gpuBindingData(claim)), its digest in the claim. Recorded GPU
// evidence answers a recorded nonce, so here it must be REJECTED for freshness while every other
// GPU check passes: that is the binding between the CPU report and the GPUs.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { claimFromExecution, gpuBindingData } from '../../../src/binding/index.ts';
import type { ExecuteResult } from '../../../src/engine/types.ts';
import { Attester, SimulatedSevSnpProvider } from '../../../src/tee/index.ts';
import { createSimulatedGpu, type GpuEvidence } from '../../../src/tee/nvidia/index.ts';
import {
  gpuNonceFor,
  type Verdict,
  verifyExecution,
  verifyGpuEvidenceList,
} from '../../../src/verify/index.ts';
import { nrasRequestEvidence } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'wasmvm-tee-nv-exec-'));
const provider = new SimulatedSevSnpProvider({ stateDir: join(dir, 'sim'), rsaBits: 2048, warn: false });
let root = '';
before(async () => {
  root = await provider.rootPem();
});
after(() => rmSync(dir, { recursive: true, force: true }));

const bytecode = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
const result: ExecuteResult = {
  status: 'ok',
  outputs: [{ type: 'i32', value: 1 }],
  gasUsed: 1n,
  costTableVersion: 'test-v1',
  bytecodeSha256: createHash('sha256').update(bytecode).digest('hex'),
  mode: 'singlepass',
  stdout: new Uint8Array(),
  durationMs: 1,
  cacheHit: false,
};
const claim = claimFromExecution(
  { bytecode, fn: 'f', inputs: [], mode: 'singlepass', nonce: Uint8Array.of(1, 2, 3), requestId: 'nv-1' },
  result,
);

/** The claim's nonce (freshness). */
const N = '010203';

function gpuPart(v: Verdict): Verdict | undefined {
  return v.parts?.find((p) => p.kind.startsWith('nvidia'));
}

describe('composite CPU + GPU attestation (verifyExecution dispatch)', () => {
  it('GPU evidence is verified against gpuNonceFor(REPORT_DATA): recorded evidence fails only on the nonce', async () => {
    const { envelope, claim: full } = await new Attester(provider).attestExecution(claim, 'per-request', {
      gpu: async () => nrasRequestEvidence('nras-v3-h100-1gpu.request.json'),
    });
    const v = await verifyExecution(JSON.stringify(envelope), { trustSimulatedRoot: root, nonce: N });
    assert.equal(v.ok, false);
    const g = gpuPart(v);
    assert.ok(g, `no GPU part in ${v.parts?.map((p) => p.kind).join(', ')}`);
    const local = g!.parts![0]!;
    const fails = local.checks.filter((c) => c.outcome === 'fail').map((c) => c.id);
    assert.deepEqual(fails, ['nvidia.nonce']);
    const expected = Buffer.from(gpuNonceFor(gpuBindingData(full))).toString('hex');
    assert.match(local.checks.find((c) => c.id === 'nvidia.nonce')!.detail, new RegExp(expected));
    // the CPU side itself is fine
    const cpu = v.parts!.find((p) => !p.kind.startsWith('nvidia'))!;
    assert.equal(cpu.ok, true);
  });

  it('simulated GPUs collected for gpuNonceFor(REPORT_DATA): the nonce binds; only the simulated root / sim CC environment are refused', async () => {
    const sim = await createSimulatedGpu({ count: 2 });
    const { envelope, claim: full } = await new Attester(provider).attestExecution(claim, 'per-request', {
      gpu: (bd) => sim.collect(gpuNonceFor(bd)),
    });
    const v = await verifyExecution(JSON.stringify(envelope), { trustSimulatedRoot: root, nonce: N });
    const g = gpuPart(v)!;
    for (const part of g.parts!) {
      const fails = part.checks.filter((c) => c.outcome === 'fail').map((c) => c.id);
      assert.deepEqual(fails.sort(), ['nvidia.cc-settings', 'nvidia.chain.root-pinned', 'nvidia.simulated']);
      assert.equal(part.checks.find((c) => c.id === 'nvidia.nonce')!.outcome, 'pass');
    }
    // the same GPU evidence, checked directly with its root trusted, passes completely
    const direct = await verifyGpuEvidenceList(envelope.gpu as GpuEvidence[], {
      nonce: gpuNonceFor(gpuBindingData(full)),
      trustSimulatedRoot: sim.rootPem(),
    });
    assert.equal(direct.ok, true);
  });

  it('verifyExecution accepts simulated GPUs when told to (trustSimulatedRoot with the GPU root, or allowSimulated), refuses them otherwise', async () => {
    const sim = await createSimulatedGpu({ count: 2 });
    const { envelope } = await new Attester(provider).attestExecution(claim, 'per-request', {
      gpu: (bd) => sim.collect(gpuNonceFor(bd)),
    });
    const json = JSON.stringify(envelope);
    const accepted = [
      await verifyExecution(json, { trustSimulatedRoot: [root, sim.rootPem()], nonce: N }),
      await verifyExecution(json, { allowSimulated: true, nonce: N }),
    ];
    for (const v of accepted) {
      const g = gpuPart(v)!;
      assert.equal(
        g.ok,
        true,
        JSON.stringify(g.parts?.map((p) => p.checks.filter((c) => c.outcome === 'fail'))),
      );
      assert.equal(g.parts!.length, 2);
      for (const part of g.parts!) {
        assert.equal(part.checks.find((c) => c.id === 'nvidia.simulated')!.outcome, 'pass');
        assert.equal(part.checks.find((c) => c.id === 'nvidia.nonce')!.outcome, 'pass');
      }
      assert.equal(v.ok, true);
    }
    // refused: no option, the CPU root only, another simulated GPU's root
    const other = await createSimulatedGpu({ count: 1 });
    for (const o of [{}, { trustSimulatedRoot: root }, { trustSimulatedRoot: [root, other.rootPem()] }]) {
      const v = await verifyExecution(json, { ...o, nonce: N });
      assert.equal(v.ok, false);
      const g = gpuPart(v)!;
      assert.equal(g.ok, false);
      for (const part of g.parts!)
        assert.equal(part.checks.find((c) => c.id === 'nvidia.simulated')!.outcome, 'fail');
    }
  });

  it('allowSimulated does not relax the other GPU checks: evidence for another nonce still fails', async () => {
    const sim = await createSimulatedGpu({ count: 1 });
    const { envelope } = await new Attester(provider).attestExecution(claim, 'per-request', {
      gpu: () => sim.collect(new Uint8Array(32).fill(7)),
    });
    const v = await verifyExecution(JSON.stringify(envelope), { allowSimulated: true, nonce: N });
    assert.equal(v.ok, false);
    const fails = gpuPart(v)!
      .parts![0]!.checks.filter((c) => c.outcome === 'fail')
      .map((c) => c.id);
    assert.deepEqual(fails, ['nvidia.nonce']);
  });

  it('without GPU evidence there is no GPU part', async () => {
    const { json } = await new Attester(provider).attestExecution(claim, 'per-request');
    const v = await verifyExecution(json, { trustSimulatedRoot: root, nonce: N });
    assert.equal(v.ok, true);
    assert.equal(gpuPart(v), undefined);
  });
});
