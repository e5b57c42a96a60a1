/**
 * Proto JSON as the verifier reads it: objects with snake_case (proto) or camelCase (JSON) keys, strict
 * about unknown or doubled keys; integers, floats and bytes in their proto-JSON forms; typed values in
 * every JSON form the product writes (protoJsonValue), and their renderings.
 */
import {
  f32Bits,
  f32FromBits,
  f64Bits,
  f64FromBits,
  fromB64,
  renderValue,
  type WasmValue,
} from '../../binding/index.ts';
import { hexToBytes } from '../../util/text-codec.ts';
import { invalid } from './common.ts';

export function pick(o: unknown, ...keys: string[]): unknown {
  if (!o || typeof o !== 'object') return undefined;
  const r = o as Record<string, unknown>;
  for (const k of keys) if (r[k] !== undefined) return r[k];
  return undefined;
}

const camel = (k: string) => k.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/** A proto-JSON object with snake_case keys (proto names) read as camelCase (JSON names); strict keys. */
export function protoObject(o: unknown, where: string, allowed: readonly string[]): Record<string, unknown> {
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw invalid(where, 'expected an object');
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    const c = camel(k);
    if (!allowed.includes(c)) throw invalid(`${where}.${k}`, 'unknown field');
    if (out[c] !== undefined) throw invalid(`${where}.${k}`, 'given twice');
    out[c] = v;
  }
  return out;
}

/** Proto JSON number for float/double: a number, or "NaN" / "Infinity" / "-Infinity" / a numeric string. */
export function jsonFloat(x: unknown, where: string): number {
  if (typeof x === 'number') return x;
  if (x === 'NaN') return Number.NaN;
  if (x === 'Infinity') return Number.POSITIVE_INFINITY;
  if (x === '-Infinity') return Number.NEGATIVE_INFINITY;
  if (typeof x === 'string' && /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(x)) return Number(x);
  throw invalid(where, 'not a number');
}

export function jsonInt(x: unknown, where: string, min: bigint, max: bigint): bigint {
  let b: bigint;
  if (typeof x === 'number' && Number.isSafeInteger(x)) b = BigInt(x);
  else if (typeof x === 'string' && /^-?(?:0|[1-9]\d*)$/.test(x)) b = BigInt(x);
  else throw invalid(where, 'not an integer');
  if (b < min || b > max) throw invalid(where, `${String(x)} out of range`);
  return b;
}

export const U64 = (1n << 64n) - 1n;

const TYPE_NAMES: Record<string, WasmValue['type']> = {
  VALUE_TYPE_INT32: 'i32',
  VALUE_TYPE_INT64: 'i64',
  VALUE_TYPE_FLOAT32: 'f32',
  VALUE_TYPE_FLOAT64: 'f64',
  '1': 'i32',
  '2': 'i64',
  '3': 'f32',
  '4': 'f64',
  i32: 'i32',
  i64: 'i64',
  f32: 'f32',
  f64: 'f64',
};
const FIELD_OF = { i32: 'int32Value', i64: 'int64Value', f32: 'float32Value', f64: 'float64Value' } as const;
const VALUE_KEYS = ['type', 'int32Value', 'int64Value', 'float32Value', 'float64Value', 'bits', 'value'];

/**
 * A typed value in any JSON form the product writes or reads — proto JSON `wasm.Value`
 * ({type, int32Value|…, bits}), the claim view ({type, value|bits}) or `exec --json` ({type, bits: '0x…',
 * value: rendering}) — read strictly: every representation present must denote the same value (typed field
 * vs bits, decimal rendering vs bits). `strictAgree: false` (requests): bits win, as on the server.
 */
export function protoJsonValue(v: unknown, where: string, strictAgree = true): WasmValue {
  const o = protoObject(v, where, VALUE_KEYS);
  const given = Object.keys(o).filter((k) => k.endsWith('Value'));
  if (given.length > 1) throw invalid(where, `more than one of ${given.join(', ')}`);
  const tRaw = o.type;
  let type = tRaw === undefined ? undefined : TYPE_NAMES[String(tRaw)];
  if (tRaw !== undefined && type === undefined)
    throw invalid(`${where}.type`, `unknown value type ${String(tRaw)}`);
  if (type === undefined && given.length === 1)
    type = (Object.entries(FIELD_OF).find(([, f]) => f === given[0])?.[0] ?? undefined) as WasmValue['type'];
  if (type === undefined) throw invalid(where, 'unknown value type');
  if (given.length === 1 && given[0] !== FIELD_OF[type])
    throw invalid(`${where}.${given[0]}`, `does not match type ${type}`);
  const reps: Array<[string, WasmValue]> = [];
  const wide = type === 'i64' || type === 'f64';
  if (o.bits !== undefined) {
    let b: bigint;
    if (typeof o.bits === 'string' && /^0x[0-9a-f]+$/.test(o.bits)) {
      if (o.bits.length !== (wide ? 18 : 10)) throw invalid(`${where}.bits`, 'wrong width');
      b = BigInt(o.bits);
    } else b = jsonInt(o.bits, `${where}.bits`, 0n, wide ? U64 : 0xffffffffn);
    const bv: WasmValue =
      type === 'i32'
        ? { type, value: Number(BigInt.asIntN(32, b)) }
        : type === 'i64'
          ? { type, value: BigInt.asIntN(64, b) }
          : type === 'f32'
            ? { type, bits: Number(b) }
            : { type, bits: b };
    reps.push(['bits', bv]);
  }
  const typed = o[FIELD_OF[type]];
  if (typed !== undefined) {
    const f = `${where}.${FIELD_OF[type]}`;
    if (type === 'i32')
      reps.push([FIELD_OF[type], { type, value: Number(jsonInt(typed, f, -(2n ** 31n), 2n ** 31n - 1n)) }]);
    else if (type === 'i64')
      reps.push([FIELD_OF[type], { type, value: jsonInt(typed, f, -(2n ** 63n), 2n ** 63n - 1n) }]);
    else {
      const n = jsonFloat(typed, f);
      // A float field is a rendering: it agrees when it denotes the same float (any NaN for a NaN; 0 for
      // ±0, since JSON serializers write -0 as 0). The bits decide the value.
      const bitsRep = reps[0]?.[1];
      if (bitsRep && (bitsRep.type === 'f32' || bitsRep.type === 'f64')) {
        const exact = bitsRep.type === 'f32' ? f32FromBits(bitsRep.bits) : f64FromBits(bitsRep.bits);
        const shown = type === 'f32' ? Math.fround(n) : n;
        if (strictAgree && exact !== shown && !(Number.isNaN(exact) && Number.isNaN(shown)))
          throw invalid(
            f,
            `${String(typed)} ≠ the value of bits (${renderValue(bitsRep)})`,
            'VALUE_MISMATCH',
          );
      } else
        reps.push([FIELD_OF[type], type === 'f32' ? { type, bits: f32Bits(n) } : { type, bits: f64Bits(n) }]);
    }
  }
  if (o.value !== undefined) {
    const f = `${where}.value`;
    if (type === 'i32')
      reps.push(['value', { type, value: Number(jsonInt(o.value, f, -(2n ** 31n), 2n ** 31n - 1n)) }]);
    else if (type === 'i64')
      reps.push(['value', { type, value: jsonInt(o.value, f, -(2n ** 63n), 2n ** 63n - 1n) }]);
    else {
      const bitsRep = reps[0]?.[1];
      if (!bitsRep) throw invalid(`${where}.bits`, 'missing (a float rendering alone is not exact)');
      if (o.value !== renderValue(bitsRep))
        throw invalid(
          f,
          `'${String(o.value)}' ≠ the rendering of bits '${renderValue(bitsRep)}'`,
          'VALUE_MISMATCH',
        );
    }
  }
  if (reps.length === 0) throw invalid(where, 'no value');
  const first = reps[0]![1];
  const key = (x: WasmValue) => (x.type === 'i32' || x.type === 'i64' ? String(x.value) : String(x.bits));
  for (const [name, r] of reps.slice(1))
    if (key(r) !== key(first)) {
      if (!strictAgree) break;
      throw invalid(
        `${where}.${name}`,
        `${key(r)} disagrees with ${reps[0]![0]} ${key(first)}`,
        'VALUE_MISMATCH',
      );
    }
  return first;
}

/** Proto JSON bytes: standard or URL-safe base64, canonical. */
export function b64Field(v: unknown, what: string): Uint8Array {
  if (typeof v !== 'string') throw invalid(what, 'expected base64');
  const std = v.replace(/-/g, '+').replace(/_/g, '/');
  const padded = std + '='.repeat((4 - (std.length % 4)) % 4);
  return fromB64(padded, what);
}

/** Lowercase hex bytes (the CLI shape). */
export function hexBytes(v: unknown, what: string): Uint8Array {
  if (typeof v !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(v)) throw invalid(what, 'expected lowercase hex');
  return hexToBytes(v);
}
