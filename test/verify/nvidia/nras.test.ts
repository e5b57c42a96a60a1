import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { fetchedJwks } from '../../../src/verify/nvidia/jwks.ts';
import { verifyNrasResponse } from '../../../src/verify/nvidia/nras.ts';
import {
  DEFAULT_POLICY_CLAIMS_3,
  PolicyError,
  parseNvidiaPolicy,
} from '../../../src/verify/nvidia/policy.ts';
import {
  checkOf,
  dataJson,
  dataText,
  jwks,
  NONCE_1GPU,
  NONCE_8GPU,
  NONCE_BLACKWELL,
  NRAS_CLOCK,
} from './helpers.ts';

type Detached = [[string, string], Record<string, string>];
const r1 = () => dataJson<Detached>('nras-v3-h100-1gpu.response.json');
const r8 = () => dataJson<Detached>('nras-v3-h100-8gpu.response.json');
const KID = 'nv-eat-kid-prod-20260628170000087-6f27a971-6e29-42d6-afb9-8e3fbb17fa25';

function decodePayload(t: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString('utf8'));
}
function b64u(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

describe('real NRAS v3 responses', () => {
  it('1 GPU: every check passes with the recorded JWKS at a fixed clock', async () => {
    const v = await verifyNrasResponse(r1(), { nonce: NONCE_1GPU, jwks: jwks(), now: NRAS_CLOCK });
    assert.equal(v.ok, true, JSON.stringify(v, null, 1));
    assert.ok(v.checks.every((c) => c.outcome === 'pass'));
    assert.equal(checkOf(v, 'nvidia.nras.signing-cert').outcome, 'pass');
    assert.equal(v.parts?.length, 1);
    assert.equal(v.parts?.[0]?.fields?.hwmodel, 'GH100');
    assert.equal(v.fields?.['x-nvidia-ver'], '2.0');
    assert.equal(checkOf(v.parts![0]!, 'nvidia.nras.gpu.digest').outcome, 'pass');
  });

  it('8 GPUs: all eight device tokens verify and their submod digests bind', async () => {
    const v = await verifyNrasResponse(JSON.stringify(r8()), {
      nonce: NONCE_8GPU,
      jwks: jwks(),
      now: NRAS_CLOCK,
    });
    assert.equal(v.ok, true);
    assert.deepEqual(
      v.parts?.map((p) => p.fields?.name),
      ['GPU-0', 'GPU-1', 'GPU-2', 'GPU-3', 'GPU-4', 'GPU-5', 'GPU-6', 'GPU-7'],
    );
    const overall = decodePayload(r8()[0][1]);
    for (const [name, tok] of Object.entries(r8()[1])) {
      const want = (overall.submods as Record<string, [string, [string, string]]>)[name]![1][1];
      assert.equal(createHash('sha256').update(tok).digest('hex'), want);
    }
  });

  it('the nonce is compared as bytes: upper-case hex passes, a changed or shorter nonce fails', async () => {
    const up = await verifyNrasResponse(r1(), {
      nonce: NONCE_1GPU.toUpperCase(),
      jwks: jwks(),
      now: NRAS_CLOCK,
    });
    assert.equal(up.ok, true);
    const changed = `${NONCE_1GPU.slice(0, 63)}f`;
    const v = await verifyNrasResponse(r1(), { nonce: changed, jwks: jwks(), now: NRAS_CLOCK });
    assert.equal(v.ok, false);
    assert.equal(checkOf(v, 'nvidia.nras.nonce').outcome, 'fail');
    assert.equal(checkOf(v.parts![0]!, 'nvidia.nras.gpu.nonce').outcome, 'fail');
    const short = await verifyNrasResponse(r1(), {
      nonce: NONCE_1GPU.slice(0, 62),
      jwks: jwks(),
      now: NRAS_CLOCK,
    });
    assert.equal(checkOf(short, 'nvidia.nras.nonce').outcome, 'fail');
    const bytes = await verifyNrasResponse(r1(), {
      nonce: new Uint8Array(Buffer.from(NONCE_1GPU, 'hex')),
      jwks: jwks(),
      now: NRAS_CLOCK,
    });
    assert.equal(bytes.ok, true);
  });

  it('clock: after exp and before nbf are rejected', async () => {
    const late = await verifyNrasResponse(r1(), {
      nonce: NONCE_1GPU,
      jwks: jwks(),
      now: new Date((1782702483 + 1) * 1000),
    });
    assert.equal(checkOf(late, 'nvidia.nras.time').outcome, 'fail');
    assert.equal(checkOf(late, 'nvidia.nras.signature').outcome, 'pass');
    const early = await verifyNrasResponse(r1(), {
      nonce: NONCE_1GPU,
      jwks: jwks(),
      now: new Date((1782698883 - 10) * 1000),
    });
    assert.equal(checkOf(early, 'nvidia.nras.time').outcome, 'fail');
    assert.equal(early.ok, false);
  });

  it('the signing key x5c: consistent with the JWK, valid at the clock, optional CA pin', async () => {
    // By default the key must chain to the pinned NRAS CA (Intermediate 004); requireNrasCa: false only checks x5c.
    const v = await verifyNrasResponse(r1(), { nonce: NONCE_1GPU, jwks: jwks(), now: NRAS_CLOCK });
    assert.match(
      checkOf(v, 'nvidia.nras.signing-cert').detail,
      /chains to the pinned 'NVIDIA Attestation Service GPU Intermediate 004'/,
    );
    const un = await verifyNrasResponse(r1(), {
      nonce: NONCE_1GPU,
      jwks: jwks(),
      now: NRAS_CLOCK,
      requireNrasCa: false,
    });
    assert.match(checkOf(un, 'nvidia.nras.signing-cert').detail, /Intermediate 004.*not anchored/);
    const pin = 'fd32837f954e2c45db073105166dfe6985ae0480bb113fba63b091a75affe896';
    const p = await verifyNrasResponse(r1(), {
      nonce: NONCE_1GPU,
      jwks: jwks(),
      now: NRAS_CLOCK,
      pinnedNrasCaSpkiSha256: [pin],
    });
    assert.equal(checkOf(p, 'nvidia.nras.signing-cert').outcome, 'pass');
    const wrong = await verifyNrasResponse(r1(), {
      nonce: NONCE_1GPU,
      jwks: jwks(),
      now: NRAS_CLOCK,
      pinnedNrasCaSpkiSha256: ['00'.repeat(32)],
    });
    assert.equal(checkOf(wrong, 'nvidia.nras.signing-cert').outcome, 'fail');
    assert.equal(wrong.ok, false);
    // a JWKS whose x5c does not hold the JWK's key
    const set = jwks();
    const other = set.keys.find((k) => k.kid !== KID)!;
    const mixed = { keys: set.keys.map((k) => (k.kid === KID ? { ...k, x5c: other.x5c } : k)) };
    const m = await verifyNrasResponse(r1(), {
      nonce: NONCE_1GPU,
      jwks: mixed,
      now: NRAS_CLOCK,
      pinnedKeys: false,
    });
    assert.match(checkOf(m, 'nvidia.nras.signing-cert').detail, /different public key/);
  });

  it('issuer is enforced', async () => {
    const v = await verifyNrasResponse(r1(), {
      nonce: NONCE_1GPU,
      jwks: jwks(),
      now: NRAS_CLOCK,
      issuer: 'https://nras.attestation-stg.nvidia.com',
    });
    assert.equal(checkOf(v, 'nvidia.nras.issuer').outcome, 'fail');
    assert.equal(v.ok, false);
  });

  it('an unknown kid is rejected (real claims-3.0 token whose key is not in the JWKS)', async () => {
    const v = await verifyNrasResponse(dataText('nvat-hopper-claimsv3-detached-eat.json'), {
      nonce: NONCE_BLACKWELL,
      jwks: jwks(),
      now: new Date(1749602000 * 1000),
    });
    assert.equal(v.ok, false);
    assert.match(checkOf(v, 'nvidia.nras.signature').detail, /unknown kid/);
  });

  it('a token re-signed with another key under the same kid is rejected', async () => {
    const { privateKey } = await generateKeyPair('ES384');
    const payload = decodePayload(r1()[0][1]) as JWTPayload;
    const forged = await new SignJWT(payload).setProtectedHeader({ alg: 'ES384', kid: KID }).sign(privateKey);
    const resp: Detached = [['JWT', forged], r1()[1]];
    const v = await verifyNrasResponse(resp, { nonce: NONCE_1GPU, jwks: jwks(), now: NRAS_CLOCK });
    assert.equal(v.ok, false);
    assert.equal(checkOf(v, 'nvidia.nras.signature').outcome, 'fail');
    assert.match(checkOf(v, 'nvidia.nras.signature').detail, /does not verify/);
    // a forged device token is rejected too, even with a (forged) matching submod digest
    const devForged = await new SignJWT(decodePayload(r1()[1]['GPU-0']!) as JWTPayload)
      .setProtectedHeader({ alg: 'ES384', kid: KID })
      .sign(privateKey);
    const v2 = await verifyNrasResponse([r1()[0], { 'GPU-0': devForged }], {
      nonce: NONCE_1GPU,
      jwks: jwks(),
      now: NRAS_CLOCK,
    });
    assert.equal(checkOf(v2.parts![0]!, 'nvidia.nras.gpu.signature').outcome, 'fail');
    assert.equal(checkOf(v2.parts![0]!, 'nvidia.nras.gpu.digest').outcome, 'fail');
  });

  it('alg none and HS256 are rejected before any key lookup', async () => {
    const payload = decodePayload(r1()[0][1]);
    const none = `${b64u({ alg: 'none', kid: KID })}.${b64u(payload)}.`;
    const hs = await new SignJWT(payload as JWTPayload)
      .setProtectedHeader({ alg: 'HS256', kid: KID })
      .sign(new Uint8Array(32).fill(7));
    for (const tok of [none, hs]) {
      const v = await verifyNrasResponse([['JWT', tok], r1()[1]], {
        nonce: NONCE_1GPU,
        jwks: jwks(),
        now: NRAS_CLOCK,
      });
      assert.equal(v.ok, false);
      assert.match(checkOf(v, 'nvidia.nras.signature').detail, /not allowed \(ES384 only\)/);
    }
  });

  it('device tokens swapped between GPUs, missing or extra are caught by the submod digests', async () => {
    const [head, devs] = r8();
    const swapped = { ...devs, 'GPU-0': devs['GPU-1']!, 'GPU-1': devs['GPU-0']! };
    const v = await verifyNrasResponse([head, swapped], { nonce: NONCE_8GPU, jwks: jwks(), now: NRAS_CLOCK });
    assert.equal(v.ok, false);
    assert.equal(checkOf(v.parts![0]!, 'nvidia.nras.gpu.digest').outcome, 'fail');
    const missing = { ...devs };
    delete missing['GPU-7'];
    const m = await verifyNrasResponse([head, missing], { nonce: NONCE_8GPU, jwks: jwks(), now: NRAS_CLOCK });
    assert.equal(checkOf(m, 'nvidia.nras.submods').outcome, 'fail');
    const extra = { ...devs, 'GPU-8': devs['GPU-0']! };
    const x = await verifyNrasResponse([head, extra], { nonce: NONCE_8GPU, jwks: jwks(), now: NRAS_CLOCK });
    assert.equal(checkOf(x, 'nvidia.nras.submods').outcome, 'fail');
    // the 1-GPU overall token with an 8-GPU device token
    const mix = await verifyNrasResponse([r1()[0], { 'GPU-0': devs['GPU-0']! }], {
      nonce: NONCE_1GPU,
      jwks: jwks(),
      now: NRAS_CLOCK,
    });
    assert.equal(mix.ok, false);
  });

  it('malformed responses fail the format check', async () => {
    for (const bad of [
      'not json',
      '{}',
      '[]',
      '[["JWS","a.b.c"],{}]',
      JSON.stringify([r1()[0], {}]),
      JSON.stringify([r1()[0], { 'GPU-0': 5 }]),
    ]) {
      const v = await verifyNrasResponse(bad, { nonce: NONCE_1GPU, jwks: jwks(), now: NRAS_CLOCK });
      assert.equal(v.ok, false);
      assert.equal(checkOf(v, 'nvidia.nras.format').outcome, 'fail');
    }
  });

  it('policy gpuCount', async () => {
    const policy = parseNvidiaPolicy({
      nvidia: { 'overall-claims': { 'x-nvidia-overall-att-result': true }, gpuCount: 8 },
    });
    const v = await verifyNrasResponse(r1(), { nonce: NONCE_1GPU, jwks: jwks(), now: NRAS_CLOCK, policy });
    assert.equal(checkOf(v, 'nvidia.nras.gpu-count').outcome, 'fail');
    const v8 = await verifyNrasResponse(r8(), { nonce: NONCE_8GPU, jwks: jwks(), now: NRAS_CLOCK, policy });
    assert.equal(v8.ok, true);
  });
});

describe('JWKS fetched with a cache and one refetch', () => {
  // pinnedKeys: false: the recorded key is among NVIDIA's pinned keys; these tests exercise the added source alone.
  const real = jwks();
  const stale = { keys: real.keys.filter((k) => k.kid !== KID) };
  function fakeFetch(seq: unknown[]) {
    let i = 0;
    const f = (async () =>
      new Response(JSON.stringify(seq[Math.min(i++, seq.length - 1)]), { status: 200 })) as typeof fetch;
    return f;
  }

  it('an unknown kid triggers exactly one refetch, which finds the rotated key', async () => {
    const src = fetchedJwks({ fetch: fakeFetch([stale, real]), minRefreshIntervalMs: 0 });
    const v = await verifyNrasResponse(r1(), {
      nonce: NONCE_1GPU,
      jwks: src,
      now: NRAS_CLOCK,
      pinnedKeys: false,
    });
    assert.equal(v.ok, true);
    assert.equal(src.fetches, 2);
    const again = await verifyNrasResponse(r1(), {
      nonce: NONCE_1GPU,
      jwks: src,
      now: NRAS_CLOCK,
      pinnedKeys: false,
    });
    assert.equal(again.ok, true);
    assert.equal(src.fetches, 2, 'served from cache');
  });

  it('a kid that never appears: one refetch, then rejected', async () => {
    const src = fetchedJwks({ fetch: fakeFetch([stale, stale, stale]), minRefreshIntervalMs: 0 });
    const v = await verifyNrasResponse(r1(), {
      nonce: NONCE_1GPU,
      jwks: src,
      now: NRAS_CLOCK,
      pinnedKeys: false,
    });
    assert.equal(v.ok, false);
    assert.equal(src.fetches, 2);
    assert.match(checkOf(v, 'nvidia.nras.signature').detail, /unknown kid/);
  });

  it('refetches on unknown kids are rate-limited (made-up kids cannot drive fetches)', async () => {
    let t = 0;
    const src = fetchedJwks({ fetch: fakeFetch([stale, real]), clock: () => t });
    const v1 = await verifyNrasResponse(r1(), {
      nonce: NONCE_1GPU,
      jwks: src,
      now: NRAS_CLOCK,
      pinnedKeys: false,
    });
    assert.equal(v1.ok, false, 'the fresh set is younger than the interval: no refetch yet');
    assert.equal(src.fetches, 1);
    t = 61_000;
    const v2 = await verifyNrasResponse(r1(), {
      nonce: NONCE_1GPU,
      jwks: src,
      now: NRAS_CLOCK,
      pinnedKeys: false,
    });
    assert.equal(v2.ok, true);
    assert.equal(src.fetches, 2);
  });

  it('a JWKS endpoint failure fails the signature checks with the reason', async () => {
    const src = fetchedJwks({ fetch: (async () => new Response('oops', { status: 503 })) as typeof fetch });
    const v = await verifyNrasResponse(r1(), {
      nonce: NONCE_1GPU,
      jwks: src,
      now: NRAS_CLOCK,
      pinnedKeys: false,
    });
    assert.equal(v.ok, false);
    assert.match(checkOf(v, 'nvidia.nras.signature').detail, /HTTP 503/);
  });
});

describe('claims 3.0 (NRAS v4) with our own signing key', async () => {
  // Our own key has no x5c to NVIDIA's NRAS CA: trusted explicitly (pinnedKeys: false, requireNrasCa: false).
  const { privateKey, publicKey } = await generateKeyPair('ES384');
  const kid = 'test-kid';
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES384' };
  const set = { keys: [jwk] };
  const now = new Date(1736197400 * 1000);
  const detached = dataJson<Record<string, unknown>>('nvtrust-claims-v3-detached.json');
  const overallBase = dataJson<Record<string, unknown>>('nvtrust-claims-v3-overall.json');
  const ISS = 'https://nras.attestation.nvidia.com';

  async function build(devClaims: Record<string, unknown>, overallPatch: Record<string, unknown> = {}) {
    const dev = await new SignJWT({ ...devClaims, iss: ISS } as JWTPayload)
      .setProtectedHeader({ alg: 'ES384', kid })
      .sign(privateKey);
    const digest = createHash('sha256').update(dev).digest('hex');
    const overall = await new SignJWT({
      ...overallBase,
      iss: ISS,
      nbf: 1736197300,
      iat: 1736197300,
      exp: 1736200900,
      submods: { 'GPU-0': ['DIGEST', ['SHA-256', digest]] },
      ...overallPatch,
    } as JWTPayload)
      .setProtectedHeader({ alg: 'ES384', kid })
      .sign(privateKey);
    return [['JWT', overall], { 'GPU-0': dev }];
  }
  const nonce = String(detached.eat_nonce);

  it("NVIDIA's default v4 policy passes on nvtrust's granular claims", async () => {
    const v = await verifyNrasResponse(await build(detached), {
      nonce,
      jwks: set,
      pinnedKeys: false,
      requireNrasCa: false,
      now,
    });
    assert.equal(v.ok, true, JSON.stringify(v, null, 1));
    assert.equal(v.fields?.policy, DEFAULT_POLICY_CLAIMS_3.name);
    assert.match(
      checkOf(v.parts![0]!, 'nvidia.nras.gpu.errors').detail,
      /warning: THE CERTIFICATE HCC RIM L4 Signer IS REVOKED/,
    );
  });

  it('measres failure, debug GPU, revoked chain and a non-ok overall result are rejected by the default policy', async () => {
    for (const patch of [
      { measres: 'fail', 'x-nvidia-mismatch-measurement-records': [{ index: 9 }] },
      { dbgstat: 'enabled' },
      {
        'x-nvidia-gpu-attestation-report-cert-chain': {
          'x-nvidia-cert-status': 'valid',
          'x-nvidia-cert-ocsp-status': 'revoked',
        },
      },
      { 'x-nvidia-gpu-attestation-report-signature-verified': false },
    ]) {
      const v = await verifyNrasResponse(await build({ ...detached, ...patch }), {
        nonce,
        jwks: set,
        pinnedKeys: false,
        requireNrasCa: false,
        now,
      });
      assert.equal(v.ok, false, JSON.stringify(patch));
      assert.equal(checkOf(v.parts![0]!, 'nvidia.nras.gpu.policy').outcome, 'fail');
    }
    const o = await verifyNrasResponse(await build(detached, { 'x-nvidia-overall-att-result': false }), {
      nonce,
      jwks: set,
      pinnedKeys: false,
      requireNrasCa: false,
      now,
    });
    assert.equal(checkOf(o, 'nvidia.nras.policy').outcome, 'fail');
    const u = await verifyNrasResponse(await build(detached, { 'x-nvidia-ver': '9.9' }), {
      nonce,
      jwks: set,
      pinnedKeys: false,
      requireNrasCa: false,
      now,
    });
    assert.match(checkOf(u, 'nvidia.nras.policy').detail, /no default policy/);
  });

  it('per-GPU error codes are surfaced', async () => {
    const v = await verifyNrasResponse(
      await build({ ...detached, 'x-nvidia-gpu-error-code': 'GPU_EVIDENCE_NONCE_MISMATCH' }),
      {
        nonce,
        jwks: set,
        pinnedKeys: false,
        requireNrasCa: false,
        now,
      },
    );
    assert.equal(v.ok, false);
    assert.match(checkOf(v.parts![0]!, 'nvidia.nras.gpu.errors').detail, /GPU_EVIDENCE_NONCE_MISMATCH/);
  });

  it("NVIDIA's own policy file is accepted as a custom policy", async () => {
    const policy = parseNvidiaPolicy(dataJson('nvtrust-gpu-remote-policy-v4.json'));
    const v = await verifyNrasResponse(await build(detached), {
      nonce,
      jwks: set,
      pinnedKeys: false,
      requireNrasCa: false,
      now,
      policy,
    });
    assert.equal(v.ok, true);
    const strict = parseNvidiaPolicy({
      nvidia: { 'detached-claims': { 'x-nvidia-gpu-driver-version': '999.0' } },
    });
    const s = await verifyNrasResponse(await build(detached), {
      nonce,
      jwks: set,
      pinnedKeys: false,
      requireNrasCa: false,
      now,
      policy: strict,
    });
    assert.equal(s.ok, false);
  });
});

describe('policy parsing', () => {
  it('rejects unknown keys and non-objects with a stable code', () => {
    for (const bad of [
      null,
      [],
      'x',
      { nvidia: { foo: 1 } },
      { nvidia: {} },
      { nvidia: { 'detached-claims': [] } },
      { nvidia: { gpuCount: 0, 'overall-claims': {} } },
    ])
      assert.throws(
        () => parseNvidiaPolicy(bad),
        (e: unknown) => e instanceof PolicyError && e.code === 'NVIDIA_BAD_POLICY',
      );
  });
});
