/**
 * Conversions between the API's `wasm.Value` (the original oneof shape plus exact `bits`) and binding's
 * typed `WasmValue` (exact bits for floats), and the API's mode enums (binding's one table, with the
 * service's error for an unknown mode).
 */
import {
  decodeBase64Strict,
  type ExecutionMode,
  fromProtoValue,
  modeFromProto as modeFromProtoValue,
  modeToProto,
  toProtoValue,
  valueToString,
} from '../binding/index.ts';
import type { WASMVMMode } from '../gen/wasmvm/v1/wasmvm_pb.ts';
import { ServiceError } from './errors.ts';

/** The API value conversions are binding's (request.ts: one reading of a request, shared with the verifier). */
export { fromProtoValue, toProtoValue, valueToString };

/** The execution mode of a request's WASMVMMode (binding's table); INVALID_MODE for an unknown one. */
export function modeFromProto(m: WASMVMMode): ExecutionMode {
  const mode = modeFromProtoValue(m);
  if (mode === undefined) throw new ServiceError('INVALID_MODE', `unknown mode ${m}`);
  return mode;
}

export { decodeBase64Strict, modeToProto };
