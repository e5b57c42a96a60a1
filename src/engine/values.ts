/**
 * Typed Wasm values: constructors, the legacy string form, and a JSON-friendly encoding.
 *
 * Floats are carried as raw IEEE-754 bit patterns everywhere (never as JS numbers) so NaN payloads,
 * signalling NaNs and -0.0 survive. The engine passes them into and out of Wasm through a generated
 * trampoline module that takes/returns integers and reinterprets them inside Wasm (see trampoline.ts).
 */
import {
  bitsHex,
  f32FromBits,
  f32Bits as f32ToBits,
  f64FromBits,
  f64Bits as f64ToBits,
  renderValue,
  valueToDisplayJson,
  type WasmValueDisplayJson,
} from '../binding/index.ts';
import { EngineError } from './errors.ts';
import type { ValueType, WasmValue } from './types.ts';

export const VALUE_TYPES: readonly ValueType[] = ['i32', 'i64', 'f32', 'f64'];

const I64_MIN = -(1n << 63n);
const U64_MAX = (1n << 64n) - 1n;

export function i32(value: number): WasmValue {
  return { type: 'i32', value: value | 0 };
}
export function i64(value: bigint | number): WasmValue {
  return { type: 'i64', value: BigInt.asIntN(64, BigInt(value)) };
}
/** f32 from a JS number (rounded to float32) or from raw bits with f32Bits(). */
export function f32(value: number): WasmValue {
  return { type: 'f32', bits: f32ToBits(value) };
}
export function f64(value: number): WasmValue {
  return { type: 'f64', bits: f64ToBits(value) };
}
export function f32Bits(bits: number): WasmValue {
  return { type: 'f32', bits: bits >>> 0 };
}
export function f64Bits(bits: bigint): WasmValue {
  return { type: 'f64', bits: BigInt.asUintN(64, bits) };
}

/** The JS number of a float value (NaN payloads are lost here: display only). */
export function floatNumber(v: WasmValue): number {
  if (v.type === 'f32') return f32FromBits(v.bits);
  if (v.type === 'f64') return f64FromBits(v.bits);
  throw new EngineError('INVALID_ARGUMENT', `not a float: ${v.type}`);
}

export function isValueType(t: unknown): t is ValueType {
  return typeof t === 'string' && (VALUE_TYPES as readonly string[]).includes(t);
}

function invalid(index: number | undefined, type: ValueType, text: string, why: string): EngineError {
  const where = index === undefined ? '' : `argument ${index} `;
  return new EngineError(
    'INVALID_ARGUMENT',
    `${where}(${type}): cannot parse ${JSON.stringify(text)}: ${why}`,
  );
}

function parseBigInt(text: string): bigint | undefined {
  const s = text.trim().replaceAll('_', '');
  const m = /^([+-]?)(0x[0-9a-f]+|0b[01]+|0o[0-7]+|[0-9]+)$/i.exec(s);
  if (!m) return undefined;
  const mag = BigInt(m[2]!.toLowerCase());
  return m[1] === '-' ? -mag : mag;
}

/** Float literal → bits. Accepts decimals, `inf`/`infinity`, `nan`, `nan:0x<payload>`, hex floats (`0x1.8p3`). */
function parseFloatBits(text: string, type: 'f32' | 'f64', index?: number): number | bigint {
  const s = text.trim().replaceAll('_', '').toLowerCase();
  const neg = s.startsWith('-');
  const body = s.replace(/^[+-]/, '');
  const mantBits = type === 'f32' ? 23n : 52n;
  const expAll = type === 'f32' ? 0xffn : 0x7ffn;
  const sign = neg ? 1n << (type === 'f32' ? 31n : 63n) : 0n;
  const fin = (b: bigint): number | bigint => (type === 'f32' ? Number(b) : b);
  if (body === 'inf' || body === 'infinity') return fin(sign | (expAll << mantBits));
  if (body === 'nan' || body.startsWith('nan:')) {
    let payload = 1n << (mantBits - 1n); // canonical (quiet) NaN
    if (body.startsWith('nan:')) {
      const p = parseBigInt(body.slice(4));
      if (p === undefined || p <= 0n || p >= 1n << mantBits) {
        throw invalid(index, type, text, `NaN payload must be in 1..2^${mantBits}-1`);
      }
      payload = p;
    }
    return fin(sign | (expAll << mantBits) | payload);
  }
  let value: number;
  const hex = /^0x([0-9a-f]*)(?:\.([0-9a-f]*))?(?:p([+-]?[0-9]+))?$/.exec(body);
  if (hex && (hex[1] || hex[2])) {
    const digits = (hex[1] ?? '') + (hex[2] ?? '');
    const mant = digits ? BigInt(`0x${digits}`) : 0n;
    const exp = Number(hex[3] ?? '0') - 4 * (hex[2]?.length ?? 0);
    value = hexFloatToNumber(mant, exp);
  } else if (/^([0-9]+\.?[0-9]*|\.[0-9]+)(e[+-]?[0-9]+)?$/.test(body)) {
    value = Number(body);
  } else {
    throw invalid(index, type, text, 'not a float literal');
  }
  if (neg) value = -value;
  if (type === 'f32') {
    const r = f32(value) as { bits: number };
    if (!Number.isFinite(Math.fround(value)) && Number.isFinite(value)) {
      throw invalid(index, type, text, 'out of f32 range');
    }
    return r.bits;
  }
  if (!Number.isFinite(value)) throw invalid(index, type, text, 'out of f64 range');
  return (f64(value) as { bits: bigint }).bits;
}

/** mant * 2^exp as a double, rounding once (to nearest even) when mant is wider than 53 bits. */
function hexFloatToNumber(mant: bigint, exp: number): number {
  if (mant === 0n) return 0;
  let m = mant;
  let e = exp;
  const width = m.toString(2).length;
  if (width > 64) {
    // keep 64 bits + sticky: Number(BigInt) rounds correctly to 53 bits from there
    const drop = BigInt(width - 64);
    const sticky = (m & ((1n << drop) - 1n)) !== 0n ? 1n : 0n;
    m = (m >> drop) | sticky;
    e += Number(drop);
  }
  // Number(m) is correctly rounded; scaling by powers of two is exact unless it goes subnormal.
  let v = Number(m);
  while (e > 0) {
    const step = Math.min(e, 1000);
    v *= 2 ** step;
    e -= step;
  }
  while (e < 0) {
    const step = Math.min(-e, 1000);
    v /= 2 ** step;
    e += step;
  }
  return v;
}

/**
 * Parse one value in the legacy string form for `type`: integers in decimal or 0x-hex (negative allowed,
 * unsigned spellings up to 2^N-1 wrap to the signed value); floats as decimals, inf, nan, nan:0x..., hex floats.
 */
export function parseValue(type: ValueType, text: string, index?: number): WasmValue {
  if (typeof text !== 'string') throw invalid(index, type, String(text), 'expected a string');
  if (type === 'i32' || type === 'i64') {
    const n = parseBigInt(text);
    if (n === undefined) throw invalid(index, type, text, 'not an integer (decimal or 0x-hex)');
    const bits = type === 'i32' ? 32n : 64n;
    const min = type === 'i32' ? -(1n << 31n) : I64_MIN;
    const max = type === 'i32' ? (1n << 32n) - 1n : U64_MAX;
    if (n < min || n > max) throw invalid(index, type, text, `out of range for ${bits}-bit integer`);
    return type === 'i32'
      ? { type, value: Number(BigInt.asIntN(32, n)) }
      : { type, value: BigInt.asIntN(64, n) };
  }
  if (type === 'f32') return { type, bits: parseFloatBits(text, type, index) as number };
  if (type === 'f64') return { type, bits: parseFloatBits(text, type, index) as bigint };
  throw new EngineError('UNSUPPORTED_FEATURE', `value type ${String(type)} is not supported`);
}

/** Parse `type:text` (e.g. `i32:5`, `f64:nan:0x1`); without a known type prefix, `fallback` types it. */
export function parseTypedArg(spec: string, fallback?: ValueType, index?: number): WasmValue {
  const m = /^(i32|i64|f32|f64):(.*)$/s.exec(spec);
  if (m) return parseValue(m[1] as ValueType, m[2]!, index);
  if (!fallback) {
    throw new EngineError(
      'INVALID_ARGUMENT',
      `argument ${index ?? '?'}: missing type prefix in ${JSON.stringify(spec)}`,
    );
  }
  return parseValue(fallback, spec, index);
}

/** Human-readable form (binding's renderValue): integers in decimal, floats as shortest decimal, `nan`,
 * `nan:0x...`, `inf`, `-0`. */
export const formatValue = renderValue;
export { bitsHex };

/** JSON form of a value as `exec --json` prints it (binding's display form): exact bits plus a rendering. */
export type JsonValue = WasmValueDisplayJson;
export const encodeJsonValue = valueToDisplayJson;

/**
 * Decode a JSON value: `{type, bits}` (exact, preferred for floats) or `{type, value}` where value is a
 * number, a bigint, or a string in the legacy form. Throws EngineError('INVALID_ARGUMENT').
 */
export function decodeJsonValue(j: unknown, index?: number): WasmValue {
  const where = index === undefined ? 'value' : `argument ${index}`;
  if (typeof j !== 'object' || j === null)
    throw new EngineError('INVALID_ARGUMENT', `${where}: expected an object`);
  const o = j as { type?: unknown; value?: unknown; bits?: unknown };
  if (!isValueType(o.type)) {
    throw new EngineError('INVALID_ARGUMENT', `${where}: type must be one of ${VALUE_TYPES.join(', ')}`);
  }
  const type = o.type;
  if (o.bits !== undefined) {
    if (type !== 'f32' && type !== 'f64') {
      throw new EngineError('INVALID_ARGUMENT', `${where}: bits is only for f32/f64`);
    }
    const b =
      typeof o.bits === 'string' ? parseBigInt(o.bits) : typeof o.bits === 'bigint' ? o.bits : undefined;
    const max = type === 'f32' ? 0xffffffffn : U64_MAX;
    if (b === undefined || b < 0n || b > max) {
      throw new EngineError(
        'INVALID_ARGUMENT',
        `${where}: bits must be a ${type === 'f32' ? 32 : 64}-bit hex string`,
      );
    }
    return type === 'f32' ? { type, bits: Number(b) } : { type, bits: b };
  }
  const v = o.value;
  if (typeof v === 'string') return parseValue(type, v, index);
  if (typeof v === 'bigint') return parseValue(type, v.toString(), index);
  if (typeof v === 'number') {
    if (type === 'f32') return f32(v);
    if (type === 'f64') return f64(v);
    if (!Number.isSafeInteger(v)) {
      throw new EngineError(
        'INVALID_ARGUMENT',
        `${where}: ${type} number must be a safe integer (use a string)`,
      );
    }
    return parseValue(type, String(v), index);
  }
  throw new EngineError('INVALID_ARGUMENT', `${where}: missing value or bits`);
}

/** Check a typed value's shape (type tag and JS representation in range). */
export function checkValue(v: unknown, expected: ValueType, index: number): WasmValue {
  const o = v as { type?: unknown; value?: unknown; bits?: unknown } | null;
  if (typeof o !== 'object' || o === null || !isValueType(o.type)) {
    throw new EngineError('INVALID_ARGUMENT', `argument ${index}: not a typed value (expected ${expected})`);
  }
  if (o.type !== expected) {
    throw new EngineError('INVALID_ARGUMENT', `argument ${index}: expected ${expected}, got ${o.type}`);
  }
  const bad = (why: string) => new EngineError('INVALID_ARGUMENT', `argument ${index} (${expected}): ${why}`);
  switch (expected) {
    case 'i32':
      if (
        typeof o.value !== 'number' ||
        !Number.isInteger(o.value) ||
        o.value < -(2 ** 31) ||
        o.value > 2 ** 32 - 1
      ) {
        throw bad('value must be an integer in the 32-bit range');
      }
      return { type: 'i32', value: o.value | 0 };
    case 'i64':
      if (typeof o.value !== 'bigint' || o.value < I64_MIN || o.value > U64_MAX) {
        throw bad('value must be a bigint in the 64-bit range');
      }
      return { type: 'i64', value: BigInt.asIntN(64, o.value) };
    case 'f32':
      if (typeof o.bits !== 'number' || !Number.isInteger(o.bits) || o.bits < 0 || o.bits > 0xffffffff) {
        throw bad('bits must be an unsigned 32-bit integer');
      }
      return { type: 'f32', bits: o.bits };
    case 'f64':
      if (typeof o.bits !== 'bigint' || o.bits < 0n || o.bits > U64_MAX) {
        throw bad('bits must be an unsigned 64-bit bigint');
      }
      return { type: 'f64', bits: o.bits };
  }
}

/** Byte size of a value in the output accounting (4 or 8). */
export function valueSize(v: WasmValue): number {
  return v.type === 'i32' || v.type === 'f32' ? 4 : 8;
}

export function valuesEqual(a: WasmValue, b: WasmValue): boolean {
  if (a.type !== b.type) return false;
  return (
    ('value' in a ? a.value : a.bits) ===
    ('value' in b ? (b as { value: unknown }).value : (b as { bits: unknown }).bits)
  );
}
