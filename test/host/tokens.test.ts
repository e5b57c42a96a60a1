import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { normalizeIssuers, TokenVerifier } from '../../src/host/index.ts';

const ISS = 'https://nras.attestation.nvidia.com';

async function keys(alg: string, kid: string) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg };
  return { privateKey, jwk };
}

function sign(
  privateKey: Parameters<SignJWT['sign']>[0],
  alg: string,
  kid: string,
  claims: Record<string, unknown> = {},
  exp: string | number = '5m',
) {
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg, kid })
    .setIssuer(String(claims.iss ?? ISS))
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(privateKey);
}

const b64u = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('verify_token: real signature verification', async () => {
  const k1 = await keys('ES384', 'k1');
  const dir = mkdtempSync(join(tmpdir(), 'jwks-'));
  const jwksFile = join(dir, 'nras-jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [k1.jwk] }));
  const verifier = new TokenVerifier([{ name: 'nvidia-nras', issuer: ISS, algorithms: ['ES384'], jwksFile }]);

  test('a valid ES384 token from a file JWKS (offline) verifies', async () => {
    const r = await verifier.verify(await sign(k1.privateKey, 'ES384', 'k1'));
    assert.equal(r.valid, true, r.reason);
    assert.equal(r.issuerName, 'nvidia-nras');
  });

  test('alg none is rejected', async () => {
    const token = `${b64u({ alg: 'none' })}.${b64u({ iss: ISS, exp: Math.floor(Date.now() / 1000) + 60 })}.`;
    const r = await verifier.verify(token);
    assert.equal(r.valid, false);
    assert.match(r.reason!, /none/);
  });

  test('HS256 (symmetric, e.g. keyed with the public key) is rejected', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(k1.jwk));
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setIssuer(ISS)
      .setExpirationTime('5m')
      .sign(secret);
    const r = await verifier.verify(token);
    assert.equal(r.valid, false);
    assert.match(r.reason!, /HS256/);
  });

  test('wrong issuer is rejected', async () => {
    const r = await verifier.verify(
      await sign(k1.privateKey, 'ES384', 'k1', { iss: 'https://evil.example' }),
    );
    assert.equal(r.valid, false);
    assert.match(r.reason!, /not configured/);
  });

  test('expired token is rejected (beyond the clock tolerance)', async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    const r = await verifier.verify(await sign(k1.privateKey, 'ES384', 'k1', {}, past));
    assert.equal(r.valid, false);
    assert.match(r.reason!, /exp/);
  });

  test('token without exp is rejected', async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES384', kid: 'k1' })
      .setIssuer(ISS)
      .sign(k1.privateKey);
    const r = await verifier.verify(token);
    assert.equal(r.valid, false);
  });

  test('unknown kid is rejected', async () => {
    const k2 = await keys('ES384', 'k2');
    const r = await verifier.verify(await sign(k2.privateKey, 'ES384', 'k2'));
    assert.equal(r.valid, false);
    assert.match(r.reason!, /JWKS_NO_MATCHING_KEY|no applicable key/i);
  });

  test('right kid, wrong key (forged signature) is rejected', async () => {
    const k3 = await keys('ES384', 'k1');
    const r = await verifier.verify(await sign(k3.privateKey, 'ES384', 'k1'));
    assert.equal(r.valid, false);
    assert.match(r.reason!, /signature/i);
  });

  test('an algorithm not in the issuer allow-list is rejected (ES256 for an ES384-only issuer)', async () => {
    const k4 = await keys('ES256', 'k4');
    const r = await verifier.verify(await sign(k4.privateKey, 'ES256', 'k4'));
    assert.equal(r.valid, false);
    assert.match(r.reason!, /not allowed/);
  });

  test('garbage is rejected', async () => {
    assert.equal((await verifier.verify('not-a-jwt')).valid, false);
    assert.equal((await verifier.verify('')).valid, false);
  });

  test('RS256 issuer (Azure-style) with an inline JWKS', async () => {
    const rk = await keys('RS256', 'az');
    const v = new TokenVerifier([
      {
        name: 'azure',
        issuer: 'https://x.eus.attest.azure.net',
        algorithms: ['RS256'],
        jwks: { keys: [rk.jwk] },
      },
    ]);
    const ok = await v.verify(
      await sign(rk.privateKey, 'RS256', 'az', { iss: 'https://x.eus.attest.azure.net' }),
    );
    assert.equal(ok.valid, true, ok.reason);
  });

  test('config refuses HS*/none algorithms and presets expand', () => {
    assert.throws(
      () => normalizeIssuers([{ name: 'x', issuer: 'a', algorithms: ['HS256'], jwksFile: 'f' }]),
      /refused/,
    );
    assert.throws(
      () => normalizeIssuers([{ name: 'x', issuer: 'a', algorithms: ['none'], jwksFile: 'f' }]),
      /refused/,
    );
    const [n] = normalizeIssuers([{ preset: 'nvidia-nras', jwksFile: 'f.json' }]);
    assert.equal(n!.issuer, ISS);
    assert.deepEqual(n!.algorithms, ['ES384']);
  });
});

describe('JWKS fetched from a URL', () => {
  test('cached, and refetched once on an unknown kid (key rotation)', async () => {
    const { createServer } = await import('node:http');
    const a = await keys('ES384', 'a');
    const b = await keys('ES384', 'b');
    let served = { keys: [a.jwk] };
    let fetches = 0;
    const server = createServer((_req, res) => {
      fetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(served));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      const v = new TokenVerifier([
        {
          name: 'nras',
          issuer: ISS,
          algorithms: ['ES384'],
          jwksUrl: `http://127.0.0.1:${port}/jwks`,
          jwksCooldownMs: 0,
        },
      ]);
      assert.equal((await v.verify(await sign(a.privateKey, 'ES384', 'a'))).valid, true);
      assert.equal((await v.verify(await sign(a.privateKey, 'ES384', 'a'))).valid, true);
      assert.equal(fetches, 1, 'second verification served from the cache');
      served = { keys: [a.jwk, b.jwk] };
      const r = await v.verify(await sign(b.privateKey, 'ES384', 'b'));
      assert.equal(r.valid, true, r.reason);
      assert.equal(fetches, 2, 'one refetch on the kid miss');
      const c = await keys('ES384', 'c');
      assert.equal((await v.verify(await sign(c.privateKey, 'ES384', 'c'))).valid, false);
    } finally {
      server.close();
    }
  });
});
