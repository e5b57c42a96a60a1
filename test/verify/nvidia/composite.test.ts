import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import {
  attestWithNras,
  buildNrasRequest,
  NvidiaError,
  nrasUrl,
  gpuNonceFor as teeGpuNonceFor,
} from '../../../src/tee/nvidia/index.ts';
import {
  gpuNonceFor,
  verifyGpuEvidence,
  verifyGpuEvidenceList,
  verifyNrasResponse,
} from '../../../src/verify/index.ts';
import { issueLocalGpuToken, LOCAL_GPU_TOKEN_ISSUER } from '../../../src/verify/nvidia/token.ts';
import { dataJson, hopperEvidence, jwks, NONCE_1GPU, NRAS_CLOCK, nrasRequestEvidence } from './helpers.ts';

const NOW = new Date('2026-06-29T02:10:00Z');

describe('composite nonce', () => {
  it('gpuNonceFor = SHA-256(domain ‖ REPORT_DATA), 32 bytes, same function on both sides', () => {
    const rd = new Uint8Array(64).map((_, i) => i);
    const n = gpuNonceFor(rd);
    assert.equal(n.length, 32);
    assert.deepEqual(
      n,
      new Uint8Array(createHash('sha256').update('wasmvm-tee/gpu-nonce/v1').update(rd).digest()),
    );
    assert.deepEqual(teeGpuNonceFor(rd), n);
    const rd2 = rd.slice();
    rd2[63] = 0xff;
    assert.notDeepEqual(gpuNonceFor(rd2), n);
    assert.throws(() => gpuNonceFor(new Uint8Array(32)), /64 bytes/);
  });

  it('evidence collected for one REPORT_DATA fails against another (verifyGpuEvidenceList with the derived nonce)', async () => {
    const list = nrasRequestEvidence('nras-v3-h100-8gpu.request.json');
    const good = await verifyGpuEvidenceList(list, { nonce: list[0]!.nonce, now: NOW });
    assert.equal(good.ok, true);
    const bad = await verifyGpuEvidenceList(list, { nonce: gpuNonceFor(new Uint8Array(64)), now: NOW });
    assert.equal(bad.ok, false);
    const empty = await verifyGpuEvidenceList([], { now: NOW });
    assert.equal(empty.ok, false);
  });
});

describe('tokens for local verification are signed by the attested key', () => {
  it('ES384 token from the signer; its claims reflect the verdict', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES384');
    const signer = {
      signJwt: (claims: Record<string, unknown>) =>
        new SignJWT(claims).setProtectedHeader({ alg: 'ES384' }).sign(privateKey),
    };
    const e = hopperEvidence();
    const v = await verifyGpuEvidence(e, { nonce: e.nonce, now: NOW });
    const jwt = await issueLocalGpuToken([v], e.nonce, signer, NOW);
    const { payload, protectedHeader } = await jwtVerify(jwt, publicKey, {
      algorithms: ['ES384'],
      currentDate: NOW,
    });
    assert.equal(protectedHeader.alg, 'ES384');
    assert.equal(payload.iss, LOCAL_GPU_TOKEN_ISSUER);
    assert.equal(payload.eat_nonce, e.nonce);
    assert.equal(payload['x-nvidia-overall-att-result'], true);
    const sub = (payload.submods as Record<string, Record<string, unknown>>)['GPU-0']!;
    assert.equal(sub['x-nvidia-gpu-attestation-report-signature-verified'], true);
    assert.equal(sub.measres, 'not-appraised');
    assert.ok(await exportJWK(publicKey));
  });

  it('a signer that produces HS256 (shared secret) is refused', async () => {
    const hs = {
      signJwt: (c: Record<string, unknown>) =>
        new SignJWT(c).setProtectedHeader({ alg: 'HS256' }).sign(new Uint8Array(32)),
    };
    const e = hopperEvidence();
    const v = await verifyGpuEvidence(e, { nonce: e.nonce, now: NOW });
    await assert.rejects(issueLocalGpuToken([v], e.nonce, hs, NOW), /expected ES384/);
  });
});

describe('NRAS client (no network: injected fetch)', () => {
  const ev = nrasRequestEvidence('nras-v3-h100-1gpu.request.json');

  it('v3 body equals the recorded request; v4 adds claims_version', () => {
    const recorded = dataJson<Record<string, unknown>>('nras-v3-h100-1gpu.request.json');
    assert.deepEqual(buildNrasRequest(ev, 'v3'), recorded);
    const v4 = buildNrasRequest(ev, 'v4');
    assert.equal(v4.claims_version, '3.0');
    assert.equal(v4.evidence_list[0]!.arch, undefined);
    assert.equal(nrasUrl('v4'), 'https://nras.attestation.nvidia.com/v4/attest/gpu');
    assert.throws(
      () => buildNrasRequest([]),
      (e: unknown) => e instanceof NvidiaError && e.code === 'NVIDIA_BAD_EVIDENCE',
    );
    assert.throws(
      () => buildNrasRequest([ev[0]!, { ...ev[0]!, nonce: '00'.repeat(32) }]),
      /different nonces/,
    );
  });

  it('POSTs the evidence and returns a response that then verifies', async () => {
    let seen: { url: string; body: unknown } | undefined;
    const fake = (async (url: string | URL | Request, init?: RequestInit) => {
      seen = { url: String(url), body: JSON.parse(String(init?.body)) };
      return new Response(JSON.stringify(dataJson('nras-v3-h100-1gpu.response.json')), { status: 200 });
    }) as typeof fetch;
    const resp = await attestWithNras(ev, { fetch: fake });
    assert.equal(seen?.url, 'https://nras.attestation.nvidia.com/v3/attest/gpu');
    assert.equal((seen?.body as { nonce: string }).nonce, NONCE_1GPU);
    const v = await verifyNrasResponse(resp, { nonce: NONCE_1GPU, jwks: jwks(), now: NRAS_CLOCK });
    assert.equal(v.ok, true);
  });

  it('HTTP errors and unreachable service surface NVIDIA_NRAS_FAILED', async () => {
    const e400 = (async () => new Response('{"errorCode":400}', { status: 400 })) as typeof fetch;
    await assert.rejects(
      attestWithNras(ev, { fetch: e400 }),
      (e: unknown) =>
        e instanceof NvidiaError && e.code === 'NVIDIA_NRAS_FAILED' && /HTTP 400/.test(e.message),
    );
    const down = (async () => {
      throw new Error('ECONNREFUSED');
    }) as typeof fetch;
    await assert.rejects(attestWithNras(ev, { fetch: down }), /cannot reach NRAS/);
  });
});
