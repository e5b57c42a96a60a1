/**
 * Browser digests (@noble/hashes: audited, synchronous, no dependencies). Replaces digest-node.ts in the
 * browser bundle; both export the same function. Only ../digest.ts imports it (through that substitution).
 */
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import type { DigestAlgorithm, Hasher } from '../digest.ts';

const FNS = { sha1, sha256, sha384, sha512 } as const;

export function platformHasher(alg: DigestAlgorithm): Hasher {
  const h = FNS[alg].create();
  const hasher: Hasher = {
    update(data) {
      h.update(typeof data === 'string' ? utf8ToBytes(data) : data);
      return hasher;
    },
    digest() {
      return h.digest();
    },
    digestHex() {
      return bytesToHex(h.digest());
    },
  };
  return hasher;
}
