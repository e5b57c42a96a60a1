/**
 * Browsers' primitives under @hpke/core's HPKE: @hpke's own defaults, HKDF-SHA256 and X25519 on WebCrypto.
 * The browser build's replacement for hpke-primitives-node.ts, with the same exports.
 */
import { DhkemX25519HkdfSha256, HkdfSha256, type KdfInterface, type KemInterface } from '@hpke/core';

/** The suite KDF, HKDF-SHA256. */
export function platformHkdfSha256(): KdfInterface {
  return new HkdfSha256();
}

/** DHKEM(X25519, HKDF-SHA256). */
export function platformDhkemX25519(): KemInterface {
  return new DhkemX25519HkdfSha256();
}

/** Which implementation this is (tests, the benchmark's label). */
export const HPKE_PRIMITIVES = 'WebCrypto (@hpke defaults)';
