/**
 * Node's primitives under @hpke/core's HPKE (docs/sealed-execution.md §9): HMAC/HKDF-SHA256 and X25519 from
 * OpenSSL through node:crypto, synchronous and native. @hpke's WebCrypto defaults cost a thread-pool round
 * trip per HMAC or X25519 step (about 15 of them per seal or open); these cost microseconds.
 *
 * Only primitives are supplied, through @hpke's own pluggable seams; every RFC 9180 step (labeled extract
 * and expand, the key schedule, DeriveKeyPair, Encap/Decap, the KEM context) stays @hpke's code:
 *  - KDF: @hpke's HkdfSha256Native with its SubtleCrypto handle (`_api`, set by `_setup`) replaced by
 *    `hmacSubtle` below, which answers exactly the two calls that class makes: HMAC sign (createHmac) and
 *    HKDF deriveBits (hkdfSync, RFC 5869 Extract-then-Expand); nothing else. Its extractAndExpand is
 *    @hpke's own expand of @hpke's own extract (RFC 5869 §2), i.e. HMAC calls only.
 *  - X25519: @hpke/common's XCurveDhkemPrimitives (the class @hpke/dhkem-x25519 uses with its JavaScript
 *    curve) given OpenSSL's X25519 as the curve (`generateKeyPairSync`, `diffieHellman`).
 *    OpenSSL refuses an all-zero shared secret (RFC 7748 §6.1, RFC 9180 §7.1.4), as WebCrypto does.
 * The browser build replaces this file with hpke-primitives-web.ts (@hpke's WebCrypto defaults; same
 * exports; scripts/esbuild-platform.mjs, the package's `browser` field). Only ../sealed.ts imports it.
 */
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import {
  Dhkem,
  HkdfSha256Native,
  type KdfInterface,
  KemId,
  type KemInterface,
  XCurveDhkemPrimitives,
} from '@hpke/common';
import { BindingError } from '../errors.ts';

type Bytes = ArrayBufferLike | ArrayBufferView;
const bytes = (b: Bytes): Uint8Array =>
  ArrayBuffer.isView(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : new Uint8Array(b);
/** A Buffer's bytes as an ArrayBuffer of their own (Node pools small Buffers). */
const ownArrayBuffer = (b: Buffer): ArrayBuffer =>
  (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength
    ? b.buffer
    : b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)) as ArrayBuffer;

const HASHES: Readonly<Record<string, string>> = {
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
};
function hashOf(h: unknown): string {
  const name = typeof h === 'string' ? h : (h as { name?: string } | undefined)?.name;
  const alg = name ? HASHES[name.toUpperCase()] : undefined;
  if (!alg) throw new BindingError('SEAL_UNSUPPORTED_PRIMITIVE', `unsupported hash ${String(name)}`);
  return alg;
}
const algName = (a: unknown): string =>
  String(typeof a === 'string' ? a : (a as { name?: string } | undefined)?.name).toUpperCase();

interface RawKey {
  name: 'HMAC' | 'HKDF';
  hash: string;
  raw: Uint8Array;
}

/**
 * The subset of SubtleCrypto that @hpke/common's HkdfNative calls (importKey 'raw' for HMAC and HKDF, sign
 * HMAC, deriveBits HKDF), answered synchronously by OpenSSL. Anything else throws.
 */
const hmacSubtle = {
  importKey(format: string, keyData: Bytes, algorithm: unknown): RawKey {
    const name = algName(algorithm);
    if (format !== 'raw' || (name !== 'HMAC' && name !== 'HKDF'))
      throw new BindingError('SEAL_UNSUPPORTED_PRIMITIVE', `unsupported importKey ${format} ${name}`);
    return {
      name,
      hash: name === 'HMAC' ? hashOf((algorithm as { hash?: unknown }).hash) : '',
      raw: bytes(keyData).slice(),
    };
  },
  sign(algorithm: unknown, key: RawKey, data: Bytes): ArrayBuffer {
    if (algName(algorithm) !== 'HMAC' || key.name !== 'HMAC')
      throw new BindingError('SEAL_UNSUPPORTED_PRIMITIVE', 'unsupported sign');
    return ownArrayBuffer(createHmac(key.hash, key.raw).update(bytes(data)).digest());
  },
  deriveBits(params: { name: string; hash: unknown; salt: Bytes; info: Bytes }, key: RawKey, length: number) {
    if (algName(params) !== 'HKDF' || key.name !== 'HKDF' || length % 8 !== 0)
      throw new BindingError('SEAL_UNSUPPORTED_PRIMITIVE', 'unsupported deriveBits');
    return hkdfSync(hashOf(params.hash), key.raw, bytes(params.salt), bytes(params.info), length / 8);
  },
};

/** @hpke's HKDF-SHA256 (RFC 9180 labeled forms included) over OpenSSL's HMAC and HKDF. */
class NodeHkdfSha256 extends HkdfSha256Native {
  /**
   * RFC 5869's HKDF is Expand(Extract(salt, ikm), info, L): @hpke's own extract and expand, each a call or
   * two of OpenSSL's HMAC (cheaper than one hkdfSync, which sets up a KDF context each time). A salt
   * @hpke's extract does not take (neither empty nor hash-length) goes to @hpke's HKDF (hkdfSync here).
   */
  override async extractAndExpand(salt: Bytes, ikm: Bytes, info: Bytes, len: number): Promise<ArrayBuffer> {
    const n = bytes(salt).byteLength;
    if (n !== 0 && n !== this.hashSize) return super.extractAndExpand(salt, ikm, info, len);
    return this.expand(await this.extract(salt, ikm), info, len);
  }
  protected override async _setup(): Promise<void> {
    this._api = hmacSubtle as never; // structurally the part of SubtleCrypto that HkdfNative calls
  }
}

// X25519 keys reach OpenSSL as key objects. A public key is imported as JWK (RFC 8037 "OKP"): Node's DER
// import (OpenSSL 3's decoders) costs about a millisecond a key, JWK tens of microseconds. A private key
// is imported from PKCS#8 DER (RFC 8410) only when @hpke hands over bytes this module has not seen
// (DeriveKeyPair of the test vectors, deserializePrivateKey): keys made here by generateKeyPairSync keep
// their key objects, so sealing and opening never import a private key.
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const BASE_POINT = (() => {
  const p = new Uint8Array(32);
  p[0] = 9;
  return p;
})();

function checkLength(b: Uint8Array, what: string): void {
  if (b.length !== 32) throw new BindingError('SEAL_INVALID_KEY', `X25519 ${what} must be 32 bytes`);
}
const b64u = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
const fromB64u = (s: string) => new Uint8Array(Buffer.from(s, 'base64url'));

interface PrivateEntry {
  /** base64url of the private key bytes the entry was made from (a hit must still hold them). */
  d: string;
  key: KeyObject;
  /** The public key's bytes. */
  publicKey: Uint8Array;
}
/**
 * OpenSSL key objects of the private keys @hpke holds, by the identity of their byte arrays (@hpke's
 * XCryptoKey keeps the 32 bytes; each dh call passes the same array): a key is imported once, not per
 * call. An entry is used only while the array still holds the bytes it was made from.
 */
const privateKeys = new WeakMap<Uint8Array, PrivateEntry>();

function remember(sk: Uint8Array, key: KeyObject, d: string, x: string): PrivateEntry {
  const e = { d, key, publicKey: fromB64u(x) };
  privateKeys.set(sk, e);
  return e;
}
function privateKey(sk: Uint8Array): PrivateEntry {
  checkLength(sk, 'private key');
  const d = b64u(sk);
  const hit = privateKeys.get(sk);
  if (hit && hit.d === d) return hit;
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, sk]), format: 'der', type: 'pkcs8' });
  const jwk = key.export({ format: 'jwk' });
  if (jwk.d !== d || typeof jwk.x !== 'string')
    throw new BindingError('SEAL_INVALID_KEY', 'X25519 private key import failed');
  return remember(sk, key, d, jwk.x);
}
function publicKey(pk: Uint8Array): KeyObject {
  checkLength(pk, 'public key');
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64u(pk) }, format: 'jwk' });
}
/** X25519(k, u) of RFC 7748 §5 by OpenSSL; fresh bytes with an ArrayBuffer of their own (@hpke takes `.buffer`). */
function x25519(k: Uint8Array, u: Uint8Array): Uint8Array {
  return new Uint8Array(diffieHellman({ privateKey: privateKey(k).key, publicKey: publicKey(u) }));
}
/** X25519(k, 9): the public key (a copy). */
function x25519Base(k: Uint8Array): Uint8Array {
  return privateKey(k).publicKey.slice();
}
/** A fresh private key, by OpenSSL's key generation (its key object and public key remembered). */
async function randomSecretKey(seed?: Uint8Array): Promise<Uint8Array> {
  if (seed) return seed;
  const { privateKey: key } = generateKeyPairSync('x25519');
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.d !== 'string' || typeof jwk.x !== 'string')
    throw new BindingError('SEAL_INVALID_KEY', 'X25519 key generation failed');
  const sk = fromB64u(jwk.d);
  remember(sk, key, jwk.d, jwk.x);
  return sk;
}

type Curve = ConstructorParameters<typeof XCurveDhkemPrimitives>[2];
/** OpenSSL's X25519 in the shape @hpke's XCurveDhkemPrimitives takes (that of its own JavaScript curve). */
const opensslX25519: Curve = Object.freeze({
  scalarMult: x25519,
  scalarMultBase: x25519Base,
  getSharedSecret: x25519,
  getPublicKey: x25519Base,
  utils: { randomSecretKey },
  GuBytes: BASE_POINT,
  lengths: { secretKey: 32, publicKey: 32, seed: 32 },
  keygen: (seed?: Uint8Array) => {
    const secretKey = seed ?? new Uint8Array(randomBytes(32));
    return { secretKey, publicKey: x25519Base(secretKey) };
  },
}) as Curve;

/** DHKEM(X25519, HKDF-SHA256): @hpke's Dhkem over OpenSSL's X25519 and HKDF. */
class NodeDhkemX25519HkdfSha256 extends Dhkem {
  override readonly id = KemId.DhkemX25519HkdfSha256;
  override readonly secretSize = 32;
  override readonly encSize = 32;
  override readonly publicKeySize = 32;
  override readonly privateKeySize = 32;
  constructor() {
    const kdf = new NodeHkdfSha256();
    super(KemId.DhkemX25519HkdfSha256, new XCurveDhkemPrimitives('X25519', 32, opensslX25519, kdf), kdf);
  }
}

/** The suite KDF, HKDF-SHA256. */
export function platformHkdfSha256(): KdfInterface {
  return new NodeHkdfSha256();
}

/** DHKEM(X25519, HKDF-SHA256). */
export function platformDhkemX25519(): KemInterface {
  return new NodeDhkemX25519HkdfSha256();
}

/** Which implementation this is (tests, the benchmark's label). */
export const HPKE_PRIMITIVES = 'node:crypto (OpenSSL)';
