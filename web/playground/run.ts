/**
 * Run an export on the service that served the page (Execute over Connect, JSON, same origin) with a fresh
 * random nonce, then verify the response in the page against the request it sent: the same steps as
 * `wasmvm-tee exec --server … --json` (src/server/client.ts executeAndVerify), and the same JSON to save.
 *
 * Sealed mode (`exec --server … --seal`): the page fetches GetAttestation with a fresh nonce and verifies
 * it here (evidence, REPORT_DATA, trusted roots, policy) before anything is sealed; then the request is
 * sealed (HPKE) to the attested key with a fresh response key, sent over ExecuteSealed, opened here, and
 * verified as above plus the sealed checks (the claim binds the sealed request's digest, was issued inside
 * the key's validity, by the attested session). The host sees only ciphertext and public metadata.
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
import {
  openSealedResponse,
  type SealingPolicy,
  sealingNonce,
  sealRequest,
  type Verdict,
  type VerifyExecutionOptions,
  verifyExecution,
  verifySealedResponse,
  verifySealingAttestation,
} from '../../src/verify/browser.ts';
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
  /** Sealed execution: verify the attested key here, then send only ciphertext (ExecuteSealed). */
  sealed?: boolean;
}

/** What sealed mode adds to a result. */
export interface SealedInfo {
  keyId: string;
  suite: string;
  /** The claim's sealedRequestSha256: the digest of the ciphertext sent, hex. */
  sealedRequestSha256: string;
  /** Bytes that crossed the host (enc + ciphertext), each way. */
  requestBytes: number;
  responseBytes: number;
  /** Fetching and verifying the attestation in the page before sealing, ms. */
  attestMs: number;
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
  sealed?: SealedInfo;
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
  const nonce = sealingNonce();
  const request = buildRequest(input, nonce);
  let response: WASMVMExecutionResponse;
  let v: Verdict;
  let sealed: SealedInfo | undefined;
  let t1: number;
  let t0: number;
  if (input.sealed) {
    const policy: SealingPolicy = {};
    if (input.trustSimulatedRoot.length > 0) policy.trustSimulatedRoot = input.trustSimulatedRoot;
    if (input.policy) policy.policy = input.policy;
    // nothing leaves the page until the attested key verified here
    const ta = performance.now();
    const attNonce = sealingNonce();
    const att = await client.getAttestation({ nonce: attNonce });
    const session = await verifySealingAttestation(att.attestation, attNonce, policy);
    const s = await sealRequest(session, request);
    t0 = performance.now();
    const res = await client.executeSealed(s.message);
    t1 = performance.now();
    response = await openSealedResponse(s, res);
    v = (await verifySealedResponse(s, response, policy)).verdict;
    sealed = {
      keyId: session.keyId,
      suite: session.suite,
      sealedRequestSha256: s.digestHex,
      requestBytes: s.message.enc.length + s.message.ciphertext.length,
      responseBytes: res.enc.length + res.ciphertext.length,
      attestMs: t0 - ta,
    };
  } else {
    t0 = performance.now();
    response = await client.execute(request);
    t1 = performance.now();
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
    v = verdict('execution-response', checks, { parts: [await verifyExecution(undefined, o)] });
  }
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
    ...(sealed ? { sealed } : {}),
  };
}
