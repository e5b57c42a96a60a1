/**
 * Base64 decoded as Buffer.from(text, 'base64') does, for the places that always accepted it that way (PEM
 * bodies, x5c entries, NVML/nvattest evidence fields): both alphabets, characters outside them (line
 * breaks, spaces) skipped, decoding stops at the first '=', a lone trailing character is dropped. Strict
 * decoding is fromBase64 (formats/encoding.ts); this one never throws.
 */
import { base64ToBytes } from '../../util/text-codec.ts';

export function decodeBase64Loose(text: string): Uint8Array {
  const pad = text.indexOf('=');
  return base64ToBytes((pad >= 0 ? text.slice(0, pad) : text).replace(/[^A-Za-z0-9+/_-]+/g, ''));
}
