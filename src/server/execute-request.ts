/**
 * The Execute handler, one named function per step (docs/server.md):
 *
 *   admit (draining? → parseExecute: decode and validate, before taking a slot → request id)
 *   → runExecution (concurrency slot, engine.execute with the client's deadline as AbortSignal, metrics)
 *   → buildClaim (the canonical claim draft, src/binding)
 *   → attest (per-request evidence or session-key signature)
 *   → respond (every shown field the attested claim's).
 *
 * Traps are results (status + trap_message, attested); request errors are ServiceErrors with a stable
 * code (errors.ts).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { create } from '@bufbuild/protobuf';
import type { HandlerContext } from '@connectrpc/connect';
import {
  type AttestationEnvelope,
  type AttestationMode,
  attestationModeToProto,
  type ClaimDraft,
  type ClaimInputSide,
  type ClaimRequest,
  claimFromExecution,
  type ExecutionClaim,
  encodeClaim,
  readExecuteRequest,
  reportDataFor,
} from '../binding/index.ts';
import type { ExecuteRequest, ExecuteResult } from '../engine/index.ts';
import {
  TimingSchema,
  type WASMVMExecutionRequest,
  type WASMVMExecutionResponse,
  WASMVMExecutionResponseSchema,
  WASMVMExecutionResultSchema,
} from '../gen/wasmvm/v1/wasmvm_pb.ts';
import { type RequestInfo, requestInfoKey, type ServiceConfig, type ServiceDeps } from './context.ts';
import { REQUEST_ID_HEADER, ServiceError } from './errors.ts';
import { base64Bytes, envelopeEvidence, envelopeJson } from './evidence-proto.ts';
import { importModules } from './imports.ts';
import { guestAttestationsToProto } from './receipts-proto.ts';
import { SpanStatusCode, tracer } from './tracing.ts';
import { modeToProto, toProtoValue } from './values.ts';
import { webgpuUsageToProto } from './webgpu-proto.ts';

const MAX_REQUEST_ID = 128;
const MAX_INPUTS = 1000;

/** Validated, decoded Execute request. */
export interface ParsedExecute {
  requestId: string;
  bytecode: Uint8Array;
  /**
   * The claim's input side as the request sets it (binding's model; the bytecode hash is the engine's).
   * Its `inputs` are also the engine's arguments; `meter` and `attestationRequested` are as sent.
   */
  input: Omit<ClaimInputSide, 'bytecodeSha256'>;
  /** The inputs as the response echoes them (legacy strings). */
  inputStrings: string[];
  /** The engine meters: a gas limit, or runtime_config.meter. */
  meter: boolean;
  /** The attestation mode that runs: the one asked for, or the server's default. */
  attestationMode: AttestationMode;
}

/**
 * Step 1, decode and validate: the request's fields, checked before a slot is taken. The reading is
 * binding's (the verifier reads a saved request with the same function); the service adds its limits.
 */
export function parseExecute(req: WASMVMExecutionRequest, cfg: ServiceConfig): ParsedExecute {
  const r = readExecuteRequest(req, {
    maxBytecodeBytes: cfg.maxBytecodeBytes,
    maxNonceBytes: cfg.maxNonceBytes,
    maxInputs: MAX_INPUTS,
    maxRequestIdChars: MAX_REQUEST_ID,
  });
  const { input } = r;
  return {
    requestId: r.requestId || randomUUID(),
    bytecode: r.bytecode,
    input,
    inputStrings: r.inputStrings,
    meter: input.gasLimit !== undefined || input.meter,
    attestationMode:
      input.attestationRequested === 'default' ? cfg.defaultAttestationMode : input.attestationRequested,
  };
}

function abortError(signal: AbortSignal, draining = false): unknown {
  if (draining) return new ServiceError('SHUTTING_DOWN', 'server shut down before the execution finished');
  const r = signal.reason as { code?: unknown } | undefined;
  // ConnectError from the handler's deadline (Code.DeadlineExceeded = 4) or client cancel.
  if (r && typeof r === 'object' && r.code === 4)
    return new ServiceError('DEADLINE_EXCEEDED', 'client deadline exceeded');
  return new ServiceError('CANCELLED', 'request cancelled by the client');
}

/** The engine's result and how long it took. */
interface Execution {
  result: ExecuteResult;
  /** Waiting for a concurrency slot. */
  queueMs: number;
  executeMs: number;
}

/** The attested claim, its envelope, and how long attesting took. */
interface Attested {
  envelope: AttestationEnvelope;
  claim: ExecutionClaim;
  /** Hex REPORT_DATA of the claim. */
  reportDataHex: string;
  attestMs: number;
}

/** Step 1: refuse while draining, decode and validate the request, name it (request id header). */
function admit(
  req: WASMVMExecutionRequest,
  ctx: HandlerContext,
  deps: ServiceDeps,
  info: RequestInfo | undefined,
): ParsedExecute {
  if (info && req.execution?.requestId) info.requestId = req.execution.requestId.slice(0, MAX_REQUEST_ID);
  if (deps.isDraining()) throw new ServiceError('SHUTTING_DOWN', 'server is shutting down');
  const p = parseExecute(req, deps.config);
  if (info) {
    info.requestId = p.requestId;
    info.attestationMode = p.attestationMode;
  }
  ctx.responseHeader.set(REQUEST_ID_HEADER, p.requestId);
  return p;
}

/** The engine request of a parsed Execute: limits from the config, host modules the guest imports. */
function engineRequest(p: ParsedExecute, ctx: HandlerContext, deps: ServiceDeps): ExecuteRequest {
  const { backend, config } = deps;
  const ereq: ExecuteRequest = {
    bytecode: p.bytecode,
    fn: p.input.fn,
    args: p.input.inputs,
    mode: p.input.mode,
    meter: p.meter,
    signal: ctx.signal,
    limits: { maxBytecodeBytes: config.maxBytecodeBytes, timeoutMs: config.timeoutMs },
  };
  if (config.maxMemoryPages !== undefined)
    ereq.limits = { ...ereq.limits, maxMemoryPages: config.maxMemoryPages };
  if (p.input.gasLimit !== undefined) ereq.gasLimit = p.input.gasLimit;
  const modules = backend.hostSetup ? importModules(p.bytecode) : [];
  if (modules.length > 0) {
    const host = backend.hostSetup?.(modules, { requestId: p.requestId });
    if (host && host.hostModules.length > 0) {
      ereq.hostModules = host.hostModules;
      ereq.hostOptions = host.hostOptions;
    }
  }
  return ereq;
}

/** Step 2: take a concurrency slot, run the engine under the client's deadline, record the metrics. */
async function runExecution(
  p: ParsedExecute,
  ctx: HandlerContext,
  deps: ServiceDeps,
  info: RequestInfo | undefined,
  sealed = false,
): Promise<Execution> {
  const { backend, limiter, metrics } = deps;
  const tQueue = performance.now();
  // A sealed run shows nothing of its request or result: no mode, status, gas or cache labels.
  const modeLabel = sealed ? 'sealed' : p.input.mode;
  const queueSpan = tracer().startSpan('wasmvm.queue', { attributes: { 'wasmvm.mode': modeLabel } });
  const release = await limiter.acquire(ctx.signal, info?.client ?? '').catch((e: unknown) => {
    queueSpan.setStatus({
      code: SpanStatusCode.ERROR,
      message: (e as { code?: string }).code ?? 'CANCELLED',
    });
    queueSpan.end();
    if (e instanceof ServiceError) {
      metrics.rejected.inc({ reason: e.code === 'CLIENT_QUOTA' ? 'client_quota' : 'concurrency' });
      throw e;
    }
    throw abortError(ctx.signal, deps.isDraining());
  });
  metrics.executing.set(limiter.running);
  metrics.queued.set(limiter.queued);
  let result: ExecuteResult;
  const tExec = performance.now();
  const queueMs = tExec - tQueue;
  metrics.queueWait.observe(queueMs / 1000, { mode: modeLabel });
  queueSpan.end();
  const execSpan = tracer().startSpan('wasmvm.execute', { attributes: { 'wasmvm.mode': modeLabel } });
  try {
    result = await backend.engine.execute(engineRequest(p, ctx, deps));
    if (!sealed)
      execSpan.setAttributes({
        'wasmvm.status': result.status,
        'wasmvm.executed_mode': result.mode,
        'wasmvm.cache_hit': result.cacheHit,
      });
  } catch (e) {
    execSpan.setStatus({ code: SpanStatusCode.ERROR, message: (e as { code?: string }).code ?? 'ERROR' });
    throw e;
  } finally {
    execSpan.end();
    release();
    metrics.executing.set(limiter.running);
    metrics.queued.set(limiter.queued);
  }
  const executeMs = performance.now() - tExec;
  if (ctx.signal.aborted) throw abortError(ctx.signal, deps.isDraining());
  if (sealed) return { result, queueMs, executeMs };
  metrics.executions.inc({ status: result.status });
  metrics.executeLatency.observe(executeMs / 1000, { mode: result.mode, status: result.status });
  metrics.cache.inc({ result: result.cacheHit ? 'hit' : 'miss' });
  if (result.gasUsed !== undefined) {
    metrics.gasUsed.observe(Number(result.gasUsed));
    metrics.gasTotal.inc({}, Number(result.gasUsed));
  }
  if (info) {
    info.status = result.status;
    info.cacheHit = result.cacheHit;
    if (result.gasUsed !== undefined) info.gasUsed = result.gasUsed;
  }
  return { result, queueMs, executeMs };
}

/** Step 3: the claim draft from the request as the client sent it and the engine's result. */
function buildClaim(p: ParsedExecute, result: ExecuteResult): ClaimDraft {
  const claimReq: ClaimRequest = {
    ...p.input,
    bytecodeSha256: result.bytecodeSha256,
    requestId: p.requestId,
  };
  return claimFromExecution(claimReq, result);
}

/** Step 4: attest the draft (ATTESTATION_FAILED for anything the attester throws but a ServiceError). */
async function attest(
  draft: ClaimDraft,
  p: ParsedExecute,
  ctx: HandlerContext,
  deps: ServiceDeps,
  sealedRequestSha256?: string,
  sealKeyId?: string,
): Promise<Attested> {
  const tAttest = performance.now();
  const sealed = sealedRequestSha256 !== undefined;
  const span = tracer().startSpan('wasmvm.attest', {
    attributes: sealed
      ? { 'wasmvm.mode': 'sealed' }
      : { 'wasmvm.attestation_mode': p.attestationMode, 'wasmvm.gpu_evidence': p.input.gpuRequested },
  });
  let envelope: AttestationEnvelope;
  let claim: ExecutionClaim;
  try {
    ({ envelope, claim } = await deps.backend.attester.attestExecution(draft, p.attestationMode, {
      includeGpuEvidence: p.input.gpuRequested,
      signal: ctx.signal,
      ...(sealedRequestSha256 !== undefined ? { sealedRequestSha256 } : {}),
      ...(sealKeyId !== undefined ? { sessionKeyId: sealKeyId } : {}),
    }));
  } catch (e) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'ATTESTATION_FAILED' });
    if (e instanceof ServiceError) throw e;
    throw new ServiceError(
      'ATTESTATION_FAILED',
      sealed ? 'attestation failed (sealed request)' : `attestation failed: ${(e as Error).message}`,
    );
  } finally {
    span.end();
  }
  const attestMs = performance.now() - tAttest;
  // The attester computed reportDataFor(claim) for the envelope already.
  const reportDataHex = /^[0-9a-f]{128}$/.test(envelope.reportData)
    ? envelope.reportData
    : Buffer.from(reportDataFor(claim)).toString('hex');
  deps.metrics.attestLatency.observe(attestMs / 1000, { mode: sealed ? 'sealed' : p.attestationMode });
  return { envelope, claim, reportDataHex, attestMs };
}

/** Step 5: the response; every shown field is the attested claim's (verifiers compare each one with it). */
function respond(p: ParsedExecute, run: Execution, a: Attested, t0: number): WASMVMExecutionResponse {
  const { envelope, claim } = a;
  const result = create(WASMVMExecutionResultSchema, {
    inputs: p.inputStrings,
    outputValues: claim.outputs.map(toProtoValue),
    attestation: envelopeJson(envelope),
    reportData: a.reportDataHex,
    status: claim.status,
    trapMessage: claim.trapMessage ?? '',
    costTableVersion: claim.costTableVersion ?? '',
    bytecodeSha256: claim.bytecodeSha256,
    mode: modeToProto(claim.executedMode),
    attestationMode: attestationModeToProto(envelope.mode),
    claim: encodeClaim(claim),
    claimSignature: base64Bytes(envelope.signature),
    evidence: envelopeEvidence(envelope),
    simulated: claim.simulated,
    nonce: claim.nonce ?? new Uint8Array(0),
    timing: create(TimingSchema, {
      totalUs: BigInt(Math.round((performance.now() - t0) * 1000)),
      queueUs: BigInt(Math.round(run.queueMs * 1000)),
      executeUs: BigInt(Math.round(run.executeMs * 1000)),
      attestUs: BigInt(Math.round(a.attestMs * 1000)),
      cacheHit: run.result.cacheHit,
    }),
  });
  if (claim.gasUsed !== undefined) result.gasUsed = claim.gasUsed;
  if (claim.exitCode !== undefined) result.exitCode = claim.exitCode;
  if (claim.webgpu !== undefined) result.webgpu = webgpuUsageToProto(claim.webgpu);
  if (claim.serverBuildSha256 !== undefined) result.serverBuildSha256 = claim.serverBuildSha256;
  if (claim.guestAttestations !== undefined)
    result.guestAttestations = guestAttestationsToProto(claim.guestAttestations);
  return create(WASMVMExecutionResponseSchema, { requestId: p.requestId, result });
}

/** The Execute handler: the five steps in order. */
export async function executeRequest(
  req: WASMVMExecutionRequest,
  ctx: HandlerContext,
  deps: ServiceDeps,
): Promise<WASMVMExecutionResponse> {
  const t0 = performance.now();
  const info = ctx.values.get(requestInfoKey);
  const p = admit(req, ctx, deps, info);
  const run = await runExecution(p, ctx, deps, info);
  const draft = buildClaim(p, run.result);
  const attested = await attest(draft, p, ctx, deps);
  return respond(p, run, attested, t0);
}

/**
 * A sealed request's execution (src/server/sealed.ts): the same steps as Execute, but nothing of the
 * request names it outside (no request id header or log field, no content metrics or span attributes),
 * and the claim binds the sealed request's digest (claim field 21).
 */
export async function executeSealedPayload(
  req: WASMVMExecutionRequest,
  ctx: HandlerContext,
  deps: ServiceDeps,
  sealedRequestSha256: string,
  sealKeyId: string,
): Promise<WASMVMExecutionResponse> {
  const t0 = performance.now();
  if (deps.isDraining()) throw new ServiceError('SHUTTING_DOWN', 'server is shutting down');
  const p = parseExecute(req, deps.config);
  const run = await runExecution(p, ctx, deps, undefined, true);
  const draft = buildClaim(p, run.result);
  const attested = await attest(draft, p, ctx, deps, sealedRequestSha256, sealKeyId);
  return respond(p, run, attested, t0);
}
