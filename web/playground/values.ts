/**
 * Typed inputs: the text of one input field to a WasmValue with exact bits (what the request carries as a
 * typed input and the claim attests). Integers: decimal or 0x hex, in the signed or unsigned range (stored
 * as the signed two's-complement value). Floats: decimal, `inf`, `-inf`, `nan`, or exact bits as
 * `bits:0x…` (NaN payloads and -0 survive).
 */
import type { WasmValue } from '../../src/binding/index.ts';
import { PlaygroundError } from './errors.ts';

export type NumberType = 'i32' | 'i64' | 'f32' | 'f64';

function bigintOf(text: string, what: string): bigint {
  const t = text.trim();
  if (!/^[+-]?(?:0[xX][0-9a-fA-F]+|[0-9]+)$/.test(t))
    throw new PlaygroundError('BAD_INPUT', `${what}: not an integer (decimal or 0x hex): '${text}'`);
  const neg = t.startsWith('-');
  const mag = BigInt(t.replace(/^[+-]/, ''));
  return neg ? -mag : mag;
}

function floatOf(text: string, what: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (t === 'nan') return Number.NaN;
  if (t === 'inf' || t === '+inf' || t === 'infinity') return Number.POSITIVE_INFINITY;
  if (t === '-inf' || t === '-infinity') return Number.NEGATIVE_INFINITY;
  if (t.startsWith('bits:')) return undefined;
  if (!/^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?$/.test(t))
    throw new PlaygroundError('BAD_INPUT', `${what}: not a number: '${text}'`);
  return Number(t);
}

export function parseValue(type: NumberType, text: string, what = 'value'): WasmValue {
  switch (type) {
    case 'i32': {
      const n = bigintOf(text, what);
      if (n < -(2n ** 31n) || n >= 2n ** 32n)
        throw new PlaygroundError('BAD_INPUT', `${what}: outside the i32 range (-2^31 .. 2^32-1)`);
      return { type, value: Number(BigInt.asIntN(32, n)) };
    }
    case 'i64': {
      const n = bigintOf(text, what);
      if (n < -(2n ** 63n) || n >= 2n ** 64n)
        throw new PlaygroundError('BAD_INPUT', `${what}: outside the i64 range (-2^63 .. 2^64-1)`);
      return { type, value: BigInt.asIntN(64, n) };
    }
    case 'f32': {
      const x = floatOf(text, what);
      if (x === undefined) {
        const b = bigintOf(text.trim().slice(5), what);
        if (b < 0n || b >= 2n ** 32n) throw new PlaygroundError('BAD_INPUT', `${what}: f32 bits are 32 bits`);
        return { type, bits: Number(b) };
      }
      const dv = new DataView(new ArrayBuffer(4));
      dv.setFloat32(0, x);
      return { type, bits: dv.getUint32(0) };
    }
    case 'f64': {
      const x = floatOf(text, what);
      if (x === undefined) {
        const b = bigintOf(text.trim().slice(5), what);
        if (b < 0n || b >= 2n ** 64n) throw new PlaygroundError('BAD_INPUT', `${what}: f64 bits are 64 bits`);
        return { type, bits: b };
      }
      const dv = new DataView(new ArrayBuffer(8));
      dv.setFloat64(0, x);
      return { type, bits: dv.getBigUint64(0) };
    }
  }
}
