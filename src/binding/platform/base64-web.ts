/**
 * Browsers' base64 (util/text-codec's codec). The browser build's replacement for base64-node.ts, with
 * the same exports.
 */
import { base64ToBytes, bytesToBase64 } from '../../util/text-codec.ts';

/**
 * Base64 → bytes, lenient (unknown characters decode to something that re-encodes differently): callers
 * accept the result only when it re-encodes to the input, or after validating.
 */
export function platformBase64Decode(s: string): Uint8Array {
  return base64ToBytes(s);
}

/** Standard base64 with padding. */
export function platformBase64Encode(b: Uint8Array): string {
  return bytesToBase64(b);
}
