/**
 * A minimal, strict DER reader: enough for X.509 certificates, CRLs and Intel's SGX extensions.
 * Only definite lengths; every read is bounds-checked and throws TdxError('TDX_DER') on bad input.
 */
import { TdxError } from './errors.ts';

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

export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8: 0x0c,
  SEQUENCE: 0x30,
  SET: 0x31,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
} as const;

export function readNode(src: Uint8Array, pos = 0, limit = src.length): DerNode {
  if (pos + 2 > limit) throw new TdxError('TDX_DER', `DER: truncated header at ${pos}`);
  const tag = src[pos]!;
  if ((tag & 0x1f) === 0x1f) throw new TdxError('TDX_DER', `DER: high tag number form at ${pos}`);
  let len = src[pos + 1]!;
  let p = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new TdxError('TDX_DER', `DER: unsupported length form at ${pos}`);
    if (p + n > limit) throw new TdxError('TDX_DER', `DER: truncated length at ${pos}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + src[p + i]!;
    p += n;
  }
  if (p + len > limit) throw new TdxError('TDX_DER', `DER: element at ${pos} overruns its container`);
  return { tag, start: pos, contentStart: p, end: p + len, src };
}

export function children(node: DerNode): DerNode[] {
  if ((node.tag & 0x20) === 0)
    throw new TdxError('TDX_DER', `DER: tag 0x${node.tag.toString(16)} is not constructed`);
  const out: DerNode[] = [];
  let p = node.contentStart;
  while (p < node.end) {
    const c = readNode(node.src, p, node.end);
    out.push(c);
    p = c.end;
  }
  return out;
}

export function content(node: DerNode): Uint8Array {
  return node.src.subarray(node.contentStart, node.end);
}

export function whole(node: DerNode): Uint8Array {
  return node.src.subarray(node.start, node.end);
}

export function expect(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node) throw new TdxError('TDX_DER', `DER: missing ${what}`);
  if (node.tag !== tag)
    throw new TdxError(
      'TDX_DER',
      `DER: ${what} has tag 0x${node.tag.toString(16)}, expected 0x${tag.toString(16)}`,
    );
  return node;
}

export function oidToString(node: DerNode): string {
  const b = content(expect(node, TAG.OID, 'OID'));
  if (b.length === 0) throw new TdxError('TDX_DER', 'DER: empty OID');
  const parts: number[] = [];
  const first = b[0]!;
  parts.push(first < 80 ? Math.floor(first / 40) : 2, first < 80 ? first % 40 : first - 80);
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

/** Non-negative INTEGER / ENUMERATED as a number (throws if larger than 2^48). */
export function intValue(node: DerNode): number {
  if (node.tag !== TAG.INTEGER && node.tag !== TAG.ENUMERATED)
    throw new TdxError('TDX_DER', `DER: expected INTEGER, got tag 0x${node.tag.toString(16)}`);
  const b = content(node);
  if (b.length === 0 || b.length > 7) throw new TdxError('TDX_DER', 'DER: INTEGER length out of range');
  if (b[0]! & 0x80) throw new TdxError('TDX_DER', 'DER: negative INTEGER');
  let v = 0;
  for (const x of b) v = v * 256 + x;
  return v;
}

/** INTEGER as lower-case hex without leading zero bytes (how serial numbers are compared). */
export function intHex(node: DerNode): string {
  let b = content(expect(node, TAG.INTEGER, 'INTEGER'));
  while (b.length > 1 && b[0] === 0) b = b.subarray(1);
  return Buffer.from(b).toString('hex');
}

export function timeValue(node: DerNode): Date {
  const s = Buffer.from(content(node)).toString('latin1');
  const utc = node.tag === TAG.UTC_TIME ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : null;
  if (utc) {
    const yy = Number(utc[1]);
    const year = yy < 50 ? 2000 + yy : 1900 + yy;
    return new Date(Date.UTC(year, Number(utc[2]) - 1, +utc[3]!, +utc[4]!, +utc[5]!, +utc[6]!));
  }
  const gen =
    node.tag === TAG.GENERALIZED_TIME ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : null;
  if (gen) return new Date(Date.UTC(+gen[1]!, Number(gen[2]) - 1, +gen[3]!, +gen[4]!, +gen[5]!, +gen[6]!));
  throw new TdxError('TDX_DER', `DER: bad time '${s}'`);
}
