/**
 * The input side of a claim as the client's own request determines it. The saved request (proto JSON of
 * `wasm.WASMVMExecutionRequest`, as `exec --server` writes it) is read with @bufbuild/protobuf's
 * `fromJson` — the codec the service's Connect/gRPC-JSON transports use — and then with binding's
 * `readExecuteRequest`, the same function the service reads every request with. There is no second
 * request parser to keep in step.
 */
import { fromJson, type JsonValue } from '@bufbuild/protobuf';
import { BindingError, type ClaimInputSide, readExecuteRequest } from '../../binding/index.ts';
import { WASMVMExecutionRequestSchema } from '../../gen/wasmvm/v1/wasmvm_pb.ts';
import { digestHex } from '../../util/digest.ts';
import { invalid } from './common.ts';

/**
 * The input side of a request, from its proto JSON (snake_case or camelCase keys). Unknown fields, a
 * malformed field, or a request the service would refuse are INVALID_REQUEST naming the field.
 */
export function claimInputFromRequest(req: unknown): ClaimInputSide & { requestId?: string } {
  let msg: ReturnType<typeof fromJson<typeof WASMVMExecutionRequestSchema>>;
  try {
    msg = fromJson(WASMVMExecutionRequestSchema, req as JsonValue);
  } catch (e) {
    throw invalid('request', (e as Error).message, 'INVALID_REQUEST');
  }
  let r: ReturnType<typeof readExecuteRequest>;
  try {
    r = readExecuteRequest(msg);
  } catch (e) {
    if (e instanceof BindingError)
      throw invalid(`request.${e.field ?? 'execution'}`, `[${e.code}] ${e.message}`, 'INVALID_REQUEST');
    throw e;
  }
  const out: ClaimInputSide & { requestId?: string } = {
    ...r.input,
    bytecodeSha256: digestHex('sha256', r.bytecode),
  };
  if (r.requestId !== '') out.requestId = r.requestId;
  return out;
}
