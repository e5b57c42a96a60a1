/**
 * Bytes read and written once: a bounds-checked little-endian cursor (ByteReader), an appending
 * writer (ByteWriter), and positional little-endian reads. Every vendor layout (TDX quote, SPDM,
 * NVML structures) uses these instead of its own copy. A layout passes a `fail` function so a short
 * or mis-sized input throws that layout's own error (code and message); the default is FormatError.
 */
import { concatBytes } from '../util/text-codec.ts';
import { FormatError } from './errors.ts';

/** What a reader ran out of: the field, where, how many bytes it needed and how many were left. */
export interface Shortfall {
  /** The reader's name for its input (e.g. 'TDX quote'). */
  what: string;
  field: string;
  offset: number;
  need: number;
  have: number;
}

/** The default truncation error: FormatError('TRUNCATED'). */
export function truncated(s: Shortfall): Error {
  return new FormatError(
    'TRUNCATED',
    `${s.what}: truncated at ${s.field} (offset ${s.offset}, need ${s.need} bytes, have ${s.have})`,
  );
}

/** Little-endian u16 at `p` (caller checked the bounds). */
export function u16le(b: Uint8Array, p: number): number {
  return b[p]! | (b[p + 1]! << 8);
}

/** Little-endian u24 at `p` (caller checked the bounds). */
export function u24le(b: Uint8Array, p: number): number {
  return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16);
}

/** Little-endian u32 at `p` (caller checked the bounds). */
export function u32le(b: Uint8Array, p: number): number {
  return new DataView(b.buffer, b.byteOffset + p, 4).getUint32(0, true);
}

/** A cursor over bytes: every read is checked against the end and throws `fail(shortfall)`. */
export class ByteReader {
  pos = 0;
  constructor(
    readonly b: Uint8Array,
    readonly what: string,
    private readonly fail: (s: Shortfall) => Error = truncated,
  ) {}
  need(n: number, field: string): void {
    if (this.pos + n > this.b.length)
      throw this.fail({ what: this.what, field, offset: this.pos, need: n, have: this.b.length - this.pos });
  }
  /** A copy of the next n bytes. */
  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    const v = this.b.slice(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /** Like bytes(), but a view into the input (for the variable-size parts: nothing is copied). */
  view(n: number, field: string): Uint8Array {
    this.need(n, field);
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  u8(field: string): number {
    this.need(1, field);
    return this.b[this.pos++]!;
  }
  u16(field: string): number {
    this.need(2, field);
    const v = u16le(this.b, this.pos);
    this.pos += 2;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = u32le(this.b, this.pos);
    this.pos += 4;
    return v;
  }
}

/** An appending writer (little-endian integers); `bytes(b, n, field)` checks an exact size. */
export class ByteWriter {
  private parts: Uint8Array[] = [];
  constructor(
    private readonly fail: (message: string) => Error = (m) => new FormatError('INVALID_LENGTH', m),
  ) {}
  bytes(b: Uint8Array, n?: number, field = 'field'): this {
    if (n !== undefined && b.length !== n)
      throw this.fail(`serialize: ${field} must be ${n} bytes, got ${b.length}`);
    this.parts.push(b);
    return this;
  }
  u16(v: number): this {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v, true);
    return this.bytes(b);
  }
  u32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    return this.bytes(b);
  }
  done(): Uint8Array {
    return concatBytes(...this.parts);
  }
}
