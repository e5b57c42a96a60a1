/**
 * A small S-expression reader for the script level of `.wast` files: lists, atoms and strings,
 * line comments `;;` and nested block comments `(; ;)`. Lists keep their source offsets so a
 * text module can be handed to wabt verbatim.
 */

export type SExpr = SList | SAtom | SString;
export interface SList {
  kind: 'list';
  items: SExpr[];
  start: number;
  end: number;
}
export interface SAtom {
  kind: 'atom';
  text: string;
}
export interface SString {
  kind: 'string';
  bytes: Uint8Array;
}

export class WastSyntaxError extends Error {
  constructor(message: string, offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'WastSyntaxError';
  }
}

const enc = new TextEncoder();

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function readString(src: string, pos: number): { bytes: Uint8Array; end: number } {
  // src[pos] === '"'
  const out: number[] = [];
  let i = pos + 1;
  while (i < src.length) {
    const ch = src[i]!;
    if (ch === '"') return { bytes: Uint8Array.from(out), end: i + 1 };
    if (ch === '\\') {
      const n = src[i + 1]!;
      const simple: Record<string, number> = { n: 10, t: 9, r: 13, '\\': 92, "'": 39, '"': 34 };
      if (n in simple) {
        out.push(simple[n]!);
        i += 2;
      } else if (n === 'u') {
        const close = src.indexOf('}', i);
        const cp = Number.parseInt(src.slice(i + 3, close).replaceAll('_', ''), 16);
        for (const b of enc.encode(String.fromCodePoint(cp))) out.push(b);
        i = close + 1;
      } else {
        const hex = src.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new WastSyntaxError(`bad string escape \\${hex}`, i);
        out.push(Number.parseInt(hex, 16));
        i += 3;
      }
      continue;
    }
    const cp = src.codePointAt(i)!;
    if (cp < 0x80) {
      out.push(cp);
      i++;
    } else {
      const s = String.fromCodePoint(cp);
      for (const b of enc.encode(s)) out.push(b);
      i += s.length;
    }
  }
  throw new WastSyntaxError('unterminated string', pos);
}

/** Parses a whole script into its top-level S-expressions. */
export function parseSExprs(src: string): SExpr[] {
  const stack: SList[] = [];
  const top: SExpr[] = [];
  let i = 0;
  const push = (e: SExpr) => {
    const parent = stack[stack.length - 1];
    if (parent) parent.items.push(e);
    else top.push(e);
  };
  while (i < src.length) {
    const c = src.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (src.startsWith(';;', i)) {
      const nl = src.indexOf('\n', i);
      i = nl < 0 ? src.length : nl + 1;
      continue;
    }
    if (src.startsWith('(;', i)) {
      let depth = 1;
      i += 2;
      while (depth > 0) {
        if (i >= src.length) throw new WastSyntaxError('unterminated block comment', i);
        if (src.startsWith('(;', i)) {
          depth++;
          i += 2;
        } else if (src.startsWith(';)', i)) {
          depth--;
          i += 2;
        } else i++;
      }
      continue;
    }
    if (c === 0x28) {
      stack.push({ kind: 'list', items: [], start: i, end: -1 });
      i++;
      continue;
    }
    if (c === 0x29) {
      const l = stack.pop();
      if (!l) throw new WastSyntaxError('unbalanced )', i);
      l.end = i + 1;
      push(l);
      i++;
      continue;
    }
    if (c === 0x22) {
      const { bytes, end } = readString(src, i);
      push({ kind: 'string', bytes });
      i = end;
      continue;
    }
    let j = i;
    while (j < src.length) {
      const d = src.charCodeAt(j);
      if (isSpace(d) || d === 0x28 || d === 0x29 || d === 0x22 || src.startsWith(';;', j)) break;
      j++;
    }
    push({ kind: 'atom', text: src.slice(i, j) });
    i = j;
  }
  if (stack.length) throw new WastSyntaxError('unbalanced (', stack[stack.length - 1]!.start);
  return top;
}

export function head(e: SExpr | undefined): string | undefined {
  if (e?.kind !== 'list') return undefined;
  const h = e.items[0];
  return h?.kind === 'atom' ? h.text : undefined;
}
