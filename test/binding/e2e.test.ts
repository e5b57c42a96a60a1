import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AttestationEnvelope, claimFromExecution, reportDataFor } from '../../src/binding/index.ts';
import type { ExecuteResult } from '../../src/engine/types.ts';
import { Attester, SimulatedSevSnpProvider } from '../../src/tee/index.ts';
import { verifyExecution } from '../../src/verify/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'wasmvm-tee-e2e-'));
const provider = new SimulatedSevSnpProvider({ stateDir: join(dir, 'sim'), rsaBits: 2048, warn: false });
let root = '';
before(async () => {
  root = await provider.rootPem();
});
after(() => rmSync(dir, { recursive: true, force: true }));

const bytecode = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
const nonce = Uint8Array.of(9, 8, 7, 6, 5, 4, 3, 2);
const result: ExecuteResult = {
  status: 'ok',
  outputs: [{ type: 'i32', value: 42 }],
  gasUsed: 1234n,
  costTableVersion: 'test-v1',
  bytecodeSha256: createHash('sha256').update(bytecode).digest('hex'),
  mode: 'singlepass',
  stdout: new TextEncoder().encode('hello\n'),
  durationMs: 1,
  cacheHit: false,
};
const claim = claimFromExecution(
  {
    bytecode,
    fn: 'answer',
    inputs: [{ type: 'i64', value: -1n }],
    mode: 'singlepass',
    gasLimit: 10_000n,
    nonce,
    requestId: 'r-1',
  },
  result,
);
const request = {
  execution: {
    requestId: 'r-1',
    bytecodeRaw: Buffer.from(bytecode).toString('base64'),
    fnName: 'answer',
    typedInputs: [{ type: 'VALUE_TYPE_INT64', int64Value: '-1', bits: '18446744073709551615' }],
    nonce: Buffer.from(nonce).toString('base64'),
  },
  runtimeConfig: { mode: 'WASMVM_MODE_SINGLEPASS', gasLimit: { useGasLimit: true, limit: '10000' } },
};
const failedIds = (v: {
  checks: Array<{ id: string; outcome: string }>;
  parts?: Array<{ checks: Array<{ id: string; outcome: string }> }>;
}) => [
  ...v.checks.filter((c) => c.outcome === 'fail').map((c) => c.id),
  ...(v.parts ?? []).flatMap((p) => p.checks.filter((c) => c.outcome === 'fail').map((c) => c.id)),
];

for (const mode of ['per-request', 'session-key'] as const) {
  describe(`end to end (${mode})`, () => {
    let env: AttestationEnvelope;
    let json = '';
    before(async () => {
      const attester = new Attester(provider);
      const r = await attester.attestExecution(claim, mode);
      env = r.envelope;
      json = r.json;
      assert.deepEqual(r.reportData, reportDataFor(claim));
    });

    it('verifies with the trusted simulated root, request and nonce', async () => {
      const v = await verifyExecution(json, {
        trustSimulatedRoot: root,
        request,
        nonce: Buffer.from(nonce).toString('hex'),
      });
      assert.deepEqual(failedIds(v), []);
      assert.equal(v.ok, true);
      assert.equal(v.fields?.simulated, true);
      const ids = v.checks.map((c) => `${c.id}:${c.outcome}`);
      assert.ok(ids.includes('binding.request:pass'));
      assert.ok(ids.includes('binding.nonce:pass'));
      assert.ok(v.parts![0]!.checks.some((c) => c.id === 'snp.simulated' && c.outcome === 'pass'));
    });

    it('fails without the trusted root (simulated evidence rejected by default)', async () => {
      const v = await verifyExecution(json, {});
      assert.equal(v.ok, false);
      const f = failedIds(v);
      assert.ok(f.includes('snp.chain.vek'), f.join());
      assert.ok(f.includes('snp.simulated'), f.join());
    });

    it('requireGpu fails when the envelope has no GPU evidence', async () => {
      const v = await verifyExecution(json, { trustSimulatedRoot: root, requireGpu: true });
      assert.deepEqual(failedIds(v), ['gpu.required']);
    });

    it('--allow-simulated accepts it, loudly', async () => {
      const v = await verifyExecution(json, { allowSimulated: true });
      assert.equal(v.ok, true, failedIds(v).join());
      assert.match(v.parts![0]!.checks.find((c) => c.id === 'snp.simulated')!.detail, /ANY simulated root/);
    });

    it('a tampered output fails at the binding check', async () => {
      const t = structuredClone(env);
      t.claim.outputs = [{ type: 'i32', value: 43 }];
      const v = await verifyExecution(JSON.stringify(t), { trustSimulatedRoot: root });
      assert.equal(v.ok, false);
      const f = failedIds(v);
      assert.ok(f.includes('binding.report-data'), f.join());
      if (mode === 'per-request') assert.ok(f.includes('binding.evidence-report-data'), f.join());
      else assert.ok(f.includes('binding.session-signature'), f.join());
      // and with a consistent (recomputed) reportData, the evidence / signature still catches it
      t.reportData = Buffer.from(reportDataFor({ ...claim, outputs: [{ type: 'i32', value: 43 }] })).toString(
        'hex',
      );
      const v2 = await verifyExecution(JSON.stringify(t), { trustSimulatedRoot: root });
      assert.equal(v2.ok, false);
      assert.ok(
        failedIds(v2).some(
          (id) => id === 'binding.evidence-report-data' || id === 'binding.session-signature',
        ),
      );
    });

    it('a different request or nonce fails', async () => {
      const other = structuredClone(request);
      other.execution.fnName = 'other';
      const v = await verifyExecution(json, { trustSimulatedRoot: root, request: other, nonce: 'ff' });
      const f = failedIds(v);
      assert.ok(f.includes('binding.request'));
      assert.ok(f.includes('binding.nonce'));
    });

    it('a response whose outputs differ from the claim fails', async () => {
      const response = {
        requestId: 'r-1',
        result: {
          attestation: json,
          outputValues: [{ type: 'VALUE_TYPE_INT32', int32Value: 41 }],
          status: 'ok',
        },
      };
      const v = await verifyExecution(undefined, { response, trustSimulatedRoot: root });
      assert.ok(failedIds(v).includes('binding.response'));
      const good = {
        requestId: 'r-1',
        result: {
          attestation: json,
          outputValues: [{ type: 'VALUE_TYPE_INT32', int32Value: 42, bits: '42' }],
          status: 'ok',
          gasUsed: '1234',
        },
      };
      const v2 = await verifyExecution(undefined, { response: good, trustSimulatedRoot: root });
      assert.deepEqual(failedIds(v2), []);
    });
  });
}

describe('session key', () => {
  it('rotates after its lifetime, and a GetAttestation nonce is bound', async () => {
    let t = Date.parse('2026-01-01T00:00:00Z');
    const a = new Attester(provider, { sessionKeyLifetimeMs: 1000, now: () => t });
    const s1 = await a.currentSession();
    t += 2000;
    const s2 = await a.currentSession();
    assert.equal(s2.epoch, s1.epoch + 1);
    assert.notEqual(s2.spki, s1.spki);
    const jwks = await a.jwks();
    assert.equal(jwks.keys.length, 2);
    const { session, reportData } = await a.sessionEvidence(Uint8Array.of(1, 2, 3));
    assert.equal(session.nonce, '010203');
    const { sessionKeyReportData } = await import('../../src/binding/index.ts');
    assert.deepEqual(
      reportData,
      sessionKeyReportData(Buffer.from(session.spki, 'base64'), session.epoch, Uint8Array.of(1, 2, 3)),
    );
  });

  it('signs ES384 JWTs verifiable with its JWKS', async () => {
    const { createLocalJWKSet, jwtVerify } = await import('jose');
    const a = new Attester(provider, { issuer: 'test-issuer' });
    const token = await a.signJwt({ sub: 'vm', nonce: 'abc' });
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(await a.jwks()), {
      issuer: 'test-issuer',
    });
    assert.equal(protectedHeader.alg, 'ES384');
    assert.equal(payload.nonce, 'abc');
  });
});

describe('GetAttestation (session evidence)', () => {
  it('verifies for the right nonce with the trusted root, fails for another nonce or without the root', async () => {
    const { verifySessionAttestation } = await import('../../src/verify/index.ts');
    const a = new Attester(provider);
    const { session } = await a.sessionEvidence(Uint8Array.of(0xaa, 0xbb));
    const ok = await verifySessionAttestation(JSON.stringify(session), {
      nonce: 'aabb',
      trustSimulatedRoot: root,
    });
    assert.equal(ok.ok, true, JSON.stringify(ok.checks));
    const bad = await verifySessionAttestation(session, { nonce: 'aabc', trustSimulatedRoot: root });
    assert.ok(failedIds(bad).includes('binding.nonce'));
    assert.ok(failedIds(bad).includes('binding.session-key'));
    const noRoot = await verifySessionAttestation(session, { nonce: 'aabb' });
    assert.equal(noRoot.ok, false);
  });
});

describe('dispatch by evidence kind', () => {
  it('TDX evidence goes to the TDX verifier (and a claim it does not bind fails the binding)', async () => {
    const { readFileSync } = await import('node:fs');
    const quote = readFileSync(new URL('../data/tdx/quote-v4-phala-b0c06f.dat', import.meta.url));
    const { claimToJson, reportDataFor: rdf } = await import('../../src/binding/index.ts');
    const env = {
      format: 'wasmvm-tee/attestation',
      v: 1,
      mode: 'per-request',
      claim: claimToJson(claim),
      reportData: Buffer.from(rdf(claim)).toString('hex'),
      evidence: { kind: 'tdx', simulated: false, provider: 'configfs-tsm', report: quote.toString('base64') },
    };
    const v = await verifyExecution(JSON.stringify(env), { now: new Date('2025-07-01T00:00:00Z') });
    assert.equal(v.ok, false);
    assert.ok(failedIds(v).includes('binding.evidence-report-data'));
    assert.equal(v.parts?.[0]?.kind, 'tdx');
  });
});

describe('simulated TDX through the same Attester and verifier', () => {
  it('verifies with --allow-simulated, fails without', async () => {
    const { detectTee } = await import('../../src/tee/index.ts');
    const tdx = await detectTee({ force: 'simulated-tdx' });
    assert.equal(tdx.kind, 'tdx');
    for (const mode of ['per-request', 'session-key'] as const) {
      const { json } = await new Attester(tdx).attestExecution(claim, mode);
      const ok = await verifyExecution(json, { allowSimulated: true });
      assert.deepEqual(failedIds(ok), [], mode);
      assert.equal(ok.parts?.[0]?.kind, 'tdx');
      assert.equal((await verifyExecution(json, {})).ok, false, mode);
    }
  });
});
