import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { describeOpaque, parseSpdmEvidence } from '../../../src/formats/nvidia/spdm.ts';
import { attestWithNras, buildNrasRequest } from '../../../src/tee/nvidia/index.ts';
import { SimulatedGpu } from '../../../src/tee/nvidia/simulated.ts';
import { verifyGpuEvidence, verifyGpuEvidenceList } from '../../../src/verify/nvidia/local.ts';
import { checkOf } from '../../verify/nvidia/helpers.ts';

describe('simulated GPU (real formats, local root)', async () => {
  const sim = await SimulatedGpu.create({ count: 2 });
  const nonce = new Uint8Array(32).map((_, i) => 255 - i);

  it('produces SPDM 1.1 evidence the parser reads like a real report', async () => {
    const [e] = await sim.collect(nonce, { index: 0 });
    const s = parseSpdmEvidence(Buffer.from(e!.evidence, 'base64'));
    assert.equal(s.response.blocks.length, 64);
    assert.equal(Buffer.from(s.request.nonce).toString('hex'), Buffer.from(nonce).toString('hex'));
    assert.equal(describeOpaque(s.response).DRIVER_VERSION, '550.90.07');
    assert.equal(describeOpaque(s.response).VBIOS_VERSION, '96.00.D9.00.02');
    assert.equal(e!.source, 'simulated');
  });

  it('is REJECTED by default (not the pinned NVIDIA root, marked simulated)', async () => {
    const [e] = await sim.collect(nonce, { index: 1 });
    const v = await verifyGpuEvidence(e!, { nonce });
    assert.equal(v.ok, false);
    assert.equal(checkOf(v, 'nvidia.chain.root-pinned').outcome, 'fail');
    assert.equal(checkOf(v, 'nvidia.simulated').outcome, 'fail');
    // the evidence itself is internally sound: signature and FWID verify with its own leaf
    assert.equal(checkOf(v, 'nvidia.spdm.signature').outcome, 'pass');
    assert.equal(checkOf(v, 'nvidia.chain.fwid').outcome, 'pass');
  });

  it('is accepted only with its root explicitly trusted; every check then passes', async () => {
    const list = await sim.collect(nonce);
    const v = await verifyGpuEvidenceList(list, { nonce, trustSimulatedRoot: sim.rootPem() });
    assert.equal(
      v.ok,
      true,
      JSON.stringify(v.parts?.flatMap((p) => p.checks.filter((c) => c.outcome === 'fail'))),
    );
    const p = v.parts![0]!;
    assert.match(checkOf(p, 'nvidia.simulated').detail, /SIMULATED/);
    assert.match(checkOf(p, 'nvidia.chain.root-pinned').detail, /explicitly trusted/);
    // another simulator's root does not help
    const other = await SimulatedGpu.create();
    const w = await verifyGpuEvidenceList(list, { nonce, trustSimulatedRoot: other.rootPem() });
    assert.equal(w.ok, false);
    // and a wrong nonce still fails
    const n = await verifyGpuEvidenceList(list, {
      nonce: new Uint8Array(32),
      trustSimulatedRoot: sim.rootPem(),
    });
    assert.equal(n.ok, false);
  });

  it('bad nonce / index are typed errors; evidence fits an NRAS request', async () => {
    await assert.rejects(sim.collect(new Uint8Array(31)), /NVIDIA_BAD_NONCE/);
    await assert.rejects(sim.collect(nonce, { index: 2 }), /NVIDIA_BAD_INDEX/);
    const body = buildNrasRequest(await sim.collect(nonce), 'v4');
    assert.equal(body.evidence_list.length, 2);
    assert.equal(typeof attestWithNras, 'function');
  });
});
