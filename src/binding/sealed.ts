/**
 * Sealed execution's wire format (docs/sealed-execution.md): the HPKE (RFC 9180, base mode) suites, the
 * versioned info strings, the size buckets and the sealed request digest a claim binds (claim field 21).
 * Every HPKE operation is @hpke/core's (with @hpke/chacha20poly1305 and @hpke/hybridkem-x-wing); nothing
 * here is hand-written cryptography; ChaCha20-Poly1305 is OpenSSL's in Node and @hpke/chacha20poly1305's in
 * browsers (platform/chacha20poly1305-node.ts); so are HMAC/HKDF-SHA256 and X25519 under @hpke's key
 * schedule and DHKEM (OpenSSL in Node, @hpke's WebCrypto defaults in browsers: platform/hpke-primitives-node.ts). Server (opens requests, seals responses) and client (seals
 * requests, opens responses, in Node or in a page) both import it.
 */
import { Aes256Gcm, CipherSuite } from '@hpke/core';
import { XWing } from '@hpke/hybridkem-x-wing';
import { createHasher } from '../util/digest.ts';
import { concat } from './encode.ts';
import { BindingError } from './errors.ts';
import { lendCiphertext, platformChacha20Poly1305 } from './platform/chacha20poly1305-node.ts';
import { platformDhkemX25519, platformHkdfSha256 } from './platform/hpke-primitives-node.ts';

/** One sealing suite: a name (what sessions and requests carry) and its RFC 9180 identifiers. */
export interface SealSuiteInfo {
  name: string;
  kemId: number;
  kdfId: number;
  aeadId: number;
  /** Serialized public key length (Npk) and encapsulated key length (Nenc), bytes. */
  publicKeyBytes: number;
  encBytes: number;
}

/** The default suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305. */
export const DEFAULT_SEAL_SUITE = 'x25519-sha256-chacha20poly1305';

/** Every suite a server can be configured with (`serve --seal-suite`). */
export const SEAL_SUITES: readonly SealSuiteInfo[] = [
  {
    name: DEFAULT_SEAL_SUITE,
    kemId: 0x0020,
    kdfId: 0x0001,
    aeadId: 0x0003,
    publicKeyBytes: 32,
    encBytes: 32,
  },
  {
    name: 'x25519-sha256-aes256gcm',
    kemId: 0x0020,
    kdfId: 0x0001,
    aeadId: 0x0002,
    publicKeyBytes: 32,
    encBytes: 32,
  },
  // X-Wing (draft-connolly-cfrg-xwing-kem): ML-KEM-768 + X25519 hybrid, post-quantum.
  {
    name: 'xwing-sha256-chacha20poly1305',
    kemId: 0x647a,
    kdfId: 0x0001,
    aeadId: 0x0003,
    publicKeyBytes: 1216,
    encBytes: 1120,
  },
];

/** HPKE info of a sealed request: "wasmvm-tee/sealed-request/v1" ‖ 0x00 ‖ suite ‖ 0x00 ‖ key id. */
export const SEALED_REQUEST_INFO = 'wasmvm-tee/sealed-request/v1';
/** HPKE info of a sealed response: "wasmvm-tee/sealed-response/v1" ‖ 0x00 ‖ sealed request digest (32 bytes). */
export const SEALED_RESPONSE_INFO = 'wasmvm-tee/sealed-response/v1';
/** sealedRequestDigest's domain (see there). */
export const SEALED_REQUEST_DIGEST_DOMAIN = 'wasmvm-tee/sealed-request-digest/v1';

export function sealSuiteInfo(name: string): SealSuiteInfo {
  const s = SEAL_SUITES.find((x) => x.name === name);
  if (!s)
    throw new BindingError(
      'SEAL_UNKNOWN_SUITE',
      `unknown sealing suite '${name}' (known: ${SEAL_SUITES.map((x) => x.name).join(', ')})`,
      'suite',
    );
  return s;
}

const suites = new Map<string, CipherSuite>();

/** The @hpke CipherSuite of a suite name. */
export function hpkeSuite(name: string): CipherSuite {
  let s = suites.get(name);
  if (!s) {
    const info = sealSuiteInfo(name);
    s = new CipherSuite({
      kem: info.kemId === 0x647a ? new XWing() : platformDhkemX25519(),
      kdf: platformHkdfSha256(),
      aead: info.aeadId === 0x0002 ? new Aes256Gcm() : platformChacha20Poly1305(),
    });
    suites.set(name, s);
  }
  return s;
}

type HpkeKeyPair = Awaited<ReturnType<CipherSuite['kem']['generateKeyPair']>>;
type HpkePublicKey = HpkeKeyPair['publicKey'];

/** An HPKE key pair of one suite with its serialized public key. */
export interface SealKeyPair {
  suite: string;
  publicKey: Uint8Array;
  keyPair: HpkeKeyPair;
}

/**
 * A fresh key pair (random), or DeriveKeyPair(ikm) of RFC 9180 §7.1.3 (test vectors: deterministic).
 */
export async function generateSealKeyPair(suite: string, ikm?: Uint8Array): Promise<SealKeyPair> {
  const s = hpkeSuite(suite);
  const keyPair = ikm ? await s.kem.deriveKeyPair(ikm) : await s.kem.generateKeyPair();
  const publicKey = new Uint8Array(await s.kem.serializePublicKey(keyPair.publicKey));
  return { suite, publicKey, keyPair };
}

/** The serialized private key (test vectors only). */
export async function serializeSealPrivateKey(k: SealKeyPair): Promise<Uint8Array> {
  return new Uint8Array(await hpkeSuite(k.suite).kem.serializePrivateKey(k.keyPair.privateKey));
}

const text = (s: string) => new TextEncoder().encode(s);

/** HPKE info of a sealed request to key `keyId` of suite `suite`. */
export function sealedRequestInfo(suite: string, keyId: string): Uint8Array {
  return concat([text(SEALED_REQUEST_INFO), Uint8Array.of(0), text(suite), Uint8Array.of(0), text(keyId)]);
}

/** HPKE info of the response to the sealed request whose digest is `requestDigest` (32 bytes). */
export function sealedResponseInfo(requestDigest: Uint8Array): Uint8Array {
  if (requestDigest.length !== 32)
    throw new BindingError('INVALID_LENGTH', 'sealed request digest must be 32 bytes');
  return concat([text(SEALED_RESPONSE_INFO), Uint8Array.of(0), requestDigest]);
}

const u32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, false);
  return b;
};

/** The public parts of a sealed request (what travels in clear). */
export interface SealedRequestParts {
  keyId: string;
  suite: string;
  enc: Uint8Array;
  ciphertext: Uint8Array;
}

/**
 * The sealed request's digest (claim field 21, `sealedRequestSha256`):
 *   SHA-256("wasmvm-tee/sealed-request-digest/v1" ‖ 0x00 ‖ u32be len(keyId) ‖ keyId ‖ u32be len(suite)
 *           ‖ suite ‖ u32be len(enc) ‖ enc ‖ u32be len(ciphertext) ‖ ciphertext)
 * It ties a result to the exact ciphertext the client sent.
 */
export function sealedRequestDigest(r: SealedRequestParts): Uint8Array {
  const kid = text(r.keyId);
  const suite = text(r.suite);
  return createHasher('sha256')
    .update(SEALED_REQUEST_DIGEST_DOMAIN)
    .update(Uint8Array.of(0))
    .update(u32(kid.length))
    .update(kid)
    .update(u32(suite.length))
    .update(suite)
    .update(u32(r.enc.length))
    .update(r.enc)
    .update(u32(r.ciphertext.length))
    .update(r.ciphertext)
    .digest();
}

/**
 * Size bucket of a framed plaintext of n bytes: at least 1024; above it, n rounded up to a multiple of
 * 1/8 of the power of two below it (≤ 12.5 % overhead). The host sees only the bucket (plus the AEAD's
 * fixed 16-byte tag).
 */
export function sizeBucket(n: number): number {
  if (n <= 1024) return 1024;
  const p = 2 ** Math.floor(Math.log2(n - 1));
  const step = p / 8;
  return Math.ceil(n / step) * step;
}

/** Frame a payload for sealing: u32be len(payload) ‖ payload ‖ zero bytes up to sizeBucket(4 + len). */
export function framePayload(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(sizeBucket(4 + payload.length));
  new DataView(out.buffer).setUint32(0, payload.length, false);
  out.set(payload, 4);
  return out;
}

/** The payload of a frame (a view into it); the padding must be zeros. */
export function unframePayload(frame: Uint8Array): Uint8Array {
  if (frame.length < 4) throw new BindingError('SEAL_INVALID_FRAME', 'sealed frame shorter than 4 bytes');
  const n = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0, false);
  if (4 + n > frame.length)
    throw new BindingError('SEAL_INVALID_FRAME', 'sealed frame length exceeds the plaintext');
  if (!allZero(frame, 4 + n, frame.length))
    throw new BindingError('SEAL_INVALID_FRAME', 'sealed frame padding is not zero');
  return frame.subarray(4, 4 + n);
}

/** Whether b[from..to) are all zero (whole 32-bit words where aligned: up to 1/8 of a large frame). */
function allZero(b: Uint8Array, from: number, to: number): boolean {
  let acc = 0;
  let i = from;
  while (i < to && (b.byteOffset + i) % 4 !== 0) acc |= b[i++]!;
  const words = Math.floor((to - i) / 4);
  if (words > 0) {
    const w = new Uint32Array(b.buffer, b.byteOffset + i, words);
    for (let j = 0; j < words; j++) acc |= w[j]!;
    i += words * 4;
  }
  while (i < to) acc |= b[i++]!;
  return acc === 0;
}

/**
 * The bytes for @hpke: their ArrayBuffer when they span it (@hpke copies any view into an ArrayBuffer of
 * its own before the AEAD sees it; a frame is its own buffer, so that copy is skipped), else the view.
 */
const whole = (b: Uint8Array): ArrayBuffer | Uint8Array =>
  b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer
    ? b.buffer
    : b;

/**
 * HPKE base-mode single-shot seal (RFC 9180 §6.1) to a serialized public key; `ekm` fixes the ephemeral
 * key (test vectors only). AAD is empty: every context is in `info`.
 */
export async function hpkeSeal(
  suite: string,
  recipientPublicKey: Uint8Array,
  info: Uint8Array,
  plaintext: Uint8Array,
  ekm?: Uint8Array,
): Promise<{ enc: Uint8Array; ciphertext: Uint8Array }> {
  const s = hpkeSuite(suite);
  let pk: HpkePublicKey;
  try {
    pk = await s.kem.deserializePublicKey(recipientPublicKey);
  } catch {
    throw new BindingError('SEAL_INVALID_KEY', `not a ${suite} public key`, 'publicKey');
  }
  const r = await s.seal({ recipientPublicKey: pk, info, ...(ekm ? { ekm } : {}) }, whole(plaintext));
  return { enc: new Uint8Array(r.enc), ciphertext: new Uint8Array(r.ct) };
}

/** HPKE base-mode single-shot open; any failure (wrong key, wrong info, edited bytes) is SEAL_OPEN_FAILED. */
export async function hpkeOpen(
  key: SealKeyPair,
  enc: Uint8Array,
  info: Uint8Array,
  ciphertext: Uint8Array,
): Promise<Uint8Array> {
  const s = hpkeSuite(key.suite);
  try {
    return new Uint8Array(
      await s.open(
        { recipientKey: key.keyPair, enc, info },
        lendCiphertext(s.aead, ciphertext) ?? whole(ciphertext),
      ),
    );
  } catch {
    throw new BindingError(
      'SEAL_OPEN_FAILED',
      'the ciphertext does not open: edited, sealed to another key, or for another request',
    );
  }
}
