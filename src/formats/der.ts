/**
 * The one strict DER reader (X.509 certificates, CRLs, OCSP responses, Intel SGX, AMD and
 * TCG DICE extensions), plus the few encoders the simulated TEE needs. Only low-tag-number form and
 * definite lengths of at most 4 bytes; every read is bounds-checked against its container and throws
 * `DerError` (code 'DER') on bad input. Subrooms map it to their own error codes where they need to.
 */

import { fromUtf8 } from '../util/text-codec.ts';
import { toHex } from './encoding.ts';
import { FormatError } from './errors.ts';

/** Malformed DER (code 'DER'). */
export class DerError extends FormatError<'DER'> {
  constructor(message: string) {
    super('DER', message);
  }
}

export interface DerNode {
  /** Full tag byte (class + constructed + number; only low-tag-number form). */
  tag: number;
  /** Offset of the tag byte in the source. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset one past the last content byte. */
  end: number;
  /** The source buffer. */
  src: Uint8Array;
}

/** A node read eagerly with its whole subtree (`readTree`). */
export interface DerTree extends DerNode {
  /** The content bytes. */
  value: Uint8Array;
  /** Children of a constructed node. */
  children?: DerTree[];
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8: 0x0c,
  PRINTABLE: 0x13,
  IA5: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  VISIBLE: 0x1a,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

const hex = (tag: number): string => `0x${tag.toString(16)}`;

/** Read one element at `pos`; it must end within `limit`. */
export function readNode(src: Uint8Array, pos = 0, limit = src.length): DerNode {
  if (pos + 2 > limit) throw new DerError(`DER: truncated header at ${pos}`);
  const tag = src[pos]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`DER: high tag number form at ${pos}`);
  let len = src[pos + 1]!;
  let p = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new DerError(`DER: unsupported length form at ${pos}`);
    if (p + n > limit) throw new DerError(`DER: truncated length at ${pos}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + src[p + i]!;
    p += n;
  }
  if (p + len > limit) throw new DerError(`DER: element at ${pos} overruns its container`);
  return { tag, start: pos, contentStart: p, end: p + len, src };
}

/** The elements inside a constructed node (they must exactly fill it). */
export function children(node: DerNode): DerNode[] {
  if ((node.tag & 0x20) === 0) throw new DerError(`DER: tag ${hex(node.tag)} is not constructed`);
  const out: DerNode[] = [];
  let p = node.contentStart;
  while (p < node.end) {
    const c = readNode(node.src, p, node.end);
    out.push(c);
    p = c.end;
  }
  return out;
}

/** Read the element at `pos` with its whole subtree (every constructed node is walked). */
export function readTree(src: Uint8Array, pos = 0, limit = src.length): DerTree {
  const n = readNode(src, pos, limit);
  const t: DerTree = { ...n, value: content(n) };
  if (n.tag & 0x20) t.children = children(n).map((c) => readTree(src, c.start, n.end));
  return t;
}

/** Depth-first walk over every node of a tree. */
export function* walkTree(node: DerTree): Generator<DerTree> {
  yield node;
  for (const c of node.children ?? []) yield* walkTree(c);
}

export function content(node: DerNode): Uint8Array {
  return node.src.subarray(node.contentStart, node.end);
}

/** The element's encoding, header included. */
export function whole(node: DerNode): Uint8Array {
  return node.src.subarray(node.start, node.end);
}

export function expect(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node) throw new DerError(`DER: missing ${what}`);
  if (node.tag !== tag) throw new DerError(`DER: ${what} has tag ${hex(node.tag)}, expected ${hex(tag)}`);
  return node;
}

/** OBJECT IDENTIFIER content bytes → dotted string ('' for empty content, which matches no OID). */
export function decodeOid(b: Uint8Array): string {
  if (b.length === 0) return '';
  const first = b[0]!;
  const parts: number[] = [first < 80 ? Math.floor(first / 40) : 2, first < 80 ? first % 40 : first - 80];
  let v = 0;
  for (let i = 1; i < b.length; i++) {
    v = v * 128 + (b[i]! & 0x7f);
    if ((b[i]! & 0x80) === 0) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** An OID node → dotted string; throws on another tag or empty content. */
export function oidToString(node: DerNode): string {
  const b = content(expect(node, TAG.OID, 'OID'));
  if (b.length === 0) throw new DerError('DER: empty OID');
  return decodeOid(b);
}

/** Non-negative INTEGER / ENUMERATED as a number (throws if longer than 7 bytes). */
export function intValue(node: DerNode): number {
  if (node.tag !== TAG.INTEGER && node.tag !== TAG.ENUMERATED)
    throw new DerError(`DER: expected INTEGER, got tag ${hex(node.tag)}`);
  const b = content(node);
  if (b.length === 0 || b.length > 7) throw new DerError('DER: INTEGER length out of range');
  if (b[0]! & 0x80) throw new DerError('DER: negative INTEGER');
  let v = 0;
  for (const x of b) v = v * 256 + x;
  return v;
}

/** INTEGER as lower-case hex without leading zero bytes (how serial numbers are compared). */
export function intHex(node: DerNode): string {
  let b = content(expect(node, TAG.INTEGER, 'INTEGER'));
  while (b.length > 1 && b[0] === 0) b = b.subarray(1);
  return toHex(b);
}

/** UTCTime or GeneralizedTime (seconds, 'Z') → Date. */
export function timeValue(node: DerNode): Date {
  let s = '';
  for (const c of content(node)) s += String.fromCharCode(c); // latin1
  const utc = node.tag === TAG.UTC_TIME ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : null;
  if (utc) {
    const yy = Number(utc[1]);
    const year = yy < 50 ? 2000 + yy : 1900 + yy;
    return new Date(Date.UTC(year, Number(utc[2]) - 1, +utc[3]!, +utc[4]!, +utc[5]!, +utc[6]!));
  }
  const gen =
    node.tag === TAG.GENERALIZED_TIME ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : null;
  if (gen) return new Date(Date.UTC(+gen[1]!, Number(gen[2]) - 1, +gen[3]!, +gen[4]!, +gen[5]!, +gen[6]!));
  throw new DerError(`DER: bad time '${s}'`);
}

/** A whole value that starts with an INTEGER (non-negative, at most 7 bytes, tag 0x02 only) → number. */
export function derInteger(b: Uint8Array): number {
  return intValue(expect(readNode(b), TAG.INTEGER, 'INTEGER'));
}

/** A value that starts with a string (IA5String, UTF8String, PrintableString, VisibleString) → text. */
export function derString(b: Uint8Array): string {
  const n = readNode(b);
  if (n.tag !== TAG.IA5 && n.tag !== TAG.UTF8 && n.tag !== TAG.PRINTABLE && n.tag !== TAG.VISIBLE)
    throw new DerError(`DER: expected a string, found tag ${hex(n.tag)}`);
  return fromUtf8(content(n));
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
  return encodeTlv(TAG.INTEGER, Uint8Array.from(v));
}

export function encodeIa5(s: string): Uint8Array {
  return encodeTlv(TAG.IA5, new TextEncoder().encode(s));
}
