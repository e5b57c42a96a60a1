/**
 * Node's digests (OpenSSL through node:crypto). The browser build replaces this file with digest-web.ts;
 * both export the same function. Only ../digest.ts imports it.
 */
import { createHash } from 'node:crypto';
import type { DigestAlgorithm, Hasher } from '../digest.ts';

export function platformHasher(alg: DigestAlgorithm): Hasher {
  const h = createHash(alg);
  const hasher: Hasher = {
    update(data) {
      h.update(data);
      return hasher;
    },
    digest() {
      const b = h.digest();
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    },
    digestHex() {
      return h.digest('hex');
    },
  };
  return hasher;
}
