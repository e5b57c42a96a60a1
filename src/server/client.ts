/**
 * Typed client for wasmvm-tee (package export `wasmvm-tee/client`).
 *
 *   const client = createWasmvmClient({ baseUrl: 'http://127.0.0.1:50051', protocol: 'grpc' });
 *   const { outputs, verdict } = await executeAndVerify(client, { bytecode, fn: 'add', args: ['1', '2'] },
 *     { allowSimulated: true });
 *
 * executeAndVerify sends a fresh random nonce, then verifies the response against the request it
 * sent: the claim's input side is rebuilt from the request (bytecode hash, function, inputs, mode, gas
 * limit, nonce), REPORT_DATA is recomputed, the response's outputs must equal the claim's, and the
 * evidence is checked by src/verify's verifyExecution (pinned roots; simulated evidence rejected
 * unless allowed).
 */
import { createHash, randomBytes } from 'node:crypto';
import { create, toJson } from '@bufbuild/protobuf';
import { type Client, createClient, type Interceptor, type Transport } from '@connectrpc/connect';
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from '@connectrpc/connect-node';
import {
  type AttestationEnvelope,
  type AttestationMode,
  type ClaimInputSide,
  claimFromJson,
  type ExecutionClaim,
  type ExecutionMode,
  modeToProto,
  parseEnvelope,
  requestedAttestationToProto,
  type WasmValue,
} from '../binding/index.ts';
import {
  type WASMVMExecutionRequest,
  WASMVMExecutionRequestSchema,
  type WASMVMExecutionResponse,
  WASMVMExecutionResponseSchema,
  WASMVMTeeService,
} from '../gen/wasmvm/v1/wasmvm_pb.ts';
import {
  type Check,
  type Verdict,
  type VerifyExecutionOptions,
  verdict,
  verifyExecution,
} from '../verify/index.ts';
import { ClientError } from './errors.ts';
import type { AttestedTlsPin } from './tls-pin.ts';
import { fromProtoValue, toProtoValue } from './values.ts';

export type Protocol = 'grpc' | 'grpc-web' | 'connect';
export const PROTOCOLS: readonly Protocol[] = ['grpc', 'grpc-web', 'connect'];

export interface WasmvmClientOptions {
  /** http://host:port or https://host:port */
  baseUrl: string;
  /** Default 'grpc'. */
  protocol?: Protocol;
  /** HTTP version for grpc-web / connect (gRPC is always HTTP/2). Default '1.1'. */
  httpVersion?: '1.1' | '2';
  /** Connect only: binary protobuf instead of JSON (default JSON). */
  useBinaryFormat?: boolean;
  /** TLS: extra trusted CA (PEM), e.g. for a self-signed server certificate. */
  ca?: string | Buffer;
  /** TLS: skip certificate verification (testing only). */
  insecureSkipVerify?: boolean;
  interceptors?: Interceptor[];
  /** Largest response accepted, bytes (default 64 MiB). */
  readMaxBytes?: number;
  /**
   * Attested TLS (https only; docs/sealed-execution.md): connect through this pin instead of verifying a
   * certificate chain. Until `attestTls` (or `attestForSealing` with `attestedTls`) verified the session
   * and pinned its TLS key, only GetAttestation is sent; then every connection must end at the attested
   * key. Replaces `ca` / `insecureSkipVerify`; grpc-web and connect use HTTP/2.
   */
  attestedTls?: AttestedTlsPin;
}

export type WasmvmClient = Client<typeof WASMVMTeeService>;

export function createWasmvmTransport(opts: WasmvmClientOptions): Transport {
  const protocol = opts.protocol ?? 'grpc';
  const tls = opts.baseUrl.startsWith('https:');
  // HTTP/2 session memory (MiB): with Node's default (10) a session that sends one large request
  // fails with ENHANCE_YOUR_CALM.
  const pin = opts.attestedTls;
  if (pin && !tls)
    throw new ClientError(
      'TLS_KEY_NOT_ATTESTED',
      `attested TLS needs an https:// URL, got '${opts.baseUrl}'`,
    );
  const interceptors = [...(pin ? [pin.interceptor] : []), ...(opts.interceptors ?? [])];
  const readMaxBytes = opts.readMaxBytes ?? 64 * 1024 * 1024;
  if (pin) {
    // Every connection through the pin (tls-pin.ts), HTTP/2 only.
    const common = {
      baseUrl: opts.baseUrl,
      interceptors,
      readMaxBytes,
      httpVersion: '2' as const,
      nodeOptions: { maxSessionMemory: 128, createConnection: pin.createConnection },
    };
    if (protocol === 'grpc') return createGrpcTransport(common);
    if (protocol === 'grpc-web') return createGrpcWebTransport(common);
    if (protocol === 'connect')
      return createConnectTransport({ ...common, useBinaryFormat: opts.useBinaryFormat ?? false });
  }
  const nodeOptions = {
    maxSessionMemory: 128,
    ...(tls && opts.ca ? { ca: opts.ca } : {}),
    ...(tls && opts.insecureSkipVerify ? { rejectUnauthorized: false } : {}),
  };
  const common = { baseUrl: opts.baseUrl, interceptors, readMaxBytes, nodeOptions };
  switch (protocol) {
    case 'grpc':
      return createGrpcTransport(common);
    case 'grpc-web':
      return createGrpcWebTransport({ ...common, httpVersion: opts.httpVersion ?? '1.1' });
    case 'connect':
      return createConnectTransport({
        ...common,
        httpVersion: opts.httpVersion ?? '1.1',
        useBinaryFormat: opts.useBinaryFormat ?? false,
      });
    default:
      throw new ClientError(
        'UNKNOWN_PROTOCOL',
        `unknown protocol '${String(protocol)}' (grpc, grpc-web, connect)`,
      );
  }
}

export function createWasmvmClient(opts: WasmvmClientOptions): WasmvmClient {
  return createClient(WASMVMTeeService, createWasmvmTransport(opts));
}

export interface ExecuteInput {
  bytecode: Uint8Array;
  fn: string;
  /** Legacy strings (parsed by the export's types) or typed values. */
  args?: readonly string[] | readonly WasmValue[];
  mode?: ExecutionMode;
  gasLimit?: bigint;
  /** Count gas without a limit. */
  meter?: boolean;
  attestationMode?: AttestationMode;
  includeGpuEvidence?: boolean;
  /** Client nonce; default: 32 fresh random bytes. */
  nonce?: Uint8Array;
  requestId?: string;
  /** Send bytecode as the original base64 string (default) or as raw bytes. */
  bytecodeEncoding?: 'base64' | 'raw';
  /** Client deadline, ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

function isTyped(args: ExecuteInput['args']): args is readonly WasmValue[] {
  return Array.isArray(args) && args.length > 0 && typeof args[0] === 'object';
}

/** Build the protobuf request (exactly what is sent). */
export function buildExecuteRequest(input: ExecuteInput & { nonce: Uint8Array }): WASMVMExecutionRequest {
  const args = input.args ?? [];
  const typed = isTyped(args);
  const raw = input.bytecodeEncoding === 'raw';
  return create(WASMVMExecutionRequestSchema, {
    execution: {
      version: '1',
      requestId: input.requestId ?? '',
      bytecode: raw ? '' : Buffer.from(input.bytecode).toString('base64'),
      bytecodeRaw: raw ? input.bytecode : new Uint8Array(0),
      fnName: input.fn,
      inputs: typed ? [] : (args as readonly string[]).map(String),
      typedInputs: typed ? args.map(toProtoValue) : [],
      timestamp: BigInt(Math.floor(Date.now() / 1000)),
      nonce: input.nonce,
    },
    runtimeConfig: {
      mode: modeToProto(input.mode ?? 'interp'),
      gasLimit: input.gasLimit !== undefined ? { useGasLimit: true, limit: input.gasLimit } : undefined,
      meter: input.meter ?? false,
      attestationMode: requestedAttestationToProto(input.attestationMode ?? 'default'),
      includeGpuEvidence: input.includeGpuEvidence ?? false,
    },
  });
}

/** What the client expects in the claim's input side, from the request it sent (binding's model). */
export type ExpectedInputs = Pick<
  ClaimInputSide,
  'bytecodeSha256' | 'fn' | 'inputs' | 'mode' | 'gasLimit' | 'nonce'
>;

export function expectedInputs(input: ExecuteInput & { nonce: Uint8Array }): ExpectedInputs {
  const args = input.args ?? [];
  const e: ExpectedInputs = {
    bytecodeSha256: createHash('sha256').update(input.bytecode).digest('hex'),
    fn: input.fn,
    inputs: isTyped(args) ? [...args] : { legacy: (args as readonly string[]).map(String) },
    mode: input.mode ?? 'interp',
    nonce: input.nonce,
  };
  if (input.gasLimit !== undefined) e.gasLimit = input.gasLimit;
  return e;
}

/**
 * Parse the response's envelope and claim (no verification: executeAndVerify runs verifyExecution, which
 * compares every response field with the claim, the request and the nonce). Kept for callers that only
 * need the claim; a failed parse is a failed check.
 */
export function checkBinding(
  _expected: ExpectedInputs,
  res: WASMVMExecutionResponse,
): { checks: Check[]; envelope?: AttestationEnvelope; claim?: ExecutionClaim } {
  const r = res.result;
  if (!r) return { checks: [{ id: 'response.result', outcome: 'fail', detail: 'response has no result' }] };
  try {
    const envelope = parseEnvelope(r.attestation);
    const claim = claimFromJson(envelope.claim);
    return { checks: [], envelope, claim };
  } catch (e) {
    return { checks: [{ id: 'binding.envelope', outcome: 'fail', detail: (e as Error).message }] };
  }
}

/** Options for the evidence verification (passed to src/verify's verifyExecution). */
export interface VerifyOptions {
  /** Accept evidence signed by the simulated TEE's root (testing only). */
  allowSimulated?: boolean;
  /** PEM/DER of a simulated root to trust (instead of allowSimulated). */
  trustSimulatedRoot?: Uint8Array | string;
  /** Skip verification entirely (--no-verify): the result says verified: false, "NOT VERIFIED (skipped)". */
  skipEvidence?: boolean;
  /** Anything else verifyExecution accepts. */
  extra?: Record<string, unknown>;
}

export interface ExecuteAndVerifyResult {
  request: WASMVMExecutionRequest;
  response: WASMVMExecutionResponse;
  outputs: WasmValue[];
  status: string;
  gasUsed?: bigint;
  verdict: Verdict;
  /** True only when verification ran and passed (false when skipped with skipEvidence). */
  verified: boolean;
  claim?: ExecutionClaim;
  envelope?: AttestationEnvelope;
}

/** Send a request with a fresh nonce and verify the response against it. */
export async function executeAndVerify(
  client: WasmvmClient,
  input: ExecuteInput,
  verify: VerifyOptions = {},
): Promise<ExecuteAndVerifyResult> {
  const withNonce = { ...input, nonce: input.nonce ?? new Uint8Array(randomBytes(32)) };
  const request = buildExecuteRequest(withNonce);
  const callOpts: { timeoutMs?: number; signal?: AbortSignal } = {};
  if (input.timeoutMs !== undefined) callOpts.timeoutMs = input.timeoutMs;
  if (input.signal) callOpts.signal = input.signal;
  const response = await client.execute(request, callOpts);
  return verifyResponse(request, response, withNonce, verify);
}

/**
 * Verify a response against the request that was sent (executeAndVerify's second half; also what
 * executeSealedAndVerify runs on the opened response). `extraChecks` are added to the verdict.
 */
export async function verifyResponse(
  request: WASMVMExecutionRequest,
  response: WASMVMExecutionResponse,
  sent: ExecuteInput & { nonce: Uint8Array },
  verify: VerifyOptions = {},
  extraChecks: (claim: ExecutionClaim | undefined) => Check[] = () => [],
): Promise<ExecuteAndVerifyResult> {
  const { checks, envelope, claim } = checkBinding(expectedInputs(sent), response);
  let v: Verdict;
  let verified = false;
  if (verify.skipEvidence) {
    checks.push({
      id: 'verification',
      outcome: 'skip',
      detail: 'NOT VERIFIED (skipped: --no-verify): nothing in this response was checked',
    });
    checks.push(...extraChecks(claim));
    v = verdict('execution-response', checks);
  } else {
    const o: VerifyExecutionOptions = {
      request: toJson(WASMVMExecutionRequestSchema, request),
      response: toJson(WASMVMExecutionResponseSchema, response),
      nonce: sent.nonce,
      ...(verify.extra ?? {}),
    };
    if (verify.allowSimulated) o.allowSimulated = true;
    if (verify.trustSimulatedRoot !== undefined) o.trustSimulatedRoot = verify.trustSimulatedRoot;
    checks.push(...extraChecks(claim));
    v = verdict('execution-response', checks, { parts: [await verifyExecution(undefined, o)] });
    verified = v.ok;
  }
  const r = response.result!;
  const outputs: WasmValue[] = [];
  try {
    for (const [i, v] of (r?.outputValues ?? []).entries()) outputs.push(fromProtoValue(v, i));
  } catch {
    // reported by checkBinding
  }
  const out: ExecuteAndVerifyResult = {
    request,
    response,
    outputs,
    status: r?.status ?? '',
    verdict: v,
    verified,
  };
  if (r?.gasUsed !== undefined) out.gasUsed = r.gasUsed;
  if (claim) out.claim = claim;
  if (envelope) out.envelope = envelope;
  return out;
}

export { ClientError, type ClientErrorCode } from './errors.ts';
// Sealed execution (src/server/sealed-client.ts, docs/sealed-execution.md).
export {
  type AttestedServer,
  attestForSealing,
  attestServer,
  attestTls,
  executeSealedAndVerify,
  type SealedExecuteResult,
  type SealedSession,
  type SealingPolicy,
} from './sealed-client.ts';
// Many replicas: per-replica attested session cache (src/server/session-cache.ts).
export {
  type CachedExecuteResult,
  type ReplicaSession,
  SessionCache,
  type SessionCacheOptions,
  sessionId,
} from './session-cache.ts';
// Attested TLS (src/server/tls-pin.ts): pin the TLS peer to the key the session attests.
export { AttestedTlsPin, peerSpkiSha256 } from './tls-pin.ts';
