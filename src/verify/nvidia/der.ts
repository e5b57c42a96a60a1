/** A minimal DER reader: enough to walk certificate extensions (TCG DICE TcbInfo / FWID). */

export interface DerNode {
  tag: number;
  /** Offset of the value within the input. */
  start: number;
  end: number;
  value: Uint8Array;
  children?: DerNode[];
}

export class DerError extends Error {}

export function readDer(
  bytes: Uint8Array,
  offset = 0,
  limit = bytes.length,
): { node: DerNode; next: number } {
  if (offset + 2 > limit) throw new DerError(`DER: truncated header at ${offset}`);
  const tag = bytes[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('DER: multi-byte tags are not supported');
  let len = bytes[offset + 1]!;
  let p = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > limit) throw new DerError(`DER: bad length at ${offset}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + bytes[p + i]!;
    p += n;
  }
  if (p + len > limit) throw new DerError(`DER: value overruns its container at ${offset}`);
  const node: DerNode = { tag, start: p, end: p + len, value: bytes.subarray(p, p + len) };
  if (tag & 0x20) {
    node.children = [];
    let q = p;
    while (q < p + len) {
      const r = readDer(bytes, q, p + len);
      node.children.push(r.node);
      q = r.next;
    }
  }
  return { node, next: p + len };
}

export function decodeOid(v: Uint8Array): string {
  if (v.length === 0) return '';
  const parts: number[] = [Math.floor(v[0]! / 40), v[0]! % 40];
  let acc = 0;
  for (let i = 1; i < v.length; i++) {
    acc = acc * 128 + (v[i]! & 0x7f);
    if (!(v[i]! & 0x80)) {
      parts.push(acc);
      acc = 0;
    }
  }
  return parts.join('.');
}

/** Depth-first walk over every node. */
export function* walkDer(node: DerNode): Generator<DerNode> {
  yield node;
  for (const c of node.children ?? []) yield* walkDer(c);
}
