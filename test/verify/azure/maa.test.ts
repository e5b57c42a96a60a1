/**
 * MAA tokens offline. The real tokens (test/data/azure/maa, from Azure's own client-library tests) carry
 * no issuer key here, so: (1) their parsing and claim checks run on them as they are, their signature
 * fails against a locally made key set; (2) the real SEV-SNP token's claims, re-signed by a locally made
 * key whose certificate is in `x5c`, verify at a fixed time and fail for each single problem.
 */
import * as assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { decodeJwt, decodeProtectedHeader, type JSONWebKeySet, SignJWT } from 'jose';
import { PolicyError, parseMaaPolicy, type Verdict, verifyMaaToken } from '../../../src/verify/index.ts';

const D = new URL('../../data/azure/maa/', import.meta.url);
const real138 = readFileSync(new URL('maa_token_ClientLibTests_line138.jwt', D), 'utf8').trim();
const real643 = readFileSync(new URL('maa_token_ClientLibTests_line643.jwt', D), 'utf8').trim();
const payload138 = decodeJwt(real138);
const kid138 = decodeProtectedHeader(real138).kid!;
const ISS = 'https://sharedweu.weu.attest.azure.net';
/** Inside the token's validity (iat 1680173374, exp 1680202174). */
const AT = new Date(1680180000 * 1000);
const outcome = (v: Verdict, id: string) => v.checks.find((c) => c.id === id)?.outcome;

const alg = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
} as const;
let keys: webcrypto.CryptoKeyPair;
let other: webcrypto.CryptoKeyPair;
let jwks: JSONWebKeySet;

async function selfSigned(k: webcrypto.CryptoKeyPair, cn: string, notAfter = new Date(1700000000 * 1000)) {
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${cn}`,
    notBefore: new Date(1600000000 * 1000),
    notAfter,
    keys: k,
    signingAlgorithm: alg,
  });
  return Buffer.from(cert.rawData).toString('base64');
}

async function sign(
  claims: Record<string, unknown>,
  k: webcrypto.CryptoKeyPair | KeyObject = keys,
  kid = kid138,
  algName = 'RS256',
) {
  const priv = 'privateKey' in k ? k.privateKey : k;
  return new SignJWT(claims).setProtectedHeader({ alg: algName, kid, typ: 'JWT' }).sign(priv);
}

before(async () => {
  keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  other = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  // MAA's /certs shape: each key only as kid + kty + x5c.
  jwks = { keys: [{ kid: kid138, kty: 'RSA', x5c: [await selfSigned(keys, ISS)] }] };
});

describe('MAA tokens: the real ones', () => {
  it('line 138 (sevsnpvm): parsed, claims exposed and checked; the signature fails with a local key set', async () => {
    const v = await verifyMaaToken(real138, { jwks, policy: parseMaaPolicy({ issuers: [ISS] }), now: AT });
    assert.equal(outcome(v, 'maa.token.format'), 'pass');
    assert.equal(outcome(v, 'maa.token.alg'), 'pass');
    assert.equal(outcome(v, 'maa.key'), 'pass');
    assert.equal(outcome(v, 'maa.token.signature'), 'fail'); // not the issuer's key
    assert.equal(outcome(v, 'maa.token.issuer'), 'pass');
    assert.equal(outcome(v, 'maa.token.expiry'), 'pass');
    assert.equal(outcome(v, 'maa.claims.isolation-tee'), 'pass');
    assert.equal(v.ok, false);
    assert.equal(v.fields?.isolationType, 'sevsnpvm');
    assert.equal(v.fields?.complianceStatus, 'azure-compliant-cvm');
    const snp = v.fields?.snp as Record<string, unknown>;
    assert.equal(snp['x-ms-sevsnpvm-is-debuggable'], false);
    assert.equal(snp['x-ms-sevsnpvm-guestsvn'], 4);
    assert.match(String(snp['x-ms-sevsnpvm-launchmeasurement']), /^8962535933f5c4b4/);
    const rt = v.fields?.isolationRuntime as { keys: Array<{ kid: string }> };
    assert.equal(rt.keys[0]?.kid, 'HCLAkPub');
  });
  it('line 138 today: expired (exp 2023-03-30)', async () => {
    const v = await verifyMaaToken(real138, { jwks, policy: parseMaaPolicy({ issuers: [ISS] }) });
    assert.equal(outcome(v, 'maa.token.expiry'), 'fail');
  });
  it('line 643 (azurevm, a TVM token without x-ms-isolation-tee): refused unless the policy allows it', async () => {
    const iss = 'https://sharedeus2.eus2.attest.azure.net';
    const at = new Date(1649990000 * 1000);
    const v = await verifyMaaToken(real643, { jwks, policy: parseMaaPolicy({ issuers: [iss] }), now: at });
    assert.equal(outcome(v, 'maa.key'), 'fail'); // kid rj/Uu… is not in the local set
    assert.equal(outcome(v, 'maa.claims.isolation-tee'), 'fail');
    assert.equal(v.fields?.attestationType, 'azurevm');
    const tvm = await verifyMaaToken(real643, {
      jwks,
      policy: parseMaaPolicy({ issuers: [iss], requireIsolationTee: false }),
      now: at,
    });
    assert.equal(outcome(tvm, 'maa.claims.isolation-tee'), 'skip');
    assert.equal(
      (tvm.fields?.runtime as { keys: Array<{ kid: string }> }).keys[0]?.kid,
      'TpmEphemeralEncryptionKey',
    );
  });
});

describe('MAA tokens: the real claims under a locally made key (x5c)', () => {
  it('verify at a fixed time with every check named', async () => {
    const t = await sign(payload138);
    const v = await verifyMaaToken(t, { jwks, policy: parseMaaPolicy({ issuers: [ISS] }), now: AT });
    assert.deepEqual(
      v.checks.filter((c) => c.outcome === 'fail'),
      [],
    );
    assert.ok(v.ok);
    for (const id of [
      'maa.token.format',
      'maa.token.alg',
      'maa.key',
      'maa.token.signature',
      'maa.token.issuer',
      'maa.token.expiry',
      'maa.claims.isolation-tee',
    ])
      assert.equal(outcome(v, id), 'pass', id);
  });
  it('each single problem fails its own check', async () => {
    const policy = parseMaaPolicy({ issuers: [ISS] });
    const cases: Array<[string, Promise<string>, string, Partial<Parameters<typeof verifyMaaToken>[1]>?]> = [
      ['other key', sign(payload138, other), 'maa.token.signature'],
      ['unknown kid', sign(payload138, keys, 'nope'), 'maa.key'],
      ['other issuer', sign({ ...payload138, iss: 'https://evil.attest.azure.net' }), 'maa.token.issuer'],
      ['expired', sign({ ...payload138, exp: 1680170000 }), 'maa.token.expiry'],
      ['not yet valid', sign({ ...payload138, nbf: 1680190000 }), 'maa.token.expiry'],
      ['no exp', sign({ ...payload138, exp: undefined }), 'maa.token.expiry'],
      [
        'debuggable',
        sign({
          ...payload138,
          'x-ms-isolation-tee': {
            ...(payload138['x-ms-isolation-tee'] as object),
            'x-ms-sevsnpvm-is-debuggable': true,
          },
        }),
        'maa.claims.isolation-tee',
      ],
      [
        'not compliant',
        sign({
          ...payload138,
          'x-ms-isolation-tee': {
            ...(payload138['x-ms-isolation-tee'] as object),
            'x-ms-compliance-status': 'x',
          },
        }),
        'maa.claims.isolation-tee',
      ],
      [
        'wrong TEE type',
        sign({
          ...payload138,
          'x-ms-isolation-tee': {
            ...(payload138['x-ms-isolation-tee'] as object),
            'x-ms-attestation-type': 'sgx',
          },
        }),
        'maa.claims.isolation-tee',
      ],
      [
        'audience',
        sign(payload138),
        'maa.token.audience',
        { policy: parseMaaPolicy({ issuers: [ISS], audience: 'me' }) },
      ],
      [
        'runtime nonce',
        sign({ ...payload138, 'x-ms-runtime': { 'client-payload': { nonce: 'abc' } } }),
        'maa.claims.runtime',
        { policy: parseMaaPolicy({ issuers: [ISS], runtime: { 'client-payload': { nonce: 'abd' } } }) },
      ],
      [
        'RS384',
        sign(payload138, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, kid138, 'RS384'),
        'maa.token.alg',
      ],
    ];
    for (const [name, tok, id, extra] of cases) {
      const v = await verifyMaaToken(await tok, { jwks, policy, now: AT, ...extra });
      assert.equal(v.ok, false, name);
      assert.equal(outcome(v, id), 'fail', `${name}: ${id}`);
    }
    // the runtime entry that matches passes
    const ok = await verifyMaaToken(
      await sign({ ...payload138, 'x-ms-runtime': { 'client-payload': { nonce: 'abc' } } }),
      {
        jwks,
        now: AT,
        policy: parseMaaPolicy({ issuers: [ISS], runtime: { 'client-payload': { nonce: 'abc' } } }),
      },
    );
    assert.ok(ok.ok);
  });
  it('key set problems: expired signing certificate, n/e that disagree with x5c, pinned certificates', async () => {
    const t = await sign(payload138);
    const policy = parseMaaPolicy({ issuers: [ISS] });
    const expired = {
      keys: [{ kid: kid138, kty: 'RSA', x5c: [await selfSigned(keys, ISS, new Date(1650000000 * 1000))] }],
    };
    assert.equal(outcome(await verifyMaaToken(t, { jwks: expired, policy, now: AT }), 'maa.key'), 'fail');
    const otherJwk = await webcrypto.subtle.exportKey('jwk', other.publicKey);
    const mixed = { keys: [{ ...jwks.keys[0]!, n: otherJwk.n, e: otherJwk.e }] };
    assert.equal(outcome(await verifyMaaToken(t, { jwks: mixed, policy, now: AT }), 'maa.key'), 'fail');
    const pinOk = await verifyMaaToken(t, {
      jwks,
      policy,
      now: AT,
      pinnedCerts: [Buffer.from(jwks.keys[0]!.x5c![0]!, 'base64')],
    });
    assert.equal(outcome(pinOk, 'maa.key.pinned'), 'pass');
    const pinBad = await verifyMaaToken(t, {
      jwks,
      policy,
      now: AT,
      pinnedCerts: [await selfSigned(other, 'x')],
    });
    assert.equal(outcome(pinBad, 'maa.key.pinned'), 'fail');
    assert.equal(pinBad.ok, false);
  });
  it('the JWK n/e when given must be the x5c key; an EC signing certificate is refused by name', async () => {
    const policy = parseMaaPolicy({ issuers: [ISS] });
    const t = await sign({ ...payload138 });
    const own = await webcrypto.subtle.exportKey('jwk', keys.publicKey);
    const same = { keys: [{ ...jwks.keys[0]!, n: own.n, e: own.e }] };
    assert.equal(outcome(await verifyMaaToken(t, { jwks: same, policy, now: AT }), 'maa.key'), 'pass');
    const ecKeys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const ecCert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '02',
      name: `CN=${ISS}`,
      notBefore: new Date(1600000000 * 1000),
      notAfter: new Date(1700000000 * 1000),
      keys: ecKeys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    });
    const ec = { keys: [{ kid: kid138, kty: 'RSA', x5c: [Buffer.from(ecCert.rawData).toString('base64')] }] };
    const v = await verifyMaaToken(t, { jwks: ec, policy, now: AT });
    assert.equal(outcome(v, 'maa.key'), 'fail');
    assert.match(v.checks.find((c) => c.id === 'maa.key')!.detail, /MAA_KEY_CERT: the key is ec, not RSA/);
  });
  it('garbage tokens and bad policies', async () => {
    const policy = parseMaaPolicy({ issuers: [ISS] });
    for (const t of ['', 'a.b.c', 'x'.repeat(300_000), `${real138.split('.')[0]}.e30.`])
      assert.equal((await verifyMaaToken(t, { jwks, policy, now: AT })).ok, false);
    assert.throws(() => parseMaaPolicy({}), PolicyError);
    assert.throws(() => parseMaaPolicy({ issuers: [ISS], issuer: ISS }), PolicyError);
    assert.throws(() => parseMaaPolicy({ issuers: [ISS], complianceStatus: 3 }), PolicyError);
  });
});
