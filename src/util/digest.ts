/**
 * Digests for code that runs in Node and in browsers: SHA-1 (legacy vendor formats only), SHA-256, SHA-384
 * and SHA-512, synchronous, over bytes or UTF-8 text. WebCrypto's digest is asynchronous, and the claim
 * encoder, the request digest and every vendor layout hash on synchronous paths, so the browser build uses
 * @noble/hashes (audited, no dependencies) and Node uses OpenSSL through node:crypto. The implementation is
 * chosen at build time, never at run time: `platform/digest-node.ts` is what Node loads; the browser bundle
 * and the package's `browser` field map it to `platform/digest-web.ts` (see docs/browser.md).
 */
import { platformHasher } from './platform/digest-node.ts';

export type DigestAlgorithm = 'sha1' | 'sha256' | 'sha384' | 'sha512';

/** An incremental digest: update any number of times, then digest once. */
export interface Hasher {
  update(data: Uint8Array | string): Hasher;
  /** The digest; the hasher cannot be used afterwards. */
  digest(): Uint8Array;
  /** The digest as lowercase hex. */
  digestHex(): string;
}

/** Output size in bytes of each algorithm. */
export const DIGEST_SIZE: Readonly<Record<DigestAlgorithm, number>> = {
  sha1: 20,
  sha256: 32,
  sha384: 48,
  sha512: 64,
};

/** A new incremental hasher. */
export function createHasher(alg: DigestAlgorithm): Hasher {
  return platformHasher(alg);
}

/** The digest of the concatenation of `parts` (text is hashed as UTF-8). */
export function digest(alg: DigestAlgorithm, ...parts: (Uint8Array | string)[]): Uint8Array {
  const h = platformHasher(alg);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Lowercase hex of the digest of the concatenation of `parts`. */
export function digestHex(alg: DigestAlgorithm, ...parts: (Uint8Array | string)[]): string {
  const h = platformHasher(alg);
  for (const p of parts) h.update(p);
  return h.digestHex();
}

export const sha256 = (...parts: (Uint8Array | string)[]): Uint8Array => digest('sha256', ...parts);
export const sha384 = (...parts: (Uint8Array | string)[]): Uint8Array => digest('sha384', ...parts);
export const sha512 = (...parts: (Uint8Array | string)[]): Uint8Array => digest('sha512', ...parts);
