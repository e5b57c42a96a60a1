/**
 * Sealed execution's wire format: the published vectors (docs/sealed-execution-vectors.json) are
 * exactly what the library makes, and an independent RFC 9180 implementation written here on
 * node:crypto primitives (X25519, HMAC-SHA256 for HKDF, ChaCha20-Poly1305 / AES-256-GCM) derives the
 * same keys, opens every X25519 vector and re-seals it to the same bytes. Plus framing, buckets and
 * the digest.
 */
import { strict as assert } from 'node:assert';
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fromBinary } from '@bufbuild/protobuf';
import { SEAL_SUITE_NAMES } from '../../src/binding/defaults.ts';
import {
  framePayload,
  generateSealKeyPair,
  hpkeOpen,
  hpkeSeal,
  SEAL_SUITES,
  sealedRequestDigest,
  sizeBucket,
  unframePayload,
} from '../../src/binding/index.ts';
import { SealedExecutionPayloadSchema } from '../../src/gen/wasmvm/v1/wasmvm_pb.ts';
import { generateSealedVectors, type SealedVector, VECTORS_FILE } from './sealed-vectors.ts';

const hex = (s: string) => Buffer.from(s, 'hex');
const published = JSON.parse(readFileSync(VECTORS_FILE, 'utf8')) as { vectors: SealedVector[] };

// ---- an independent RFC 9180 (base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256) -------------------
const i2osp = (n: number, w: number) => {
  const b = Buffer.alloc(w);
  b.writeUIntBE(n, 0, w);
  return b;
};
const extract = (salt: Buffer, ikm: Buffer) =>
  createHmac('sha256', salt.length ? salt : Buffer.alloc(32))
    .update(ikm)
    .digest();
function expand(prk: Buffer, info: Buffer, len: number): Buffer {
  const out: Buffer[] = [];
  let t = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(out).length < len; i++) {
    t = createHmac('sha256', prk)
      .update(Buffer.concat([t, info, Buffer.of(i)]))
      .digest();
    out.push(t);
  }
  return Buffer.concat(out).subarray(0, len);
}
const V1 = Buffer.from('HPKE-v1');
const labeledExtract = (suiteId: Buffer, salt: Buffer, label: string, ikm: Buffer) =>
  extract(salt, Buffer.concat([V1, suiteId, Buffer.from(label), ikm]));
const labeledExpand = (suiteId: Buffer, prk: Buffer, label: string, info: Buffer, len: number) =>
  expand(prk, Buffer.concat([i2osp(len, 2), V1, suiteId, Buffer.from(label), info]), len);

const KEM_ID = Buffer.concat([Buffer.from('KEM'), i2osp(0x0020, 2)]);
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');

function x25519Derive(ikm: Buffer): { sk: Buffer; pk: Buffer } {
  const prk = labeledExtract(KEM_ID, Buffer.alloc(0), 'dkp_prk', ikm);
  const sk = labeledExpand(KEM_ID, prk, 'sk', Buffer.alloc(0), 32);
  const key = createPrivateKey({ key: Buffer.concat([X25519_PKCS8, sk]), format: 'der', type: 'pkcs8' });
  const pk = createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(12);
  return { sk, pk };
}
function x25519(sk: Buffer, pk: Buffer): Buffer {
  return diffieHellman({
    privateKey: createPrivateKey({ key: Buffer.concat([X25519_PKCS8, sk]), format: 'der', type: 'pkcs8' }),
    publicKey: createPublicKey({ key: Buffer.concat([X25519_SPKI, pk]), format: 'der', type: 'spki' }),
  });
}
function sharedSecret(dh: Buffer, enc: Buffer, pkR: Buffer): Buffer {
  const prk = labeledExtract(KEM_ID, Buffer.alloc(0), 'eae_prk', dh);
  return labeledExpand(KEM_ID, prk, 'shared_secret', Buffer.concat([enc, pkR]), 32);
}
function keySchedule(v: SealedVector, ss: Buffer, info: Buffer): { key: Buffer; nonce: Buffer } {
  const sid = Buffer.concat([Buffer.from('HPKE'), i2osp(v.kemId, 2), i2osp(v.kdfId, 2), i2osp(v.aeadId, 2)]);
  const pskIdHash = labeledExtract(sid, Buffer.alloc(0), 'psk_id_hash', Buffer.alloc(0));
  const infoHash = labeledExtract(sid, Buffer.alloc(0), 'info_hash', info);
  const ctx = Buffer.concat([Buffer.of(0), pskIdHash, infoHash]);
  const secret = labeledExtract(sid, ss, 'secret', Buffer.alloc(0));
  return {
    key: labeledExpand(sid, secret, 'key', ctx, 32),
    nonce: labeledExpand(sid, secret, 'base_nonce', ctx, 12),
  };
}
const cipherName = (v: SealedVector) => (v.aeadId === 0x0003 ? 'chacha20-poly1305' : 'aes-256-gcm');
function aeadOpen(v: SealedVector, k: { key: Buffer; nonce: Buffer }, ct: Buffer): Buffer {
  const d = createDecipheriv(cipherName(v) as 'aes-256-gcm', k.key, k.nonce, { authTagLength: 16 });
  d.setAAD(Buffer.alloc(0));
  d.setAuthTag(ct.subarray(ct.length - 16));
  return Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]);
}
function aeadSeal(v: SealedVector, k: { key: Buffer; nonce: Buffer }, pt: Buffer): Buffer {
  const c = createCipheriv(cipherName(v) as 'aes-256-gcm', k.key, k.nonce, { authTagLength: 16 });
  c.setAAD(Buffer.alloc(0));
  return Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
}
// ------------------------------------------------------------------------------------------------------

describe('sealed execution vectors (docs/sealed-execution-vectors.json)', () => {
  it('the library makes exactly the published bytes, every suite', async () => {
    const made = await generateSealedVectors();
    assert.deepEqual(made, published.vectors);
    assert.deepEqual(
      published.vectors.map((v) => v.suite),
      SEAL_SUITES.map((s) => s.name),
    );
    assert.deepEqual(
      [...SEAL_SUITE_NAMES],
      SEAL_SUITES.map((s) => s.name),
    );
  });

  for (const v of published.vectors.filter((x) => x.kemId === 0x0020)) {
    it(`an independent RFC 9180 implementation opens and re-seals ${v.suite}`, () => {
      // keys
      const R = x25519Derive(hex(v.ikmR));
      assert.equal(R.sk.toString('hex'), v.skR);
      assert.equal(R.pk.toString('hex'), v.pkR);
      const C = x25519Derive(hex(v.ikmC));
      assert.equal(C.pk.toString('hex'), v.pkC);
      // info strings as documented
      const info = Buffer.concat([
        Buffer.from('wasmvm-tee/sealed-request/v1'),
        Buffer.of(0),
        Buffer.from(v.suite),
        Buffer.of(0),
        Buffer.from(v.keyId),
      ]);
      assert.equal(info.toString('hex'), v.request.info);
      // request: the server's side (decap with skR, open)
      const enc = hex(v.request.enc);
      const k = keySchedule(v, sharedSecret(x25519(R.sk, enc), enc, R.pk), info);
      const frame = aeadOpen(v, k, hex(v.request.ciphertext));
      assert.equal(frame.toString('hex'), v.request.frame);
      const n = frame.readUInt32BE(0);
      assert.equal(frame.subarray(4, 4 + n).toString('hex'), v.request.payload);
      assert.ok(frame.subarray(4 + n).every((b) => b === 0));
      const payload = fromBinary(SealedExecutionPayloadSchema, frame.subarray(4, 4 + n));
      assert.equal(payload.request?.execution?.fnName, 'add');
      assert.equal(Buffer.from(payload.responsePublicKey).toString('hex'), v.pkC);
      // the sender's side: ephemeral key from ekm, same enc and ciphertext
      const E = x25519Derive(hex(v.request.ekm));
      assert.equal(E.pk.toString('hex'), v.request.enc);
      const k2 = keySchedule(v, sharedSecret(x25519(E.sk, R.pk), E.pk, R.pk), info);
      assert.equal(aeadSeal(v, k2, frame).toString('hex'), v.request.ciphertext);
      // the digest, as documented
      const u32 = (b: Buffer) => i2osp(b.length, 4);
      const kid = Buffer.from(v.keyId);
      const suite = Buffer.from(v.suite);
      const ct = hex(v.request.ciphertext);
      const digest = createHash('sha256')
        .update(
          Buffer.concat([
            Buffer.from('wasmvm-tee/sealed-request-digest/v1'),
            Buffer.of(0),
            u32(kid),
            kid,
            u32(suite),
            suite,
            u32(enc),
            enc,
            u32(ct),
            ct,
          ]),
        )
        .digest('hex');
      assert.equal(digest, v.request.digest);
      // response: the client's side
      const respInfo = Buffer.concat([
        Buffer.from('wasmvm-tee/sealed-response/v1'),
        Buffer.of(0),
        hex(v.request.digest),
      ]);
      assert.equal(respInfo.toString('hex'), v.response.info);
      const renc = hex(v.response.enc);
      const kr = keySchedule(v, sharedSecret(x25519(C.sk, renc), renc, C.pk), respInfo);
      assert.equal(aeadOpen(v, kr, hex(v.response.ciphertext)).toString('hex'), v.response.frame);
    });
  }

  it('X-Wing: the library opens its own vector with the derived keys', async () => {
    const v = published.vectors.find((x) => x.kemId === 0x647a)!;
    const R = await generateSealKeyPair(v.suite, hex(v.ikmR));
    assert.equal(Buffer.from(R.publicKey).toString('hex'), v.pkR);
    const frame = await hpkeOpen(R, hex(v.request.enc), hex(v.request.info), hex(v.request.ciphertext));
    assert.equal(Buffer.from(frame).toString('hex'), v.request.frame);
  });
});

describe('sealed execution framing', () => {
  it('buckets: at least 1 KiB, then ≤ 12.5 % overhead; the frame hides the exact size', () => {
    assert.equal(sizeBucket(1), 1024);
    assert.equal(sizeBucket(1024), 1024);
    assert.equal(sizeBucket(1025), 1152);
    assert.equal(sizeBucket(1 << 20), 1 << 20);
    assert.equal(sizeBucket((1 << 20) + 1), (1 << 20) + (1 << 17));
    for (const n of [1, 100, 1000, 5000, 70_000, 1_048_580, 3_000_001]) {
      const b = sizeBucket(n);
      assert.ok(b >= n && (b <= 1024 || b <= n * 1.125), `${n} → ${b}`);
    }
    assert.equal(framePayload(new Uint8Array(10)).length, framePayload(new Uint8Array(900)).length);
  });

  it('unframe: the payload back; a bad length or non-zero padding is SEAL_INVALID_FRAME', () => {
    const p = Uint8Array.of(1, 2, 3);
    const f = framePayload(p);
    assert.deepEqual(unframePayload(f), p);
    const long = f.slice();
    long[0] = 0xff;
    assert.throws(() => unframePayload(long), { code: 'SEAL_INVALID_FRAME' });
    const pad = f.slice();
    pad[pad.length - 1] = 1;
    assert.throws(() => unframePayload(pad), { code: 'SEAL_INVALID_FRAME' });
    assert.throws(() => unframePayload(new Uint8Array(3)), { code: 'SEAL_INVALID_FRAME' });
  });

  it('open: another key, another info or one edited bit is SEAL_OPEN_FAILED', async () => {
    for (const s of SEAL_SUITES) {
      const k = await generateSealKeyPair(s.name);
      const other = await generateSealKeyPair(s.name);
      const info = Uint8Array.of(1);
      const sealed = await hpkeSeal(s.name, k.publicKey, info, Uint8Array.of(9, 9, 9));
      assert.deepEqual(await hpkeOpen(k, sealed.enc, info, sealed.ciphertext), Uint8Array.of(9, 9, 9));
      await assert.rejects(hpkeOpen(other, sealed.enc, info, sealed.ciphertext), {
        code: 'SEAL_OPEN_FAILED',
      });
      await assert.rejects(hpkeOpen(k, sealed.enc, Uint8Array.of(2), sealed.ciphertext), {
        code: 'SEAL_OPEN_FAILED',
      });
      const ct = sealed.ciphertext.slice();
      ct[0]! ^= 1;
      await assert.rejects(hpkeOpen(k, sealed.enc, info, ct), { code: 'SEAL_OPEN_FAILED' });
    }
  });

  it('the digest covers every public part', () => {
    const base = { keyId: 'k', suite: 's', enc: Uint8Array.of(1), ciphertext: Uint8Array.of(2) };
    const d = Buffer.from(sealedRequestDigest(base)).toString('hex');
    for (const over of [
      { keyId: 'K' },
      { suite: 'S' },
      { enc: Uint8Array.of(3) },
      { ciphertext: Uint8Array.of(3) },
    ])
      assert.notEqual(Buffer.from(sealedRequestDigest({ ...base, ...over })).toString('hex'), d);
  });
});
