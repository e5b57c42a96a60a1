/**
 * Node's base64 (Buffer's native codec: about 20× faster than JavaScript on the kilobytes of evidence an
 * envelope carries, decoded on every verification). The browser build replaces this file with
 * base64-web.ts (scripts/esbuild-platform.mjs, the package's `browser` field); both export the same
 * functions. Only ../envelope.ts and ../request.ts import it; they validate around these raw codecs.
 */

/**
 * Base64 → bytes, lenient (unknown characters are skipped or decode to something that re-encodes
 * differently): callers accept the result only when it re-encodes to the input, or after validating.
 */
export function platformBase64Decode(s: string): Uint8Array {
  const b = Buffer.from(s, 'base64');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Standard base64 with padding. */
export function platformBase64Encode(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}
