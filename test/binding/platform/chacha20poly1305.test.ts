/**
 * The two ChaCha20-Poly1305 twins (OpenSSL in Node, @hpke/chacha20poly1305 in browsers) are the same
 * AEAD: RFC 8439 §2.8.2's vector through both, each opens what the other sealed, both refuse an edited
 * tag; and an HPKE suite built on either opens the other's single-shot seal. A ciphertext lent to the Node
 * AEAD through @hpke (no copy) opens as a copy of it does, from any offset, and an edited one still fails.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import {
  generateSealKeyPair,
  hpkeOpen,
  hpkeSeal,
  hpkeSuite,
  SEAL_SUITES,
} from '../../../src/binding/index.ts';
import {
  platformChacha20Poly1305 as nodeAead,
  lendCiphertext as nodeLend,
} from '../../../src/binding/platform/chacha20poly1305-node.ts';
import {
  platformChacha20Poly1305 as webAead,
  lendCiphertext as webLend,
} from '../../../src/binding/platform/chacha20poly1305-web.ts';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

// RFC 8439 §2.8.2
const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
const nonce = hex('070000004041424344454647');
const aad = hex('50515253c0c1c2c3c4c5c6c7');
const plaintext = new TextEncoder().encode(
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
);
const sealed =
  hex(`d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b
  1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116
  1ae10b594f09e26a7e902ecbd0600691`);

test('RFC 8439 §2.8.2 through both twins, and each opens the other', async () => {
  for (const make of [nodeAead, webAead]) {
    const ctx = make().createEncryptionContext(key);
    assert.deepEqual(new Uint8Array(await ctx.seal(nonce, plaintext, aad)), sealed);
    assert.deepEqual(new Uint8Array(await ctx.open(nonce, sealed, aad)), plaintext);
  }
  const big = Uint8Array.from({ length: 70_001 }, (_, i) => (i * 31) & 255);
  const a = nodeAead().createEncryptionContext(key);
  const b = webAead().createEncryptionContext(key);
  assert.deepEqual(new Uint8Array(await b.open(nonce, await a.seal(nonce, big, aad), aad)), big);
  assert.deepEqual(new Uint8Array(await a.open(nonce, await b.seal(nonce, big, aad), aad)), big);
});

test('both twins refuse an edited tag or ciphertext', async () => {
  for (const make of [nodeAead, webAead]) {
    const ctx = make().createEncryptionContext(key);
    for (const at of [0, sealed.length - 1]) {
      const bad = sealed.slice();
      bad[at]! ^= 1;
      await assert.rejects(ctx.open(nonce, bad, aad));
    }
    await assert.rejects(ctx.open(nonce, sealed.subarray(0, 15), aad));
  }
});

test('HPKE over either twin opens the other twin’s seal', async () => {
  const suites = [nodeAead, webAead].map(
    (aead) => new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: aead() }),
  );
  const kp = await suites[0]!.kem.generateKeyPair();
  const info = new TextEncoder().encode('twins');
  for (const [from, to] of [
    [0, 1],
    [1, 0],
  ] as const) {
    const r = await suites[from]!.seal({ recipientPublicKey: kp.publicKey, info }, plaintext);
    const pt = await suites[to]!.open({ recipientKey: kp, enc: r.enc, info }, r.ct);
    assert.deepEqual(new Uint8Array(pt), plaintext);
  }
});

test('a lent ciphertext (a view into a larger message, no copy) opens; edited, it fails; other AEADs get none', async () => {
  const info = new TextEncoder().encode('lent');
  for (const { name } of SEAL_SUITES) {
    const kp = await generateSealKeyPair(name);
    const pt = Uint8Array.from({ length: 200_003 }, (_, i) => (i * 7) & 255);
    const { enc, ciphertext } = await hpkeSeal(name, kp.publicKey, info, pt);
    for (const offset of [0, 1, 3, 4096]) {
      const message = new Uint8Array(offset + ciphertext.length + 5).fill(0xee);
      message.set(ciphertext, offset);
      const view = message.subarray(offset, offset + ciphertext.length);
      assert.deepEqual(await hpkeOpen(kp, enc, info, view), pt, `${name} at offset ${offset}`);
      assert.equal(view[0], ciphertext[0], 'the received bytes are not touched');
      view[view.length - 1]! ^= 1;
      await assert.rejects(hpkeOpen(kp, enc, info, view), /does not open/);
    }
    // Lent only to the Node ChaCha20-Poly1305 (both ChaCha suites here); AES-256-GCM gets the bytes.
    const lends = nodeLend(hpkeSuite(name).aead, ciphertext) !== undefined;
    assert.equal(lends, name.endsWith('chacha20poly1305'), `${name}: lends`);
  }
  assert.equal(nodeLend(webAead(), new Uint8Array(1)), undefined, 'only the Node AEAD reads a stand-in');
  assert.equal(webLend(nodeAead(), new Uint8Array(1)), undefined, 'the browser twin lends nothing');
  const standIn = nodeLend(nodeAead(), sealed)!;
  assert.ok(standIn instanceof ArrayBuffer, 'passes @hpke’s instanceof check');
  assert.equal(new Uint8Array(standIn).length, 0, 'no real ArrayBuffer: read any other way it is empty');
  const ctx = nodeAead().createEncryptionContext(key);
  assert.deepEqual(new Uint8Array(await ctx.open(nonce, nodeLend(nodeAead(), sealed)!, aad)), plaintext);
});
