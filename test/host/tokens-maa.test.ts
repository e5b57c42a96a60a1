/**
 * verify_token for Microsoft Azure Attestation: a key set in MAA's `/certs` shape (x5c only, no n/e)
 * works, and an issuer's `maa` claim policy is enforced (x-ms-isolation-tee, x-ms-runtime).
 */
import 'reflect-metadata';
import * as assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import { decodeJwt, type JSONWebKeySet, SignJWT } from 'jose';
import { TokenConfigError, TokenVerifier } from '../../src/host/tokens.ts';

const real = readFileSync(
  new URL('../data/azure/maa/maa_token_ClientLibTests_line138.jwt', import.meta.url),
  'utf8',
).trim();
const claims = decodeJwt(real);
const ISS = 'https://sharedweu.weu.attest.azure.net';
const AT = 1680180000 * 1000;
let keys: webcrypto.CryptoKeyPair;
let jwks: JSONWebKeySet;

before(async () => {
  const alg = {
    name: 'RSASSA-PKCS1-v1_5',
    hash: 'SHA-256',
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
  };
  keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${ISS}`,
    notBefore: new Date('2023-01-01'),
    notAfter: new Date('2024-01-01'),
    keys,
    signingAlgorithm: alg,
  });
  jwks = { keys: [{ kid: 'k1', kty: 'RSA', x5c: [Buffer.from(cert.rawData).toString('base64')] }] };
});

const sign = (c: Record<string, unknown>) =>
  new SignJWT(c).setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'JWT' }).sign(keys.privateKey);

describe('verify_token: MAA issuers', () => {
  it('x5c-only key set + maa policy: the real SNP claims pass; a debuggable guest and a wrong runtime nonce fail', async () => {
    const v = new TokenVerifier(
      [{ name: 'azure-attestation', issuer: ISS, algorithms: ['RS256'], jwks, maa: { runtime: {} } }],
      { now: () => AT },
    );
    const ok = await v.verify(await sign(claims));
    assert.equal(ok.valid, true, ok.reason);
    const tee = claims['x-ms-isolation-tee'] as Record<string, unknown>;
    const dbg = await v.verify(
      await sign({ ...claims, 'x-ms-isolation-tee': { ...tee, 'x-ms-sevsnpvm-is-debuggable': true } }),
    );
    assert.equal(dbg.valid, false);
    assert.match(dbg.reason!, /maa\.claims\.isolation-tee/);
    const withNonce = new TokenVerifier(
      [
        {
          name: 'maa',
          issuer: ISS,
          algorithms: ['RS256'],
          jwks,
          maa: { runtime: { 'client-payload': { nonce: 'n1' } } },
        },
      ],
      { now: () => AT },
    );
    const miss = await withNonce.verify(
      await sign({ ...claims, 'x-ms-runtime': { 'client-payload': { nonce: 'n2' } } }),
    );
    assert.equal(miss.valid, false);
    assert.match(miss.reason!, /maa\.claims\.runtime/);
    const hit = await withNonce.verify(
      await sign({ ...claims, 'x-ms-runtime': { 'client-payload': { nonce: 'n1' } } }),
    );
    assert.equal(hit.valid, true, hit.reason);
  });
  it('the real token: not signed by this key set; a bad maa policy is a config error', async () => {
    const v = new TokenVerifier(
      [
        {
          name: 'maa',
          issuer: ISS,
          algorithms: ['RS256'],
          jwks: { keys: [{ ...jwks.keys[0]!, kid: 'dRKh+hBcWUfQimSl3Iv6ZhStW3TSOt0ThwiTgUUqZAo=' }] },
        },
      ],
      {
        now: () => AT,
      },
    );
    const r = await v.verify(real);
    assert.equal(r.valid, false);
    assert.throws(
      () => new TokenVerifier([{ name: 'maa', issuer: ISS, algorithms: ['RS256'], jwks, maa: { typo: 1 } }]),
      TokenConfigError,
    );
  });
});
