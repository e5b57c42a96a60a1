/**
 * The guest API's attestation policy from a reference-value policy file (docs/reference-values.md):
 * the same file `wasmvm-tee verify --policy` takes. Its SEV-SNP section reaches the CPU verifier
 * (pinned MEASUREMENT, TCB minimums), allowSimulated is taken as is, NVIDIA RIM versions pin the GPU's
 * driver and VBIOS versions. End to end with the simulated SEV-SNP provider and the real verifier.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type AttestationResult,
  cpuVerifier,
  createHostHandlerInstance,
  HostPolicyError,
  loadPolicy,
  parsePolicy,
} from '../../src/host/index.ts';
import { Attester, SimulatedSevSnpProvider } from '../../src/tee/index.ts';
import type { Verdict } from '../../src/verify/types.ts';

const MEAS = '5a'.repeat(48);
const rv = (extra: Record<string, unknown>) => ({ format: 'wasmvm-tee/reference-values/v1', ...extra });

describe('host policy from a reference-value file', () => {
  let dir: string;
  let tee: SimulatedSevSnpProvider;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wasmvm-host-rv-'));
    tee = new SimulatedSevSnpProvider({
      stateDir: dir,
      rsaBits: 2048,
      warn: false,
      measurement: new Uint8Array(Buffer.from(MEAS, 'hex')),
    });
    await tee.getChain();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const attestVm = async (policyJson: unknown) => {
    const { handler } = createHostHandlerInstance({
      tee,
      signer: new Attester(tee),
      verifyCpu: cpuVerifier(tee),
      policy: parsePolicy(policyJson),
      cacheTtlMs: 0,
    });
    return (await handler('attest_vm', {})) as AttestationResult;
  };

  test('the file maps onto the host policy; a typo is refused', () => {
    const p = parsePolicy(
      rv({
        allowSimulated: true,
        snp: { measurements: [MEAS], minTcb: { snpSPL: 1 } },
        nvidia: { rimVersions: ['580.95.05', '96.00.74.00.1A'] },
      }),
    );
    assert.equal(p.allowSimulated, true);
    assert.equal(p.allowDebug, false);
    assert.equal(p.requireVerifiedEvidence, true);
    assert.deepEqual(p.gpu.rimVersions, ['580.95.05', '96.00.74.00.1A']);
    assert.deepEqual(p.referenceValues?.snp?.measurements, [MEAS]);
    assert.throws(
      () => parsePolicy(rv({ snp: { measurement: [MEAS] } })),
      (e: unknown) => {
        assert.ok(e instanceof HostPolicyError);
        assert.match((e as Error).message, /^reference-value policy: snp: /);
        return true;
      },
    );
    const f = join(dir, 'rv.json');
    writeFileSync(f, JSON.stringify(rv({ allowSimulated: true })));
    assert.equal(loadPolicy(f).allowSimulated, true, 'run --policy FILE reads the same file');
  });

  test('attest_vm: the pinned measurement passes; another one is refused by the verifier', async () => {
    const ok = await attestVm(rv({ allowSimulated: true, snp: { measurements: [MEAS] } }));
    assert.equal(ok.success, true, ok.error);
    const other = await attestVm(rv({ allowSimulated: true, snp: { measurements: ['00'.repeat(48)] } }));
    assert.equal(other.success, false);
    assert.deepEqual(other.policy_failed, ['policy.evidence-verified']);
    assert.match(other.error!, /snp\.policy\.measurement/);
  });

  test('attest_vm: a TCB minimum above the evidence is refused; simulated refused unless the file allows it', async () => {
    const tcb = await attestVm(rv({ allowSimulated: true, snp: { minTcb: { snpSPL: 255 } } }));
    assert.equal(tcb.success, false);
    assert.match(tcb.error!, /snp\.policy\.(min-)?tcb/);
    const sim = await attestVm(rv({ snp: { measurements: [MEAS] } }));
    assert.equal(sim.success, false);
    assert.ok(sim.policy_failed?.includes('policy.simulated'));
  });

  test('attest_gpu: the driver and VBIOS versions must be accepted RIM versions', async () => {
    const gpu = (driverVersion: string) => ({
      description: 'fake GPU',
      async collect() {
        return { evidence: { arch: 'HOPPER' }, simulated: true, arch: 'HOPPER' };
      },
      async verify(): Promise<Verdict> {
        return {
          ok: true,
          kind: 'nvidia-local',
          checks: [{ id: 'nvidia.measurements', outcome: 'pass', detail: '' }],
          fields: { driverVersion, vbiosVersion: '96.00.74.00.1a' },
        };
      },
    });
    const policy = parsePolicy(
      rv({ allowSimulated: true, nvidia: { rimVersions: ['580.95.05', '96.00.74.00.1A'] } }),
    );
    const run = async (v: string) =>
      (await createHostHandlerInstance({ gpu: gpu(v), policy, cacheTtlMs: 0 }).handler('attest_gpu', {
        index: 0,
      })) as AttestationResult;
    const ok = await run('580.95.05');
    assert.equal(ok.success, true, ok.error);
    const old = await run('550.54.15');
    assert.deepEqual(old.policy_failed, ['policy.gpu.rim-versions']);
    assert.match(old.error!, /driver 550\.54\.15/);
  });
});
