import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type AttestationEnvelope,
  claimFromExecution,
  type ExecutionClaim,
  reportDataFor,
} from '../../src/binding/index.ts';
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
/** No nonce in these calls: freshness explicitly skipped. */
const SKIP = { freshness: 'skip' } as const;
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
    let full: ExecutionClaim;
    let json = '';
    before(async () => {
      const attester = new Attester(provider);
      const r = await attester.attestExecution(claim, mode);
      env = r.envelope;
      json = r.json;
      full = r.claim;
      assert.deepEqual(r.reportData, reportDataFor(r.claim));
      assert.equal(r.claim.attestationMode, mode);
      assert.equal(r.claim.simulated, true);
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
      const v = await verifyExecution(json, SKIP);
      assert.equal(v.ok, false);
      const f = failedIds(v);
      assert.ok(f.includes('snp.chain.vek'), f.join());
      assert.ok(f.includes('snp.simulated'), f.join());
    });

    it('requireGpu fails when the envelope has no GPU evidence', async () => {
      const v = await verifyExecution(json, { trustSimulatedRoot: root, requireGpu: true, ...SKIP });
      assert.deepEqual(failedIds(v), ['gpu.required']);
    });

    it('--allow-simulated accepts it, loudly', async () => {
      const v = await verifyExecution(json, { allowSimulated: true, ...SKIP });
      assert.equal(v.ok, true, failedIds(v).join());
      assert.match(v.parts![0]!.checks.find((c) => c.id === 'snp.simulated')!.detail, /ANY simulated root/);
    });

    it('a tampered output fails at the binding check', async () => {
      const t = structuredClone(env);
      t.claim.outputs = [{ type: 'i32', value: 43 }];
      const v = await verifyExecution(JSON.stringify(t), { trustSimulatedRoot: root, ...SKIP });
      assert.equal(v.ok, false);
      const f = failedIds(v);
      assert.ok(f.includes('binding.report-data'), f.join());
      if (mode === 'per-request') assert.ok(f.includes('binding.evidence-report-data'), f.join());
      else assert.ok(f.includes('binding.session-signature'), f.join());
      // and with a consistent (recomputed) reportData, the evidence / signature still catches it
      t.reportData = Buffer.from(reportDataFor({ ...full, outputs: [{ type: 'i32', value: 43 }] })).toString(
        'hex',
      );
      const v2 = await verifyExecution(JSON.stringify(t), { trustSimulatedRoot: root, ...SKIP });
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
      const v = await verifyExecution(undefined, { response, trustSimulatedRoot: root, ...SKIP });
      assert.ok(failedIds(v).includes('response.outputs'), failedIds(v).join());
      // Absent proto3 fields are their defaults: the inputs (none shown) and `simulated` (false) are
      // statements the claim contradicts; an absent attestation mode or bytecode hash is just not shown.
      assert.ok(failedIds(v).includes('response.inputs'), failedIds(v).join());
      assert.ok(failedIds(v).includes('response.simulated'), failedIds(v).join());
      assert.ok(!failedIds(v).includes('response.attestation-mode'), failedIds(v).join());
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
    const { sessionKeyDataFromJson } = await import('../../src/binding/index.ts');
    assert.deepEqual(
      reportData,
      sessionKeyReportData(sessionKeyDataFromJson(session), Uint8Array.of(1, 2, 3)),
    );
    // the validity window is inside the attested data
    const d = sessionKeyDataFromJson(session);
    assert.equal(d.notAfter - d.notBefore, 1000);
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
    const full: ExecutionClaim = {
      ...claim,
      attestationMode: 'per-request',
      teeKind: 'tdx',
      simulated: false,
      issuedAt: BigInt(Date.parse('2025-07-01T00:00:00Z')),
    };
    const env = {
      format: 'wasmvm-tee/attestation',
      v: 3,
      mode: 'per-request',
      claim: claimToJson(full),
      reportData: Buffer.from(rdf(full)).toString('hex'),
      evidence: { kind: 'tdx', simulated: false, provider: 'configfs-tsm', report: quote.toString('base64') },
    };
    const v = await verifyExecution(JSON.stringify(env), { now: new Date('2025-07-01T00:00:00Z'), ...SKIP });
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
      const ok = await verifyExecution(json, { allowSimulated: true, ...SKIP });
      assert.deepEqual(failedIds(ok), [], mode);
      assert.equal(ok.parts?.[0]?.kind, 'tdx');
      assert.equal((await verifyExecution(json, SKIP)).ok, false, mode);
    }
  });
});

describe('session-key claim key (ES256) binding', () => {
  // A session built by hand, so that the test holds every private key: the P-384 token key, the bound P-256
  // claim key and an unbound P-256 key.
  let session: import('../../src/binding/index.ts').SessionKeyJson;
  let full: ExecutionClaim;
  const keys = {} as Record<'p384' | 'claim' | 'rogue', import('node:crypto').KeyObject>;
  let rogueSpki = '';
  const der = (k: import('node:crypto').KeyObject) =>
    new Uint8Array(k.export({ format: 'der', type: 'spki' }));
  before(async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { b64, evidenceToJson, sessionKeyReportData } = await import('../../src/binding/index.ts');
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const claimKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const rogue = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    keys.p384 = p384.privateKey;
    keys.claim = claimKey.privateKey;
    keys.rogue = rogue.privateKey;
    rogueSpki = b64(der(rogue.publicKey));
    const spki = der(p384.publicKey);
    const claimSpki = der(claimKey.publicKey);
    const j = p384.publicKey.export({ format: 'jwk' });
    const notBefore = Date.now() - 60_000;
    const notAfter = Date.now() + 3600_000;
    const data = { spki, claimSpki, epoch: 1, notBefore, notAfter, kid: 'test-kid' };
    const identity = sessionKeyReportData(data);
    const evidence = await provider.getEvidence(identity);
    session = {
      jwk: { kty: 'EC', crv: 'P-384', x: j.x!, y: j.y!, kid: 'test-kid' },
      spki: b64(spki),
      claimSpki: b64(claimSpki),
      epoch: 1,
      notBefore: new Date(notBefore).toISOString(),
      notAfter: new Date(notAfter).toISOString(),
      nonce: '',
      evidence: evidenceToJson(evidence),
    };
    full = {
      ...claim,
      attestationMode: 'session-key',
      teeKind: 'sev-snp',
      simulated: true,
      session: Buffer.from(identity).toString('hex'),
      issuedAt: BigInt(Date.now()),
    };
  });
  const envelope = async (
    key: 'p384' | 'claim' | 'rogue',
    over: Record<string, unknown> = {},
    sessionOver: Record<string, unknown> = {},
  ) => {
    const { sign } = await import('node:crypto');
    const { claimToJson, encodeClaim } = await import('../../src/binding/index.ts');
    const sig = sign(key === 'p384' ? 'sha384' : 'sha256', encodeClaim(full), {
      key: keys[key],
      dsaEncoding: 'ieee-p1363',
    });
    return JSON.stringify({
      format: 'wasmvm-tee/attestation',
      v: 3,
      mode: 'session-key',
      claim: claimToJson(full),
      reportData: Buffer.from(reportDataFor(full)).toString('hex'),
      session: { ...session, ...sessionOver },
      signatureAlg: 'ES256',
      signature: sig.toString('base64'),
      ...over,
    });
  };

  it('a claim signed by the bound P-256 claim key verifies', async () => {
    const v = await verifyExecution(await envelope('claim'), { trustSimulatedRoot: root, ...SKIP });
    assert.deepEqual(failedIds(v), []);
    assert.equal(v.ok, true);
  });

  it('a claim signed by the P-384 session key is rejected', async () => {
    const v = await verifyExecution(await envelope('p384'), { trustSimulatedRoot: root, ...SKIP });
    assert.equal(v.ok, false);
    assert.deepEqual(failedIds(v), ['binding.session-signature']);
    // and so is the old (v1) ES384 form
    const es384 = await verifyExecution(await envelope('p384', { signatureAlg: 'ES384' }), {
      trustSimulatedRoot: root,
    });
    assert.deepEqual(failedIds(es384), ['binding.envelope']);
    assert.match(es384.checks[0]!.detail, /unsupported signatureAlg 'ES384'/);
  });

  it('a claim signed by an unbound P-256 key is rejected', async () => {
    const v = await verifyExecution(await envelope('rogue'), { trustSimulatedRoot: root, ...SKIP });
    assert.equal(v.ok, false);
    assert.deepEqual(failedIds(v), ['binding.session-signature']);
  });

  it('swapping the claim SPKI (to the key that signed) fails the binding', async () => {
    const v = await verifyExecution(await envelope('rogue', {}, { claimSpki: rogueSpki }), {
      trustSimulatedRoot: root,
    });
    assert.equal(v.ok, false);
    const f = failedIds(v);
    assert.ok(!f.includes('binding.session-signature'), f.join());
    assert.ok(f.includes('binding.session-key'), f.join());
  });

  it('unknown versions, algorithms and a missing claim key are rejected clearly', async () => {
    for (const [over, sOver, re] of [
      [{ v: 2 }, {}, /unsupported envelope version 2 \(this verifier reads v3\)/],
      [{ v: 4 }, {}, /unsupported envelope version 4/],
      [{ extra: 1 }, {}, /attestation\.extra: unknown field/],
      [
        {},
        { notAfter: '2030-01-01T00:00:00Z' },
        /session\.notAfter: not an ISO-8601 UTC time with milliseconds/,
      ],
      [{ signatureAlg: undefined }, {}, /unsupported signatureAlg 'undefined'/],
      [{ signatureAlg: 'EdDSA' }, {}, /unsupported signatureAlg 'EdDSA'/],
      [{}, { claimSpki: undefined }, /session\.claimSpki missing/],
    ] as const) {
      const v = await verifyExecution(await envelope('claim', over, sOver), {
        trustSimulatedRoot: root,
        ...SKIP,
      });
      assert.equal(v.ok, false);
      assert.match(v.checks.find((c) => c.id === 'binding.envelope')!.detail, re);
    }
  });

  it('a P-384 key as claim key is rejected even when bound', async () => {
    const { b64, evidenceToJson, sessionKeyReportData } = await import('../../src/binding/index.ts');
    const { createPublicKey } = await import('node:crypto');
    const spki = Buffer.from(session.spki, 'base64');
    const p384Spki = der(createPublicKey(keys.p384));
    const { sessionKeyDataFromJson } = await import('../../src/binding/index.ts');
    const data = { ...sessionKeyDataFromJson(session), spki: new Uint8Array(spki), claimSpki: p384Spki };
    const evidence = await provider.getEvidence(sessionKeyReportData(data));
    const v = await verifyExecution(
      await envelope('p384', {}, { claimSpki: b64(p384Spki), evidence: evidenceToJson(evidence) }),
      { trustSimulatedRoot: root, ...SKIP },
    );
    assert.ok(failedIds(v).includes('binding.session-signature'), failedIds(v).join());
    assert.ok(!failedIds(v).includes('binding.session-key'), failedIds(v).join());
    assert.match(
      v.checks.find((c) => c.id === 'binding.session-signature')!.detail,
      /not an ECDSA P-256 key/,
    );
  });

  it('GetAttestation: a swapped claim SPKI fails the binding', async () => {
    const { verifySessionAttestation } = await import('../../src/verify/index.ts');
    const a = new Attester(provider);
    const { session: s } = await a.sessionEvidence(Uint8Array.of(0xcc));
    const ok = await verifySessionAttestation(s, { nonce: 'cc', trustSimulatedRoot: root });
    assert.equal(ok.ok, true, JSON.stringify(ok.checks));
    assert.equal(ok.fields?.claimSpki, s.claimSpki);
    const swapped = await verifySessionAttestation(
      { ...s, claimSpki: rogueSpki },
      { nonce: 'cc', trustSimulatedRoot: root },
    );
    assert.equal(swapped.ok, false);
    const f = failedIds(swapped);
    assert.ok(f.includes('binding.session-key'), f.join());
    assert.ok(!f.includes('binding.nonce') && !f.includes('binding.session-claim-key'), f.join());
  });

  it('the Attester signs claims with ES256 (64-byte P1363) by its claim key', async () => {
    const { createPublicKey, verify } = await import('node:crypto');
    const { encodeClaim } = await import('../../src/binding/index.ts');
    const { envelope: e, claim: c } = await new Attester(provider).attestExecution(claim, 'session-key');
    assert.equal(e.v, 3);
    assert.equal(e.signatureAlg, 'ES256');
    const sig = Buffer.from(e.signature!, 'base64');
    assert.equal(sig.length, 64);
    const claimKey = createPublicKey({
      key: Buffer.from(e.session!.claimSpki, 'base64'),
      format: 'der',
      type: 'spki',
    });
    assert.equal(claimKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(verify('sha256', encodeClaim(c), { key: claimKey, dsaEncoding: 'ieee-p1363' }, sig));
    const tokenKey = createPublicKey({
      key: Buffer.from(e.session!.spki, 'base64'),
      format: 'der',
      type: 'spki',
    });
    assert.ok(!verify('sha384', encodeClaim(c), { key: tokenKey, dsaEncoding: 'ieee-p1363' }, sig));
  });
});
