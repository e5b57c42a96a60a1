import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import {
  type AttestationResult,
  createHostHandlerInstance,
  guestReportData,
  type HostHandlerDeps,
  verifyAuditLog,
} from '../../src/host/index.ts';
import { Attester } from '../../src/tee/index.ts';
import type { CpuEvidence, TeeProvider } from '../../src/tee/types.ts';
import type { Verdict } from '../../src/verify/types.ts';

const MEASUREMENT = 'ab'.repeat(48);

/** A provider producing SEV-SNP-shaped reports (fields at the ABI offsets), counting calls. */
function fakeTee(opts: { debug?: boolean; simulated?: boolean } = {}): TeeProvider & { calls: Uint8Array[] } {
  const calls: Uint8Array[] = [];
  return {
    kind: 'sev-snp',
    simulated: opts.simulated ?? true,
    description: 'fake SEV-SNP for tests',
    calls,
    async getEvidence(reportData: Uint8Array): Promise<CpuEvidence> {
      calls.push(reportData);
      const r = new Uint8Array(1184);
      const dv = new DataView(r.buffer);
      dv.setUint32(0, 5, true);
      dv.setBigUint64(8, (1n << 17n) | (opts.debug ? 1n << 19n : 0n), true);
      r.set(reportData, 0x50);
      r.set(Buffer.from(MEASUREMENT, 'hex'), 0x90);
      return { kind: 'sev-snp', simulated: opts.simulated ?? true, report: r, provider: 'fake' };
    },
  };
}

const okVerifier = async (): Promise<Verdict> => ({
  ok: true,
  kind: 'sev-snp',
  checks: [{ id: 'fake', outcome: 'pass', detail: '' }],
});

function make(deps: Partial<HostHandlerDeps> = {}) {
  const tee = fakeTee();
  const inst = createHostHandlerInstance({
    tee,
    signer: new Attester(tee),
    verifyCpu: okVerifier,
    policy: { allowSimulated: true },
    ...deps,
  });
  return { ...inst, tee: (deps.tee as ReturnType<typeof fakeTee>) ?? tee };
}

describe('host handler', () => {
  test('attest_vm: fresh nonce, REPORT_DATA bound, ES384 token our verify_token accepts', async () => {
    const { handler, tee } = make({ cacheTtlMs: 0 });
    const a = (await handler('attest_vm', {})) as AttestationResult;
    const b = (await handler('attest_vm', {})) as AttestationResult;
    assert.equal(a.success, true, a.error);
    assert.notEqual(a.nonce, b.nonce, 'fresh nonce per attestation');
    assert.equal(
      a.report_data,
      Buffer.from(guestReportData(Buffer.from(a.nonce!, 'hex'), new Uint8Array(0))).toString('hex'),
    );
    // the session key's own attestation happens too; the last two calls are ours
    assert.equal(Buffer.from(tee.calls.at(-1)!).toString('hex'), b.report_data);
    const claims = decodeJwt(a.token!);
    assert.equal(claims.tee_type, 'sev-snp');
    assert.equal(claims.simulated, true);
    assert.equal(claims.measurement, MEASUREMENT);
    assert.equal(claims.report_data, a.report_data);
    assert.equal(claims.nonce, a.nonce);
    assert.deepEqual((await handler('verify_token', { token: a.token })) as { valid: boolean }, {
      valid: true,
      issuer: 'wasmvm-tee',
      reason: undefined,
    });
    const tampered = `${a.token!.slice(0, -4)}AAAA`;
    assert.equal(((await handler('verify_token', { token: tampered })) as { valid: boolean }).valid, false);
  });

  test('guest data is bound into REPORT_DATA through the domain-separated hash, never raw', async () => {
    const { handler } = make({ cacheTtlMs: 0 });
    const data = 'cd'.repeat(64);
    const r = (await handler('attest_vm', { data })) as AttestationResult;
    assert.equal(r.success, true);
    assert.notEqual(r.report_data, data);
    const expect = guestReportData(Buffer.from(r.nonce!, 'hex'), Buffer.from(data, 'hex'));
    assert.equal(r.report_data, Buffer.from(expect).toString('hex'));
  });

  test('cache: a hit within the TTL, a miss after it, keyed by data; clear_cache empties it', async () => {
    let now = 1_000_000;
    const { handler, cache } = make({ cacheTtlMs: 10_000, now: () => now });
    const a = (await handler('attest_vm', {})) as AttestationResult;
    const b = (await handler('attest_vm', {})) as AttestationResult;
    assert.equal(b.cached, true);
    assert.equal(b.nonce, a.nonce);
    const c = (await handler('attest_vm', { data: '01' })) as AttestationResult;
    assert.notEqual(c.nonce, a.nonce, 'different data, different entry');
    now += 10_001;
    const d = (await handler('attest_vm', {})) as AttestationResult;
    assert.notEqual(d.nonce, a.nonce, 'expired');
    assert.ok(cache.size > 0);
    await handler('clear_cache', {});
    assert.equal(cache.size, 0);
    const e = (await handler('attest_vm', {})) as AttestationResult;
    assert.notEqual(e.nonce, d.nonce);
  });

  test('policy: simulated evidence refused by default', async () => {
    const { handler } = make({ policy: {} });
    const r = (await handler('attest_vm', {})) as AttestationResult;
    assert.equal(r.success, false);
    assert.deepEqual(r.policy_failed, ['policy.simulated']);
    assert.equal(r.token, undefined);
  });

  test('policy: debug guests, unlisted measurements and failed verification are refused', async () => {
    const tee = fakeTee({ debug: true });
    const dbg = (await make({ tee, signer: new Attester(tee) }).handler(
      'attest_vm',
      {},
    )) as AttestationResult;
    assert.deepEqual(dbg.policy_failed, ['policy.debug']);
    const meas = (await make({
      policy: { allowSimulated: true, allowedMeasurements: ['00'.repeat(48)] },
    }).handler('attest_vm', {})) as AttestationResult;
    assert.deepEqual(meas.policy_failed, ['policy.measurement']);
    const bad = (await make({
      verifyCpu: async () => ({
        ok: false,
        kind: 'sev-snp',
        checks: [{ id: 'snp.report.signature', outcome: 'fail', detail: 'bad' }],
      }),
    }).handler('attest_vm', {})) as AttestationResult;
    assert.deepEqual(bad.policy_failed, ['policy.evidence-verified']);
    assert.match(bad.error!, /snp.report.signature/);
    const none = (await make({ verifyCpu: undefined }).handler('attest_vm', {})) as AttestationResult;
    assert.deepEqual(none.policy_failed, ['policy.evidence-verified']);
  });

  test('no TEE / no GPU: clear failures', async () => {
    const { handler } = createHostHandlerInstance({});
    const vm = (await handler('attest_vm', {})) as AttestationResult;
    assert.equal(vm.success, false);
    assert.match(vm.error!, /no TEE available/);
    const gpu = (await handler('attest_gpu', { index: 0 })) as AttestationResult;
    assert.equal(gpu.success, false);
    assert.match(gpu.error!, /^no NVIDIA GPU \/ NVML not available/);
    assert.deepEqual(await handler('detect_tee', {}), {
      tee_type: 'None',
      supports_attestation: false,
      simulated: false,
      code: 0,
      gpu: false,
      webgpu: { available: false, reason: 'WebGPU is not enabled (--webgpu)' },
    });
  });

  test('GPU provider: evidence verified and policy applied', async () => {
    const gpu = {
      description: 'fake GPU',
      async collect(index: number, nonce: Uint8Array) {
        return {
          evidence: { arch: 'HOPPER', nonce: Buffer.from(nonce).toString('hex'), index },
          simulated: true,
          arch: 'HOPPER',
        };
      },
      async verify(
        ev: Record<string, unknown>,
        nonce: Uint8Array,
        opts: { referenceValues?: Record<string, unknown> },
      ): Promise<Verdict> {
        const ok = ev.nonce === Buffer.from(nonce).toString('hex');
        const appraised = opts.referenceValues !== undefined;
        return {
          ok,
          kind: 'nvidia-local',
          checks: [
            { id: 'gpu.nonce', outcome: ok ? 'pass' : 'fail', detail: '' },
            { id: 'nvidia.measurements', outcome: appraised ? 'pass' : 'skip', detail: '' },
          ],
        };
      },
    };
    const rv = { measurements: { '1': 'aa' } };
    const { handler } = make({
      gpu,
      policy: { allowSimulated: true, gpu: { requireMeasurementMatch: true, referenceValues: rv } },
    });
    const r = (await handler('attest_gpu', { index: 0 })) as AttestationResult;
    assert.equal(r.success, true, r.error);
    const noRef = (await make({ gpu }).handler('attest_gpu', { index: 0 })) as AttestationResult;
    assert.deepEqual(
      noRef.policy_failed,
      ['policy.gpu.measurements'],
      'measurements not appraised → refused',
    );
    assert.match(noRef.error!, /not appraised/);
    assert.equal(decodeJwt(r.token!).kind, 'gpu');
    const strict = make({ gpu, policy: { gpu: { requireMeasurementMatch: true, referenceValues: rv } } });
    const s = (await strict.handler('attest_gpu', { index: 0 })) as AttestationResult;
    assert.deepEqual(s.policy_failed, ['policy.gpu.simulated']);
  });

  test('audit log: every call appended, chain verifies, no token in the log', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'haudit-')), 'audit.log');
    const { handler } = make({ auditLogPath: path });
    const r = (await handler('attest_vm', {})) as AttestationResult;
    await handler('verify_token', { token: r.token });
    await handler('attest_gpu', { index: 1 });
    await handler('clear_cache', {});
    const v = verifyAuditLog(path);
    assert.equal(v.ok, true);
    assert.equal(v.lines, 4);
    const text = readFileSync(path, 'utf8');
    assert.ok(!text.includes(r.token!), 'token never logged');
    assert.ok(!text.includes(r.token!.split('.')[2]!), 'signature never logged');
    assert.match(text, /"token_sha256":"[0-9a-f]{64}"/);
  });

  test("'stdio' passthrough only with a sink (the runner); refused otherwise (the service)", async () => {
    await assert.rejects(make().handler('stdio', { fd: 1, data: 'aGk=' }), /not enabled/);
    const got: [number, string][] = [];
    const { handler } = make({ stdio: (fd, d) => got.push([fd, Buffer.from(d).toString()]) });
    await handler('stdio', { fd: 2, data: Buffer.from('hi').toString('base64') });
    assert.deepEqual(got, [[2, 'hi']]);
  });
});
