/**
 * The one reading of an Execute request (`wasm.WASMVMExecutionRequest`) into the claim's input side.
 *
 * The service reads every request with it (adding its own size limits), and the verifier reads the
 * client's saved request with it (after @bufbuild/protobuf's `fromJson`, as the service's JSON codecs
 * do), so the input side a verifier recomputes is the one the service attested by construction, not by
 * two parsers kept in step. Typed values: `wasm.Value` ↔ `WasmValue` (`bits`, when present, wins).
 */
import { create } from '@bufbuild/protobuf';
import {
  AttestationMode as ProtoAttestationMode,
  type Value,
  ValueSchema,
  ValueType,
  type WASMVMExecutionRequest,
  WASMVMMode,
} from '../gen/wasmvm/v1/wasmvm_pb.ts';
import type { ClaimInputSide, ClaimInputs } from './claim.ts';
import { BindingError } from './errors.ts';
import { platformBase64Decode } from './platform/base64-node.ts';
import { f32Bits, f32FromBits, f64Bits, f64FromBits, valueToString } from './value-text.ts';
import { isGasLimit, modeFromProto, requestedAttestationFromProto, type WasmValue } from './vocabulary.ts';

/** Bounds a reader enforces on a request (the service passes its limits; unset = not checked here). */
export interface RequestBounds {
  maxBytecodeBytes?: number;
  maxNonceBytes?: number;
  /** Typed plus legacy inputs. */
  maxInputs?: number;
  /** Characters of request_id. */
  maxRequestIdChars?: number;
}

/** A request read: what the engine runs and what the claim's input side says about it. */
export interface RequestReading {
  /** request_id as sent ('' when none). */
  requestId: string;
  bytecode: Uint8Array;
  /** The claim's input side as the request sets it (the bytecode hash is computed by whoever needs it). */
  input: Omit<ClaimInputSide, 'bytecodeSha256'>;
  /** The inputs as the response echoes them (legacy strings). */
  inputStrings: string[];
}

/** The service's messages, unchanged; `field` names the request field. */
const fail = (code: ConstructorParameters<typeof BindingError>[0], field: string, message: string) =>
  new BindingError(code, message, field);

/**
 * Read a request. Errors are BindingErrors whose codes are the service's stable request codes
 * (MISSING_EXECUTION, MISSING_FUNCTION, MISSING_BYTECODE, BYTECODE_CONFLICT, INPUTS_CONFLICT,
 * INVALID_BASE64, INVALID_VALUE, INVALID_GAS_LIMIT, INVALID_NONCE, INVALID_MODE, UNSUPPORTED_ATTESTATION,
 * BYTECODE_TOO_LARGE, INVALID_ARGUMENT), each naming the field.
 */
export function readExecuteRequest(req: WASMVMExecutionRequest, bounds: RequestBounds = {}): RequestReading {
  const ex = req.execution;
  if (!ex) throw fail('MISSING_EXECUTION', 'execution', 'execution is required');
  if (bounds.maxRequestIdChars !== undefined && ex.requestId.length > bounds.maxRequestIdChars)
    throw fail(
      'INVALID_ARGUMENT',
      'request_id',
      `request_id longer than ${bounds.maxRequestIdChars} characters`,
    );
  if (!ex.fnName) throw fail('MISSING_FUNCTION', 'fn_name', 'fn_name is required');
  if (ex.bytecode && ex.bytecodeRaw.length > 0)
    throw fail('BYTECODE_CONFLICT', 'bytecode', 'set bytecode (base64) or bytecode_raw, not both');
  const maxBytes = bounds.maxBytecodeBytes;
  // Size check before decoding: base64 of N bytes is 4*ceil(N/3) characters.
  if (maxBytes !== undefined && ex.bytecode.length > Math.ceil(maxBytes / 3) * 4 + 1024)
    throw fail('BYTECODE_TOO_LARGE', 'bytecode', `bytecode larger than ${maxBytes} bytes`);
  const bytecode = ex.bytecode ? decodeBase64Strict(ex.bytecode, 'bytecode') : ex.bytecodeRaw;
  if (bytecode.length === 0) throw fail('MISSING_BYTECODE', 'bytecode', 'bytecode is required');
  if (maxBytes !== undefined && bytecode.length > maxBytes)
    throw fail(
      'BYTECODE_TOO_LARGE',
      'bytecode',
      `bytecode is ${bytecode.length} bytes, the limit is ${maxBytes}`,
    );
  if (ex.inputs.length > 0 && ex.typedInputs.length > 0)
    throw fail('INPUTS_CONFLICT', 'inputs', 'set inputs (strings) or typed_inputs, not both');
  if (bounds.maxInputs !== undefined && ex.inputs.length + ex.typedInputs.length > bounds.maxInputs)
    throw fail('INVALID_ARGUMENT', 'inputs', `more than ${bounds.maxInputs} inputs`);
  let inputs: ClaimInputs;
  let inputStrings: string[];
  if (ex.typedInputs.length > 0) {
    const typed = ex.typedInputs.map((v, i) => fromProtoValue(v, i));
    inputs = typed;
    inputStrings = typed.map(valueToString);
  } else {
    inputStrings = [...ex.inputs];
    inputs = { legacy: [...ex.inputs] };
  }
  if (bounds.maxNonceBytes !== undefined && ex.nonce.length > bounds.maxNonceBytes)
    throw fail('INVALID_NONCE', 'nonce', `nonce longer than ${bounds.maxNonceBytes} bytes`);
  const rc = req.runtimeConfig;
  const modeRaw = rc?.mode ?? WASMVMMode.WASMVM_MODE_INTERP_UNSPECIFIED;
  const mode = modeFromProto(modeRaw);
  if (mode === undefined) throw fail('INVALID_MODE', 'runtime_config.mode', `unknown mode ${modeRaw}`);
  let gasLimit: bigint | undefined;
  if (rc?.gasLimit?.useGasLimit) {
    if (!isGasLimit(rc.gasLimit.limit))
      throw fail(
        'INVALID_GAS_LIMIT',
        'runtime_config.gas_limit.limit',
        `gas limit must be in 1..2^63-1 when use_gas_limit is set (got ${rc.gasLimit.limit})`,
      );
    gasLimit = rc.gasLimit.limit;
  }
  const attRaw = rc?.attestationMode ?? ProtoAttestationMode.UNSPECIFIED;
  const attestationRequested = requestedAttestationFromProto(attRaw);
  if (attestationRequested === undefined)
    throw fail(
      'UNSUPPORTED_ATTESTATION',
      'runtime_config.attestation_mode',
      `unknown attestation mode ${attRaw}`,
    );
  const input: RequestReading['input'] = {
    fn: ex.fnName,
    inputs,
    mode,
    meter: rc?.meter === true,
    attestationRequested,
    gpuRequested: rc?.includeGpuEvidence === true,
  };
  if (gasLimit !== undefined) input.gasLimit = gasLimit;
  if (ex.nonce.length > 0) input.nonce = ex.nonce;
  return { requestId: ex.requestId, bytecode, input, inputStrings };
}

/**
 * API value → WasmValue. `bits` carries the exact value (NaN payloads, -0); a typed field given beside it must
 * denote the same value. INVALID_VALUE naming the input otherwise.
 */
export function fromProtoValue(v: Value, index: number): WasmValue {
  const bad = (why: string) =>
    fail('INVALID_VALUE', `typed_inputs[${index}]`, `typed_inputs[${index}]: ${why}`);
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
  const fromBits = bitsValue(type as 1 | 2 | 3 | 4, v.bits, bad);
  const fromField = v.value.case === undefined ? undefined : fieldValue(type as 1 | 2 | 3 | 4, v.value.value);
  if (fromBits && fromField && !sameValue(fromBits, fromField))
    throw bad(
      `bits and ${v.value.case} disagree (${valueToString(fromBits)} vs ${valueToString(fromField)})`,
    );
  return (fromBits ?? fromField)!;
}

function bitsValue(type: 1 | 2 | 3 | 4, bits: bigint | undefined, bad: (why: string) => BindingError) {
  if (bits === undefined) return undefined;
  switch (type) {
    case ValueType.INT32:
      if (bits > 0xffffffffn) throw bad('i32 bits wider than 32 bits');
      return { type: 'i32', value: Number(BigInt.asIntN(32, bits)) } as WasmValue;
    case ValueType.INT64:
      return { type: 'i64', value: BigInt.asIntN(64, bits) } as WasmValue;
    case ValueType.FLOAT32:
      if (bits > 0xffffffffn) throw bad('f32 bits wider than 32 bits');
      return { type: 'f32', bits: Number(bits) } as WasmValue;
    default:
      return { type: 'f64', bits } as WasmValue;
  }
}

function fieldValue(type: 1 | 2 | 3 | 4, x: unknown): WasmValue {
  switch (type) {
    case ValueType.INT32:
      return { type: 'i32', value: (x as number) | 0 };
    case ValueType.INT64:
      return { type: 'i64', value: BigInt.asIntN(64, x as bigint) };
    case ValueType.FLOAT32:
      return { type: 'f32', bits: f32Bits(x as number) };
    default:
      return { type: 'f64', bits: f64Bits(x as number) };
  }
}

/**
 * A typed field agrees with the exact bits when it denotes the same value. For floats the field is a
 * rendering: any NaN agrees with a NaN (payloads live in bits), and 0 with -0 (JSON writers drop the sign).
 */
function sameValue(a: WasmValue, b: WasmValue): boolean {
  if (a.type === 'i32' && b.type === 'i32') return a.value === b.value;
  if (a.type === 'i64' && b.type === 'i64') return a.value === b.value;
  const n = (v: WasmValue) =>
    v.type === 'f32' ? f32FromBits(v.bits) : v.type === 'f64' ? f64FromBits(v.bits) : Number.NaN;
  const x = n(a);
  const y = n(b);
  return x === y || (Number.isNaN(x) && Number.isNaN(y));
}

/** WasmValue → API value: the original oneof and the exact bits. */
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

/** Strict standard base64 (RFC 4648 §4, padding required; CR/LF ignored like Go's StdEncoding). */
export function decodeBase64Strict(s: string, what: string): Uint8Array {
  const t = s.replace(/[\r\n]/g, '');
  if (t.length % 4 !== 0 || !/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(t))
    throw fail('INVALID_BASE64', what, `${what}: not valid standard base64`);
  return platformBase64Decode(t);
}
