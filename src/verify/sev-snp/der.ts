/** Minimal DER helpers for AMD certificate extension values (INTEGER, IA5String, OCTET STRING ...). */
import { SnpFormatError } from './report.ts';

export interface Tlv {
  tag: number;
  value: Uint8Array;
  /** Total encoded length (header + value). */
  size: number;
}

export function readTlv(b: Uint8Array, at = 0): Tlv {
  if (at + 2 > b.length) throw new SnpFormatError('DER', 'truncated DER');
  const tag = b[at]!;
  let len = b[at + 1]!;
  let hdr = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || at + 2 + n > b.length) throw new SnpFormatError('DER', 'bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[at + 2 + i]!;
    hdr = 2 + n;
  }
  if (at + hdr + len > b.length) throw new SnpFormatError('DER', 'DER value past the end');
  return { tag, value: b.subarray(at + hdr, at + hdr + len), size: hdr + len };
}

/** DER INTEGER (non-negative) → number. */
export function derInteger(b: Uint8Array): number {
  const t = readTlv(b);
  if (t.tag !== 0x02) throw new SnpFormatError('DER', `expected INTEGER, found tag 0x${t.tag.toString(16)}`);
  if (t.value.length === 0 || t.value.length > 7 || (t.value[0]! & 0x80) !== 0)
    throw new SnpFormatError('DER', 'INTEGER out of range');
  let n = 0;
  for (const x of t.value) n = n * 256 + x;
  return n;
}

/** A DER string (IA5String, UTF8String, PrintableString, VisibleString) → text. */
export function derString(b: Uint8Array): string {
  const t = readTlv(b);
  if (![0x16, 0x0c, 0x13, 0x1a].includes(t.tag))
    throw new SnpFormatError('DER', `expected a string, found tag 0x${t.tag.toString(16)}`);
  return Buffer.from(t.value).toString('utf8');
}

function lenBytes(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  while (n > 0) {
    out.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return [0x80 | out.length, ...out];
}

export function encodeTlv(tag: number, value: Uint8Array): Uint8Array {
  return Uint8Array.from([tag, ...lenBytes(value.length), ...value]);
}

export function encodeInteger(n: number): Uint8Array {
  const v: number[] = [];
  let x = n;
  do {
    v.unshift(x & 0xff);
    x = Math.floor(x / 256);
  } while (x > 0);
  if (v[0]! & 0x80) v.unshift(0);
  return encodeTlv(0x02, Uint8Array.from(v));
}

export function encodeIa5(s: string): Uint8Array {
  return encodeTlv(0x16, new TextEncoder().encode(s));
}
