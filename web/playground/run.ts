/**
 * Run an export on the service that served the page (Execute over Connect, JSON, same origin) with a fresh
 * random nonce, then verify the response in the page against the request it sent: the same steps as
 * `wasmvm-tee exec --server … --json` (src/server/client.ts executeAndVerify), and the same JSON to save.
 */
import { create, toJson } from '@bufbuild/protobuf';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-web';
import {
  type AttestationMode,
  claimFromJson,
  type ExecutionClaim,
  type ExecutionMode,
  fromProtoValue,
  modeToProto,
  parseEnvelope,
  requestedAttestationToProto,
  toProtoValue,
  type WasmValue,
} from '../../src/binding/index.ts';
import { execJsonText } from '../../src/cli/exec-json.ts';
import {
  type WASMVMExecutionRequest,
  WASMVMExecutionRequestSchema,
  type WASMVMExecutionResponse,
  WASMVMExecutionResponseSchema,
  WASMVMTeeService,
} from '../../src/gen/wasmvm/v1/wasmvm_pb.ts';
import { bytesToBase64, bytesToHex } from '../../src/util/text-codec.ts';
import { type Verdict, type VerifyExecutionOptions, verifyExecution } from '../../src/verify/browser.ts';
import { verdict } from '../../src/verify/types.ts';

export interface RunInput {
  bytecode: Uint8Array;
  fn: string;
  args: WasmValue[];
  mode: ExecutionMode;
  gasLimit?: bigint;
  attestationMode: AttestationMode | 'default';
  /** Simulated roots to trust (PEM); nothing else is trusted but the pinned vendor roots. */
  trustSimulatedRoot: string[];
  policy?: VerifyExecutionOptions['policy'];
  /** The service's base URL (default: the page's origin). */
  baseUrl?: string;
}

export interface RunResult {
  request: WASMVMExecutionRequest;
  response: WASMVMExecutionResponse;
  nonceHex: string;
  outputs: WasmValue[];
  verdict: Verdict;
  /** Round trip of the call and the verification in the page, ms. */
  roundTripMs: number;
  verifyMs: number;
  /** What `exec --server … --json` prints for this call. */
  json: string;
}

export function buildRequest(input: RunInput, nonce: Uint8Array): WASMVMExecutionRequest {
  return create(WASMVMExecutionRequestSchema, {
    execution: {
      version: '1',
      requestId: '',
      bytecode: bytesToBase64(input.bytecode),
      fnName: input.fn,
      inputs: [],
      typedInputs: input.args.map(toProtoValue),
      timestamp: BigInt(Math.floor(Date.now() / 1000)),
      nonce,
    },
    runtimeConfig: {
      mode: modeToProto(input.mode),
      gasLimit: input.gasLimit !== undefined ? { useGasLimit: true, limit: input.gasLimit } : undefined,
      meter: false,
      attestationMode: requestedAttestationToProto(input.attestationMode),
      includeGpuEvidence: false,
    },
  });
}

export async function runAndVerify(input: RunInput): Promise<RunResult> {
  const client = createClient(
    WASMVMTeeService,
    createConnectTransport({ baseUrl: input.baseUrl ?? location.origin, useBinaryFormat: false }),
  );
  const nonce = crypto.getRandomValues(new Uint8Array(32));
  const request = buildRequest(input, nonce);
  const t0 = performance.now();
  const response = await client.execute(request);
  const t1 = performance.now();
  const o: VerifyExecutionOptions = {
    request: toJson(WASMVMExecutionRequestSchema, request),
    response: toJson(WASMVMExecutionResponseSchema, response),
    nonce,
  };
  if (input.trustSimulatedRoot.length > 0) o.trustSimulatedRoot = input.trustSimulatedRoot;
  if (input.policy) o.policy = input.policy;
  // the shape executeAndVerify returns: the response's own checks (none but a missing result), the evidence as a part
  const checks = response.result
    ? []
    : [{ id: 'response.result', outcome: 'fail' as const, detail: 'response has no result' }];
  const v = verdict('execution-response', checks, { parts: [await verifyExecution(undefined, o)] });
  const t2 = performance.now();
  const outputs: WasmValue[] = [];
  try {
    for (const [i, x] of (response.result?.outputValues ?? []).entries()) outputs.push(fromProtoValue(x, i));
  } catch {
    // the verdict says what is wrong with them
  }
  let claim: ExecutionClaim | undefined;
  try {
    claim = claimFromJson(parseEnvelope(response.result?.attestation).claim);
  } catch {
    // idem
  }
  const json = response.result
    ? execJsonText({ response, outputs, ...(claim ? { claim } : {}), verified: v.ok, verdict: v })
    : JSON.stringify({ error: { message: 'response has no result' } }, null, 2);
  return {
    request,
    response,
    nonceHex: bytesToHex(nonce),
    outputs,
    verdict: v,
    roundTripMs: t1 - t0,
    verifyMs: t2 - t1,
    json,
  };
}
