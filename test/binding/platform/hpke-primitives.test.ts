/**
 * The fast HPKE primitives (OpenSSL HMAC/HKDF and X25519 under @hpke's key schedule and DHKEM, what Node
 * runs: src/binding/platform/hpke-primitives-node.ts) and @hpke's own defaults (WebCrypto; what browsers
 * run: hpke-primitives-web.ts) are the same HPKE: RFC 5869 and RFC 7748 vectors through both, the same
 * derived keys and the same bytes for a fixed ephemeral key, each opens what the other sealed (every
 * suite, sizes 0 to 1 MiB), both refuse a low-order public key; and a browser bundle gets the web twin.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it, test } from 'node:test';
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import { XWing } from '@hpke/hybridkem-x-wing';
import { build } from 'esbuild';
import { platformPlugin } from '../../../scripts/esbuild-platform.mjs';
import { hpkeSuite, SEAL_SUITES, sealSuiteInfo } from '../../../src/binding/index.ts';
import * as fast from '../../../src/binding/platform/hpke-primitives-node.ts';
import * as web from '../../../src/binding/platform/hpke-primitives-web.ts';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: ArrayBuffer | Uint8Array) =>
  Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b)).toString('hex');

/** @hpke's defaults for a suite name: what the library used before the fast primitives. */
function defaultSuite(name: string): CipherSuite {
  const info = sealSuiteInfo(name);
  return new CipherSuite({
    kem: info.kemId === 0x647a ? new XWing() : new DhkemX25519HkdfSha256(),
    kdf: new HkdfSha256(),
    aead: info.aeadId === 0x0002 ? new Aes256Gcm() : new Chacha20Poly1305(),
  });
}

function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + 7) & 255;
  return b;
}

describe('KDF: OpenSSL HMAC/HKDF under @hpke = @hpke on WebCrypto', () => {
  // RFC 5869 A.1 (HKDF-SHA256, basic test case)
  const ikm = hex('0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b');
  const salt = hex('000102030405060708090a0b0c');
  const info = hex('f0f1f2f3f4f5f6f7f8f9');
  const prk = '077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5';
  const okm = '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865';
  for (const [name, make] of [
    ['node', fast.platformHkdfSha256],
    ['web', web.platformHkdfSha256],
  ] as const) {
    it(`${name}: RFC 5869 A.1; labeled forms; empty salt`, async () => {
      const k = make();
      k.init(hex('48504b45002000010003'));
      // @hpke's extract takes a hash-length salt (or none); A.1's 13-byte salt goes through extractAndExpand.
      assert.equal(toHex(await k.extractAndExpand(salt, ikm, info, 42)), okm);
      assert.equal(toHex(await k.expand(hex(prk), info, 42)), okm);
      const ref = web.platformHkdfSha256();
      ref.init(hex('48504b45002000010003'));
      const z = new Uint8Array(0);
      assert.equal(toHex(await k.extract(z, ikm)), toHex(await ref.extract(z, ikm)));
      const s32 = pattern(32);
      assert.equal(toHex(await k.extract(s32, ikm)), toHex(await ref.extract(s32, ikm)));
      for (const sl of [z, s32])
        for (const len of [12, 32, 42, 100])
          assert.equal(
            toHex(await k.extractAndExpand(sl, ikm, info, len)),
            toHex(await ref.extractAndExpand(sl, ikm, info, len)),
          );
      const label = new TextEncoder().encode('secret');
      assert.equal(
        toHex(await k.labeledExtract(z, label, ikm)),
        toHex(await ref.labeledExtract(z, label, ikm)),
      );
      for (const len of [12, 32, 33, 64, 255])
        assert.equal(
          toHex(await k.labeledExpand(hex(prk), label, info, len)),
          toHex(await ref.labeledExpand(hex(prk), label, info, len)),
        );
    });
  }
});

test('X25519: RFC 7748 §6.1 through both DHKEMs (DeriveKeyPair-free: raw keys)', async () => {
  const aSk = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
  const bSk = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
  const bPk = 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f';
  const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
  for (const kem of [fast.platformDhkemX25519(), web.platformDhkemX25519()]) {
    type Key = Awaited<ReturnType<typeof kem.deserializePublicKey>>;
    const prim = (
      kem as unknown as {
        _prim: {
          derivePublicKey(k: Key): Promise<Key>;
          dh(a: Key, b: Key): Promise<ArrayBuffer>;
        };
      }
    )._prim;
    const a = await kem.deserializePrivateKey(aSk);
    const b = await kem.deserializePrivateKey(bSk);
    assert.equal(toHex(await kem.serializePublicKey(await prim.derivePublicKey(b))), bPk);
    assert.equal(toHex(await prim.dh(a, await kem.deserializePublicKey(hex(bPk)))), shared);
  }
});

describe('each opens what the other sealed, every suite', () => {
  for (const { name } of SEAL_SUITES) {
    it(name, async () => {
      const f = hpkeSuite(name);
      const d = defaultSuite(name);
      const ikm = pattern(32);
      const kf = await f.kem.deriveKeyPair(ikm);
      const kd = await d.kem.deriveKeyPair(ikm);
      const pkf = await f.kem.serializePublicKey(kf.publicKey);
      assert.equal(
        toHex(pkf),
        toHex(await d.kem.serializePublicKey(kd.publicKey)),
        'same derived public key',
      );
      assert.equal(
        toHex(await f.kem.serializePrivateKey(kf.privateKey)),
        toHex(await d.kem.serializePrivateKey(kd.privateKey)),
        'same derived private key',
      );
      const info = new TextEncoder().encode(`agreement ${name}`);
      for (const n of [0, 1, 200, 4097, 65_537, 1 << 20]) {
        const pt = pattern(n);
        // f seals, d opens; d seals, f opens (random ephemeral keys).
        const a = await f.seal({ recipientPublicKey: await f.kem.deserializePublicKey(pkf), info }, pt);
        assert.deepEqual(
          new Uint8Array(await d.open({ recipientKey: kd, enc: a.enc, info }, a.ct)),
          pt,
          `${n}`,
        );
        const b = await d.seal({ recipientPublicKey: await d.kem.deserializePublicKey(pkf), info }, pt);
        assert.deepEqual(
          new Uint8Array(await f.open({ recipientKey: kf, enc: b.enc, info }, b.ct)),
          pt,
          `${n}`,
        );
        // A fixed ephemeral key: the same bytes from both.
        if (n <= 65_537) {
          const ekmBytes = sealSuiteInfo(name).kemId === 0x647a ? 64 : 32;
          const ekm = pattern(128).subarray(n % 7, (n % 7) + ekmBytes);
          const x = await f.seal(
            { recipientPublicKey: await f.kem.deserializePublicKey(pkf), info, ekm },
            pt,
          );
          const y = await d.seal(
            { recipientPublicKey: await d.kem.deserializePublicKey(pkf), info, ekm },
            pt,
          );
          assert.equal(toHex(x.enc), toHex(y.enc));
          assert.equal(toHex(x.ct), toHex(y.ct));
        }
      }
      // A fresh (random) key pair of the fast suite works with the default suite too.
      const g = await f.kem.generateKeyPair();
      const gpk = await f.kem.serializePublicKey(g.publicKey);
      const c = await d.seal(
        { recipientPublicKey: await d.kem.deserializePublicKey(gpk), info },
        pattern(100),
      );
      assert.deepEqual(
        new Uint8Array(await f.open({ recipientKey: g, enc: c.enc, info }, c.ct)),
        pattern(100),
      );
    });
  }
});

test('both refuse a low-order X25519 public key (all-zero shared secret)', async () => {
  const info = new Uint8Array(0);
  for (const s of [hpkeSuite(SEAL_SUITES[0]!.name), defaultSuite(SEAL_SUITES[0]!.name)]) {
    for (const bad of [
      new Uint8Array(32),
      hex('0100000000000000000000000000000000000000000000000000000000000000'),
    ]) {
      const pk = await s.kem.deserializePublicKey(bad);
      await assert.rejects(s.seal({ recipientPublicKey: pk, info }, pattern(10)));
    }
  }
});

test('a browser bundle of the sealing code gets the web twin (and the package says the same)', async () => {
  const r = await build({
    entryPoints: ['src/binding/sealed.ts'],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    metafile: true,
    logLevel: 'silent',
    plugins: [platformPlugin],
  });
  const inputs = Object.keys(r.metafile.inputs);
  assert.ok(inputs.includes('src/binding/platform/hpke-primitives-web.ts'), inputs.join('\n'));
  assert.ok(!inputs.some((f) => /-node\.ts$/.test(f)), inputs.join('\n'));
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { browser: Record<string, string> };
  assert.equal(
    pkg.browser['./dist/binding/platform/hpke-primitives-node.js'],
    './dist/binding/platform/hpke-primitives-web.js',
  );
  assert.equal(fast.HPKE_PRIMITIVES, 'node:crypto (OpenSSL)');
});

test('unframe finds one non-zero padding byte anywhere, at any alignment', async () => {
  const { framePayload, unframePayload } = await import('../../../src/binding/index.ts');
  for (const payloadLen of [0, 1, 5, 1019, 3000]) {
    const frame = framePayload(pattern(payloadLen));
    for (const shift of [0, 1, 2, 3]) {
      const buf = new Uint8Array(frame.length + shift);
      buf.set(frame, shift);
      const f = buf.subarray(shift);
      assert.deepEqual(unframePayload(f), pattern(payloadLen));
      for (let i = 4 + payloadLen; i < f.length; i += i < 4 + payloadLen + 16 || i > f.length - 16 ? 1 : 61) {
        f[i] = 1;
        assert.throws(
          () => unframePayload(f),
          /padding is not zero/,
          `len ${payloadLen} shift ${shift} at ${i}`,
        );
        f[i] = 0;
      }
    }
  }
});
