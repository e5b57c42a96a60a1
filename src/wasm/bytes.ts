/**
 * Byte-level helpers for the Wasm binary format: a cursor-based reader with LEB128 decoding
 * (unsigned/signed, 32/64-bit; 64-bit values as bigint) and a growable writer.
 */
import { WasmvmTeeError } from '../util/errors.ts';

/** Malformed Wasm binary. `code` is always 'INVALID_BYTECODE'; `offset` is the byte offset of the problem. */
export class WasmFormatError extends WasmvmTeeError<'INVALID_BYTECODE'> {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super('INVALID_BYTECODE', `${message} (at byte offset ${offset})`);
    this.offset = offset;
  }
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

export class Reader {
  readonly bytes: Uint8Array;
  pos: number;
  /** Exclusive end of the readable range. */
  end: number;
  /** Offset of `bytes[0]` in the whole module, for error messages. */
  readonly base: number;

  constructor(bytes: Uint8Array, pos = 0, end = bytes.length, base = 0) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
    this.base = base;
  }

  fail(message: string, at = this.pos): never {
    throw new WasmFormatError(message, this.base + at);
  }

  eof(): boolean {
    return this.pos >= this.end;
  }

  u8(): number {
    if (this.pos >= this.end) this.fail('unexpected end');
    return this.bytes[this.pos++]!;
  }

  /** Unsigned LEB128, at most 32 bits (5 bytes). */
  u32(): number {
    const b = this.bytes;
    let p = this.pos;
    const end = this.end;
    if (p < end) {
      const b0 = b[p]!;
      if (b0 < 0x80) {
        this.pos = p + 1;
        return b0;
      }
    }
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      if (p >= end) this.fail('unexpected end in LEB128');
      const byte = b[p++]!;
      if (i === 4 && (byte & 0x70) !== 0) this.fail('integer too large (u32 LEB128)', p - 1);
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) {
        this.pos = p;
        return result >>> 0;
      }
      shift += 7;
    }
    return this.fail('integer representation too long (u32 LEB128)', p - 1);
  }

  /** Signed LEB128, at most 32 bits. */
  s32(): number {
    const b = this.bytes;
    let p = this.pos;
    const end = this.end;
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      if (p >= end) this.fail('unexpected end in LEB128');
      const byte = b[p++]!;
      if (i === 4) {
        if (byte & 0x80) this.fail('integer representation too long (s32 LEB128)', p - 1);
        // The unused bits of the last byte must be a sign extension of bit 31.
        const rest = byte & 0x70;
        if (rest !== 0 && rest !== 0x70) this.fail('integer too large (s32 LEB128)', p - 1);
        if (((byte & 0x08) !== 0) !== (rest === 0x70)) this.fail('integer too large (s32 LEB128)', p - 1);
      }
      result |= (byte & 0x7f) << shift;
      shift += 7;
      if ((byte & 0x80) === 0) {
        this.pos = p;
        if (shift < 32 && byte & 0x40) result |= -1 << shift;
        return result | 0;
      }
    }
    return this.fail('integer representation too long (s32 LEB128)', p - 1);
  }

  /** Signed LEB128 up to 33 bits (block types): returns a JS number. */
  s33(): number {
    const b = this.bytes;
    let p = this.pos;
    if (p < this.end) {
      const b0 = b[p]!;
      if (b0 < 0x80) {
        this.pos = p + 1;
        return b0 & 0x40 ? b0 - 0x80 : b0;
      }
    }
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 5; i++) {
      if (p >= this.end) this.fail('unexpected end in LEB128');
      const byte = b[p++]!;
      if (i === 4 && (byte & 0x80 || ((byte & 0x70) !== 0 && (byte & 0x70) !== 0x70))) {
        this.fail('integer too large (s33 LEB128)', p - 1);
      }
      result += (byte & 0x7f) * mul;
      mul *= 128;
      if ((byte & 0x80) === 0) {
        this.pos = p;
        if (byte & 0x40) result -= mul;
        return result;
      }
    }
    return this.fail('integer representation too long (s33 LEB128)', p - 1);
  }

  /** Signed LEB128, 64 bits, as bigint. */
  s64(): bigint {
    const b = this.bytes;
    let p = this.pos;
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (p >= this.end) this.fail('unexpected end in LEB128');
      const byte = b[p++]!;
      if (i === 9) {
        if (byte & 0x80) this.fail('integer representation too long (s64 LEB128)', p - 1);
        if (byte !== 0 && byte !== 0x7f) this.fail('integer too large (s64 LEB128)', p - 1);
      }
      result |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if ((byte & 0x80) === 0) {
        this.pos = p;
        if (shift < 64n && byte & 0x40) result -= 1n << shift;
        return BigInt.asIntN(64, result);
      }
    }
    return this.fail('integer representation too long (s64 LEB128)', p - 1);
  }

  /** Unsigned LEB128, 64 bits, as bigint. */
  u64(): bigint {
    const b = this.bytes;
    let p = this.pos;
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (p >= this.end) this.fail('unexpected end in LEB128');
      const byte = b[p++]!;
      if (i === 9 && byte & 0xfe) this.fail('integer too large (u64 LEB128)', p - 1);
      result |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if ((byte & 0x80) === 0) {
        this.pos = p;
        return result;
      }
    }
    return this.fail('integer representation too long (u64 LEB128)', p - 1);
  }

  /** Skips one LEB128 value of at most `maxBytes` bytes without decoding it. */
  skipLeb(maxBytes: number): void {
    const b = this.bytes;
    let p = this.pos;
    for (let i = 0; i < maxBytes; i++) {
      if (p >= this.end) this.fail('unexpected end in LEB128');
      if ((b[p++]! & 0x80) === 0) {
        this.pos = p;
        return;
      }
    }
    this.fail('integer representation too long', p - 1);
  }

  take(n: number): Uint8Array {
    if (n < 0 || this.pos + n > this.end) this.fail(`unexpected end (need ${n} bytes)`);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  name(): string {
    const n = this.u32();
    const at = this.pos;
    const raw = this.take(n);
    try {
      return utf8Decoder.decode(raw);
    } catch {
      return this.fail('malformed UTF-8 encoding', at);
    }
  }
}

export class Writer {
  buf: Uint8Array;
  len = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
  }

  ensure(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
  }

  u8(v: number): void {
    if (this.len >= this.buf.length) this.ensure(1);
    this.buf[this.len++] = v;
  }

  u32(v: number): void {
    this.ensure(5);
    const b = this.buf;
    let p = this.len;
    v >>>= 0;
    do {
      let byte = v & 0x7f;
      v >>>= 7;
      if (v !== 0) byte |= 0x80;
      b[p++] = byte;
    } while (v !== 0);
    this.len = p;
  }

  /** Unsigned LEB128 padded to exactly 5 bytes (for sizes patched later). */
  u32Padded(v: number, at: number): void {
    const b = this.buf;
    for (let i = 0; i < 4; i++) {
      b[at + i] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[at + 4] = v & 0x7f;
  }

  s32(v: number): void {
    this.ensure(5);
    const b = this.buf;
    let p = this.len;
    v |= 0;
    for (;;) {
      const byte = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
        b[p++] = byte;
        break;
      }
      b[p++] = byte | 0x80;
    }
    this.len = p;
  }

  /** Signed LEB128 for block types (s33); v is a JS number in [-2^32, 2^32). */
  s33(v: number): void {
    if (v >= -(2 ** 31) && v < 2 ** 31) {
      this.s32(v);
      return;
    }
    this.s64(BigInt(v));
  }

  s64(v: bigint): void {
    v = BigInt.asIntN(64, v);
    if (v >= -0x80000000n && v <= 0x7fffffffn) {
      this.s32(Number(v));
      return;
    }
    this.ensure(10);
    for (;;) {
      const byte = Number(v & 0x7fn);
      v >>= 7n;
      if ((v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0)) {
        this.buf[this.len++] = byte;
        break;
      }
      this.buf[this.len++] = byte | 0x80;
    }
  }

  u64(v: bigint): void {
    this.ensure(10);
    v = BigInt.asUintN(64, v);
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      this.buf[this.len++] = byte;
    } while (v !== 0n);
  }

  bytes(src: Uint8Array, start = 0, end = src.length): void {
    const n = end - start;
    this.ensure(n);
    this.buf.set(start === 0 && end === src.length ? src : src.subarray(start, end), this.len);
    this.len += n;
  }

  name(s: string): void {
    const enc = utf8Encoder.encode(s);
    this.u32(enc.length);
    this.bytes(enc);
  }

  f32Bits(bits: number): void {
    this.ensure(4);
    const b = this.buf;
    b[this.len++] = bits & 0xff;
    b[this.len++] = (bits >>> 8) & 0xff;
    b[this.len++] = (bits >>> 16) & 0xff;
    b[this.len++] = (bits >>> 24) & 0xff;
  }

  f64Bits(bits: bigint): void {
    this.f32Bits(Number(bits & 0xffffffffn));
    this.f32Bits(Number((bits >> 32n) & 0xffffffffn));
  }

  /** Reserves 5 bytes for a padded u32 and returns their offset. */
  reserveU32(): number {
    this.ensure(5);
    const at = this.len;
    this.len += 5;
    return at;
  }

  /** Writes `size` as a minimal LEB before the bytes written since `start` (shifting them). */
  patchSizeBefore(start: number): void {
    const size = this.len - start;
    let n = 1;
    for (let v = size >>> 7; v !== 0; v >>>= 7) n++;
    this.ensure(n);
    this.buf.copyWithin(start + n, start, this.len);
    let v = size;
    let p = start;
    do {
      let byte = v & 0x7f;
      v >>>= 7;
      if (v !== 0) byte |= 0x80;
      this.buf[p++] = byte;
    } while (v !== 0);
    this.len += n;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Encodes an unsigned LEB128 32-bit value. */
export function encodeU32(v: number): Uint8Array {
  const w = new Writer(5);
  w.u32(v);
  return w.finish();
}
export function encodeS32(v: number): Uint8Array {
  const w = new Writer(5);
  w.s32(v);
  return w.finish();
}
export function encodeS64(v: bigint): Uint8Array {
  const w = new Writer(10);
  w.s64(v);
  return w.finish();
}
export function encodeU64(v: bigint): Uint8Array {
  const w = new Writer(10);
  w.u64(v);
  return w.finish();
}
