/**
 * Text renderings of a typed Wasm value, written once: the decimal rendering `exec` prints
 * (renderValue) and the legacy string the server echoes in `inputs` (valueToString), with the raw-bits
 * ↔ float conversions they use, and the display JSON form `exec --json` prints.
 */
import type { WasmValue } from './vocabulary.ts';

const dv = new DataView(new ArrayBuffer(8));
/** The float32 of raw bits (NaN payloads are lost in a JS number). */
export const f32FromBits = (b: number) => {
  dv.setUint32(0, b >>> 0);
  return dv.getFloat32(0);
};
/** The float64 of raw bits. */
export const f64FromBits = (b: bigint) => {
  dv.setBigUint64(0, BigInt.asUintN(64, b));
  return dv.getFloat64(0);
};
/** The raw bits of a number rounded to float32. */
export const f32Bits = (n: number) => {
  dv.setFloat32(0, n);
  return dv.getUint32(0);
};
/** The raw bits of a float64. */
export const f64Bits = (n: number) => {
  dv.setFloat64(0, n);
  return dv.getBigUint64(0);
};

/**
 * The derived decimal rendering of a value (what `exec` prints): integers in decimal; floats as the
 * shortest decimal that round-trips, `-0`, `inf`, `-inf`, `nan` or `nan:0xPAYLOAD` (non-canonical NaN).
 */
export function renderValue(v: WasmValue): string {
  switch (v.type) {
    case 'i32':
      return String(v.value | 0);
    case 'i64':
      return BigInt.asIntN(64, v.value).toString();
    default: {
      const n = v.type === 'f32' ? f32FromBits(v.bits) : f64FromBits(v.bits);
      const neg = v.type === 'f32' ? v.bits >>> 31 === 1 : BigInt.asUintN(64, v.bits) >> 63n === 1n;
      if (Number.isNaN(n)) {
        const payload =
          v.type === 'f32' ? BigInt(v.bits & 0x7fffff) : BigInt.asUintN(64, v.bits) & ((1n << 52n) - 1n);
        const canonical = v.type === 'f32' ? 0x400000n : 1n << 51n;
        return `${neg ? '-' : ''}nan${payload === canonical ? '' : `:0x${payload.toString(16)}`}`;
      }
      if (n === Number.POSITIVE_INFINITY) return 'inf';
      if (n === Number.NEGATIVE_INFINITY) return '-inf';
      if (n === 0 && neg) return '-0';
      return String(n);
    }
  }
}

/** The legacy string rendering of a typed input, as the server echoes it in `inputs` (NaN payload lost). */
export function valueToString(v: WasmValue): string {
  switch (v.type) {
    case 'i32':
      return String(v.value | 0);
    case 'i64':
      return BigInt.asIntN(64, v.value).toString();
    case 'f32':
      return String(f32FromBits(v.bits));
    case 'f64':
      return String(f64FromBits(v.bits));
  }
}

/** Raw bits as fixed-width hex (`0x3fc00000`); integers as their two's complement bits. */
export function bitsHex(v: WasmValue): string {
  switch (v.type) {
    case 'i32':
      return `0x${(v.value >>> 0).toString(16).padStart(8, '0')}`;
    case 'i64':
      return `0x${BigInt.asUintN(64, v.value).toString(16).padStart(16, '0')}`;
    case 'f32':
      return `0x${(v.bits >>> 0).toString(16).padStart(8, '0')}`;
    case 'f64':
      return `0x${BigInt.asUintN(64, v.bits).toString(16).padStart(16, '0')}`;
  }
}

/**
 * The display JSON form of a value (what `exec --json` prints, locally and against a server): i32 as a
 * number, i64 as a decimal string, floats as their exact bits in hex plus the rendering (`renderValue`).
 * The claim's canonical form is `WasmValueJson` (claim-json.ts); the verifier reads both.
 */
export type WasmValueDisplayJson =
  | { type: 'i32'; value: number }
  | { type: 'i64'; value: string }
  | { type: 'f32' | 'f64'; bits: string; value: string };

export function valueToDisplayJson(v: WasmValue): WasmValueDisplayJson {
  switch (v.type) {
    case 'i32':
      return { type: 'i32', value: v.value | 0 };
    case 'i64':
      return { type: 'i64', value: BigInt.asIntN(64, v.value).toString() };
    default:
      return { type: v.type, bits: bitsHex(v), value: renderValue(v) };
  }
}
