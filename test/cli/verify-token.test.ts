/**
 * `wasmvm-tee verify-token`: an MAA token (the real SEV-SNP token's claims, re-signed by a locally made
 * key published in x5c) verifies at a fixed time (exit 0); the real token fails its signature against that
 * key set (exit 1); usage and input errors exit 2.
 */
import 'reflect-metadata';
import * as assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { main } from '../../src/cli/verify-token.ts';

const real = readFileSync(
  new URL('../data/azure/maa/maa_token_ClientLibTests_line138.jwt', import.meta.url),
  'utf8',
).trim();
const ISS = 'https://sharedweu.weu.attest.azure.net';
const AT = '2023-03-30T12:40:00Z';
const tmp = mkdtempSync(join(tmpdir(), 'wasmvm-tee-verify-token-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const f = (n: string) => join(tmp, n);

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

before(async () => {
  const alg = {
    name: 'RSASSA-PKCS1-v1_5',
    hash: 'SHA-256',
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
  };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${ISS}`,
    notBefore: new Date('2023-01-01'),
    notAfter: new Date('2024-01-01'),
    keys,
    signingAlgorithm: alg,
  });
  const kid = decodeProtectedHeader(real).kid!;
  writeFileSync(
    f('certs.json'),
    JSON.stringify({ keys: [{ kid, kty: 'RSA', x5c: [Buffer.from(cert.rawData).toString('base64')] }] }),
  );
  writeFileSync(f('cert.pem'), cert.toString('pem'));
  const local = await new SignJWT(decodeJwt(real))
    .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
    .sign(keys.privateKey);
  writeFileSync(f('local.jwt'), local);
  writeFileSync(f('real.jwt'), real);
});

describe('verify-token', () => {
  it('the locally signed token verifies (exit 0) and prints the SEV-SNP claims; --json', async () => {
    const r = await run([
      '--token',
      f('local.jwt'),
      '--jwks',
      f('certs.json'),
      '--issuer',
      ISS,
      '--now',
      AT,
      '--pin-cert',
      f('cert.pem'),
    ]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /^VERIFIED: azure-maa/);
    assert.match(r.out, /PASS maa\.key\.pinned/);
    assert.match(r.out, /SEV-SNP claims: .*x-ms-sevsnpvm-launchmeasurement/);
    const j = await run([
      '--token',
      f('local.jwt'),
      '--jwks',
      f('certs.json'),
      '--issuer',
      ISS,
      '--now',
      AT,
      '--json',
    ]);
    assert.equal(JSON.parse(j.out).fields.isolationType, 'sevsnpvm');
  });
  it('the real token against the local key set: signature fails (exit 1); today: expired too', async () => {
    const r = await run(['--token', f('real.jwt'), '--jwks', f('certs.json'), '--issuer', ISS, '--now', AT]);
    assert.equal(r.code, 1);
    assert.match(r.out, /FAIL maa\.token\.signature/);
    const t = await run(['--token', f('local.jwt'), '--jwks', f('certs.json'), '--issuer', ISS]);
    assert.equal(t.code, 1);
    assert.match(t.out, /FAIL maa\.token\.expiry/);
  });
  it('another issuer, a runtime nonce the token lacks: exit 1', async () => {
    assert.equal(
      (
        await run([
          '--token',
          f('local.jwt'),
          '--jwks',
          f('certs.json'),
          '--issuer',
          'https://x',
          '--now',
          AT,
        ])
      ).code,
      1,
    );
    assert.equal(
      (
        await run([
          '--token',
          f('local.jwt'),
          '--jwks',
          f('certs.json'),
          '--issuer',
          ISS,
          '--now',
          AT,
          '--runtime-nonce',
          'n',
        ])
      ).code,
      1,
    );
  });
  it('usage and input errors: exit 2', async () => {
    assert.equal((await run(['--jwks', f('certs.json'), '--issuer', ISS])).code, 2);
    assert.equal((await run(['--token', f('local.jwt'), '--issuer', ISS])).code, 2);
    assert.equal((await run(['--token', f('local.jwt'), '--jwks', f('certs.json')])).code, 2);
    assert.equal((await run(['--token', f('local.jwt'), '--jwks', f('local.jwt'), '--issuer', ISS])).code, 2);
    assert.equal((await run(['--bogus'])).code, 2);
  });
});
