/**
 * The session-key readers' two twins (node:crypto in Node, WebCrypto in browsers) agree: a JWK's DER
 * SubjectPublicKeyInfo byte for byte (P-256, P-384, RSA), P-256 or not for keys of other curves and
 * kinds, and both refuse what is not a key (an EC point off its curve, bytes that are not DER).
 */
import * as assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import * as node from '../../../../src/verify/execution/platform/session-keys-node.ts';
import * as web from '../../../../src/verify/execution/platform/session-keys-web.ts';

const keys = {
  p256: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey,
  p384: generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey,
  rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey,
};
const spki = (k: (typeof keys)['p256']) => new Uint8Array(k.export({ format: 'der', type: 'spki' }));

test('JWK → SPKI: the same bytes from both twins, the key’s own SPKI', async () => {
  for (const k of Object.values(keys)) {
    const jwk = { ...k.export({ format: 'jwk' }), kid: 'k1', alg: 'ES384', use: 'sig' };
    assert.deepEqual(await node.platformJwkToSpki(jwk), spki(k));
    assert.deepEqual(await web.platformJwkToSpki(jwk), spki(k));
  }
});

test('P-256 or not: both twins agree', async () => {
  for (const [name, k] of Object.entries(keys)) {
    assert.equal(await node.platformIsP256Spki(spki(k)), name === 'p256');
    assert.equal(await web.platformIsP256Spki(spki(k)), name === 'p256');
  }
});

test('not a key: both twins throw', async () => {
  const jwk = keys.p384.export({ format: 'jwk' });
  const offCurve = { ...jwk, y: jwk.x };
  await assert.rejects(node.platformJwkToSpki(offCurve));
  await assert.rejects(web.platformJwkToSpki(offCurve));
  await assert.rejects(node.platformJwkToSpki({ kty: 'EC', crv: 'P-384' }));
  await assert.rejects(web.platformJwkToSpki({ kty: 'EC', crv: 'P-384' }));
  for (const bad of [new Uint8Array(0), Uint8Array.of(0x30, 0x03, 1, 2, 3), spki(keys.p256).subarray(1)]) {
    await assert.rejects(node.platformIsP256Spki(bad));
    await assert.rejects(web.platformIsP256Spki(bad));
  }
});
