/**
 * Hex and base64 (RFC 4648 §4 standard alphabet with padding) for code that runs in Node and in browsers,
 * without Buffer. These are the raw codecs: they assume well-formed input (callers validate first, as
 * formats/encoding.ts does) and never throw.
 */

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const HEX_VAL = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VAL['0123456789abcdef'.charCodeAt(i)] = i;
  HEX_VAL['0123456789ABCDEF'.charCodeAt(i)] = i;
}

/** Lowercase hex. */
export function bytesToHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!]!;
  return s;
}

/** Hex digits (even length, checked by the caller) → bytes; a non-hex pair decodes as 0. */
export function hexToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length >> 1);
  for (let i = 0; i < out.length; i++) {
    const hi = HEX_VAL[s.charCodeAt(2 * i) & 127]!;
    const lo = HEX_VAL[s.charCodeAt(2 * i + 1) & 127]!;
    out[i] = ((hi & 15) << 4) | (lo & 15);
  }
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VAL = new Uint8Array(128);
for (let i = 0; i < 64; i++) B64_VAL[B64.charCodeAt(i)] = i;
B64_VAL['-'.charCodeAt(0)] = 62;
B64_VAL['_'.charCodeAt(0)] = 63;

/** Standard base64 with padding. */
export function bytesToBase64(b: Uint8Array): string {
  const parts: string[] = [];
  const CHUNK = 3 * 4096;
  for (let start = 0; start < b.length; start += CHUNK) {
    const end = Math.min(b.length, start + CHUNK);
    let s = '';
    let i = start;
    for (; i + 2 < end; i += 3) {
      const n = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
      s += B64[n >> 18]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + B64[n & 63]!;
    }
    if (end - i === 1) {
      const n = b[i]! << 16;
      s += `${B64[n >> 18]!}${B64[(n >> 12) & 63]!}==`;
    } else if (end - i === 2) {
      const n = (b[i]! << 16) | (b[i + 1]! << 8);
      s += `${B64[n >> 18]!}${B64[(n >> 12) & 63]!}${B64[(n >> 6) & 63]!}=`;
    }
    parts.push(s);
  }
  return parts.join('');
}

/** URL-safe base64 without padding. */
export function bytesToBase64Url(b: Uint8Array): string {
  return bytesToBase64(b).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

/**
 * Base64 in either alphabet, padding optional (validated by the caller) → bytes. Trailing bits of the last
 * character are dropped.
 */
export function base64ToBytes(s: string): Uint8Array {
  let n = s.length;
  while (n > 0 && s.charCodeAt(n - 1) === 61 /* = */) n--;
  const out = new Uint8Array(Math.floor((n * 3) / 4));
  let o = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const v =
      (B64_VAL[s.charCodeAt(i) & 127]! << 18) |
      (B64_VAL[s.charCodeAt(i + 1) & 127]! << 12) |
      (B64_VAL[s.charCodeAt(i + 2) & 127]! << 6) |
      B64_VAL[s.charCodeAt(i + 3) & 127]!;
    out[o++] = v >> 16;
    out[o++] = (v >> 8) & 255;
    out[o++] = v & 255;
  }
  const rest = n - i;
  if (rest >= 2) {
    const v =
      (B64_VAL[s.charCodeAt(i) & 127]! << 18) |
      (B64_VAL[s.charCodeAt(i + 1) & 127]! << 12) |
      (rest === 3 ? B64_VAL[s.charCodeAt(i + 2) & 127]! << 6 : 0);
    out[o++] = v >> 16;
    if (rest === 3) out[o++] = (v >> 8) & 255;
  }
  return out;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** UTF-8 bytes of text. */
export function utf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** Text of UTF-8 bytes (malformed sequences become U+FFFD). */
export function fromUtf8(b: Uint8Array): string {
  return utf8Decoder.decode(b);
}

/** Concatenation of byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Byte-wise equality (not constant-time: for public values only). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
