/**
 * Conversions between the API's `wasm.Value` (the original oneof shape plus exact `bits`) and binding's
 * typed `WasmValue` (exact bits for floats), and the API's mode enums (binding's one table, with the
 * service's error for an unknown mode).
 */
import { create } from '@bufbuild/protobuf';
import {
  type ExecutionMode,
  f32Bits,
  f32FromBits,
  f64Bits,
  f64FromBits,
  modeFromProto as modeFromProtoValue,
  modeToProto,
  valueToString,
  type WasmValue,
} from '../binding/index.ts';
import { type Value, ValueSchema, ValueType, type WASMVMMode } from '../gen/wasmvm/v1/wasmvm_pb.ts';
import { ServiceError } from './errors.ts';

/** API value → engine value. `bits`, when present, wins (NaN payloads, -0). */
export function fromProtoValue(v: Value, index: number): WasmValue {
  const bad = (why: string) => new ServiceError('INVALID_VALUE', `typed_inputs[${index}]: ${why}`);
  let type = v.type;
  if (type === ValueType.UNSPECIFIED) {
    switch (v.value.case) {
      case 'int32Value':
        type = ValueType.INT32;
        break;
      case 'int64Value':
        type = ValueType.INT64;
        break;
      case 'float32Value':
        type = ValueType.FLOAT32;
        break;
      case 'float64Value':
        type = ValueType.FLOAT64;
        break;
      default:
        throw bad('no type and no value');
    }
  }
  const expected = {
    [ValueType.INT32]: 'int32Value',
    [ValueType.INT64]: 'int64Value',
    [ValueType.FLOAT32]: 'float32Value',
    [ValueType.FLOAT64]: 'float64Value',
  }[type as 1 | 2 | 3 | 4];
  if (expected === undefined) throw bad(`unknown value type ${type}`);
  if (v.bits === undefined && v.value.case !== expected)
    throw bad(
      `type ${ValueType[type]} needs ${expected}${v.value.case ? `, got ${v.value.case}` : ' or bits'}`,
    );
  if (v.bits !== undefined && v.value.case !== undefined && v.value.case !== expected)
    throw bad(`type ${ValueType[type]} does not match ${v.value.case}`);
  switch (type) {
    case ValueType.INT32: {
      if (v.bits !== undefined) {
        if (v.bits > 0xffffffffn) throw bad('i32 bits wider than 32 bits');
        return { type: 'i32', value: Number(BigInt.asIntN(32, v.bits)) };
      }
      return { type: 'i32', value: (v.value.value as number) | 0 };
    }
    case ValueType.INT64:
      return { type: 'i64', value: BigInt.asIntN(64, v.bits ?? (v.value.value as bigint)) };
    case ValueType.FLOAT32: {
      if (v.bits !== undefined) {
        if (v.bits > 0xffffffffn) throw bad('f32 bits wider than 32 bits');
        return { type: 'f32', bits: Number(v.bits) };
      }
      return { type: 'f32', bits: f32Bits(v.value.value as number) };
    }
    default:
      return { type: 'f64', bits: v.bits ?? f64Bits(v.value.value as number) };
  }
}

/** Engine value → API value: the original oneof and the exact bits. */
export function toProtoValue(v: WasmValue): Value {
  switch (v.type) {
    case 'i32':
      return create(ValueSchema, {
        type: ValueType.INT32,
        value: { case: 'int32Value', value: v.value | 0 },
        bits: BigInt(v.value >>> 0),
      });
    case 'i64':
      return create(ValueSchema, {
        type: ValueType.INT64,
        value: { case: 'int64Value', value: BigInt.asIntN(64, v.value) },
        bits: BigInt.asUintN(64, v.value),
      });
    case 'f32':
      return create(ValueSchema, {
        type: ValueType.FLOAT32,
        value: { case: 'float32Value', value: f32FromBits(v.bits) },
        bits: BigInt(v.bits >>> 0),
      });
    case 'f64':
      return create(ValueSchema, {
        type: ValueType.FLOAT64,
        value: { case: 'float64Value', value: f64FromBits(v.bits) },
        bits: BigInt.asUintN(64, v.bits),
      });
  }
}

export { valueToString };

/** The execution mode of a request's WASMVMMode (binding's table); INVALID_MODE for an unknown one. */
export function modeFromProto(m: WASMVMMode): ExecutionMode {
  const mode = modeFromProtoValue(m);
  if (mode === undefined) throw new ServiceError('INVALID_MODE', `unknown mode ${m}`);
  return mode;
}

export { modeToProto };

/** Strict standard base64 (RFC 4648 §4, padding required; CR/LF ignored like Go's StdEncoding). */
export function decodeBase64Strict(s: string, what: string): Uint8Array {
  const t = s.replace(/[\r\n]/g, '');
  if (t.length % 4 !== 0 || !/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(t))
    throw new ServiceError('INVALID_BASE64', `${what}: not valid standard base64`);
  return new Uint8Array(Buffer.from(t, 'base64'));
}
