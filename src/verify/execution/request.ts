/**
 * The input side of a claim as the client's own request determines it: the request's proto JSON read
 * the way the server reads the request (src/server/execute-request.ts), with binding's mode, attestation
 * and gas-limit vocabulary.
 */
import { createHash } from 'node:crypto';
import {
  type ClaimInputSide,
  type ClaimInputs,
  GAS_LIMIT_MAX,
  GAS_LIMIT_MIN,
  modeFromProtoJson,
  requestedAttestationFromProtoJson,
} from '../../binding/index.ts';
import { invalid } from './common.ts';
import { b64Field, jsonInt, protoJsonValue, protoObject } from './proto-json.ts';

const REQ_EXECUTION_KEYS = [
  'version',
  'requestId',
  'bytecode',
  'fnName',
  'inputs',
  'timestamp',
  'bytecodeRaw',
  'typedInputs',
  'nonce',
];
const REQ_CONFIG_KEYS = ['mode', 'gasLimit', 'attestationMode', 'includeGpuEvidence', 'meter'];

/**
 * The input side of a request, from the proto JSON of WASMVMExecutionRequest (as `exec --server` sends
 * it) — mirrors the server's parsing. Unknown fields are an error naming the field.
 */
export function claimInputFromRequest(req: unknown): ClaimInputSide & { requestId?: string } {
  const top = protoObject(req, 'request', ['execution', 'runtimeConfig']);
  if (top.execution === undefined) throw invalid('request.execution', 'missing', 'INVALID_REQUEST');
  const ex = protoObject(top.execution, 'request.execution', REQ_EXECUTION_KEYS);
  const rc =
    top.runtimeConfig === undefined
      ? {}
      : protoObject(top.runtimeConfig, 'request.runtimeConfig', REQ_CONFIG_KEYS);
  let bytecode: Uint8Array;
  if (typeof ex.bytecode === 'string' && ex.bytecode !== '')
    bytecode = b64Field(ex.bytecode, 'request.execution.bytecode');
  else if (ex.bytecodeRaw !== undefined) bytecode = b64Field(ex.bytecodeRaw, 'request.execution.bytecodeRaw');
  else throw invalid('request.execution.bytecode', 'missing', 'INVALID_REQUEST');
  const bytecodeSha256 = createHash('sha256').update(bytecode).digest('hex');
  const fn = ex.fnName;
  if (typeof fn !== 'string' || fn === '')
    throw invalid('request.execution.fnName', 'missing', 'INVALID_REQUEST');
  const typed = ex.typedInputs;
  const legacy = ex.inputs;
  let inputs: ClaimInputs;
  if (Array.isArray(typed) && typed.length > 0)
    inputs = typed.map((v, i) => protoJsonValue(v, `request.execution.typedInputs[${i}]`, false));
  else if (legacy === undefined) inputs = { legacy: [] };
  else if (Array.isArray(legacy) && legacy.every((x) => typeof x === 'string')) inputs = { legacy };
  else throw invalid('request.execution.inputs', 'expected a list of strings', 'INVALID_REQUEST');
  const modeRaw = rc.mode ?? 'WASMVM_MODE_INTERP_UNSPECIFIED';
  const mode = modeFromProtoJson(modeRaw);
  if (!mode)
    throw invalid('request.runtimeConfig.mode', `unknown mode ${String(modeRaw)}`, 'INVALID_REQUEST');
  const attRaw = rc.attestationMode ?? 'ATTESTATION_MODE_UNSPECIFIED';
  const attestationRequested = requestedAttestationFromProtoJson(attRaw);
  if (!attestationRequested)
    throw invalid(
      'request.runtimeConfig.attestationMode',
      `unknown mode ${String(attRaw)}`,
      'INVALID_REQUEST',
    );
  const bool = (x: unknown, f: string) => {
    if (x === undefined) return false;
    if (typeof x !== 'boolean') throw invalid(f, 'expected true or false', 'INVALID_REQUEST');
    return x;
  };
  const out: ClaimInputSide & { requestId?: string } = {
    bytecodeSha256,
    fn,
    inputs,
    mode,
    meter: bool(rc.meter, 'request.runtimeConfig.meter'),
    attestationRequested,
    gpuRequested: bool(rc.includeGpuEvidence, 'request.runtimeConfig.includeGpuEvidence'),
  };
  if (rc.gasLimit !== undefined) {
    const gl = protoObject(rc.gasLimit, 'request.runtimeConfig.gasLimit', ['useGasLimit', 'limit']);
    if (bool(gl.useGasLimit, 'request.runtimeConfig.gasLimit.useGasLimit'))
      out.gasLimit = jsonInt(
        gl.limit ?? '0',
        'request.runtimeConfig.gasLimit.limit',
        GAS_LIMIT_MIN,
        GAS_LIMIT_MAX,
      );
  }
  if (ex.nonce !== undefined && ex.nonce !== '') out.nonce = b64Field(ex.nonce, 'request.execution.nonce');
  if (typeof ex.requestId === 'string' && ex.requestId !== '') out.requestId = ex.requestId;
  return out;
}
