/**
 * WASMVMTeeService: Execute, GetAttestation, GetServerInfo, Echo.
 *
 * Execute: validate (→ INVALID_ARGUMENT & co, before taking a slot) → concurrency slot (TOO_BUSY) →
 * engine.execute with the client's deadline as AbortSignal → the canonical claim (src/binding) →
 * attestation (per-request evidence or session-key signature) → response.
 * Traps are results (status + trap_message, attested); request errors are gRPC errors with a
 * stable detail code (errors.ts, docs/server.md).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { create } from '@bufbuild/protobuf';
import type { ConnectRouter, HandlerContext } from '@connectrpc/connect';
import { createContextKey } from '@connectrpc/connect';
import {
  type AttestationEnvelope,
  type AttestationMode,
  type ClaimInputs,
  claimFromExecution,
  type EvidenceJson,
  type ExecutionClaim,
  encodeClaim,
  type RequestedAttestation,
  reportDataFor,
} from '../binding/index.ts';
import type { ExecuteRequest, ExecutionMode, WasmValue } from '../engine/index.ts';
import {
  type EchoRequest,
  EchoResponseSchema,
  type Evidence,
  EvidenceSchema,
  type GetAttestationRequest,
  GetAttestationResponseSchema,
  GetServerInfoResponseSchema,
  AttestationMode as ProtoAttestationMode,
  ServerLimitsSchema,
  TimingSchema,
  type WASMVMExecutionRequest,
  WASMVMExecutionResponseSchema,
  WASMVMExecutionResultSchema,
  WASMVMMode,
  WASMVMTeeService,
} from '../gen/wasmvm/v1/wasmvm_pb.ts';
import { VERSION } from '../version.ts';
import type { Backend } from './backend.ts';
import { REQUEST_ID_HEADER, ServiceError } from './errors.ts';
import { importModules } from './imports.ts';
import type { Limiter } from './limiter.ts';
import type { ServerMetrics } from './metrics.ts';
import {
  decodeBase64Strict,
  fromProtoValue,
  modeFromProto,
  modeToProto,
  toProtoValue,
  valueToString,
} from './values.ts';
import { webgpuStatusToProto, webgpuUsageToProto } from './webgpu-proto.ts';

/** Per-request facts the logging interceptor reads (set by the handlers). */
export interface RequestInfo {
  requestId?: string;
  gasUsed?: bigint;
  status?: string;
  cacheHit?: boolean;
  attestationMode?: AttestationMode;
  /** The client's quota key (its address; set by the server). */
  client?: string;
}
export const requestInfoKey = createContextKey<RequestInfo | undefined>(undefined, {
  description: 'wasmvm request info',
});

export interface ServiceConfig {
  maxBytecodeBytes: number;
  maxMessageBytes: number;
  timeoutMs: number;
  maxMemoryPages?: number;
  defaultAttestationMode: AttestationMode;
  maxNonceBytes: number;
}

const MAX_REQUEST_ID = 128;
const MAX_INPUTS = 1000;

/** What a request's AttestationMode asked for (binding's table); UNSUPPORTED_ATTESTATION for an unknown one. */
export function requestedAttestationOf(m: ProtoAttestationMode): RequestedAttestation {
  const r = requestedAttestationFromProto(m);
  if (r === undefined) throw new ServiceError('UNSUPPORTED_ATTESTATION', `unknown attestation mode ${m}`);
  return r;
}

export { attestationModeToProto };

function fromB64(s: string | undefined): Uint8Array {
  return s ? new Uint8Array(Buffer.from(s, 'base64')) : new Uint8Array(0);
}

/** The envelope's evidence in structured form. */
export function structuredEvidence(
  ev: EvidenceJson | undefined,
  extra: { sessionPublicKey?: string; reportData?: Uint8Array; gpu?: unknown[] },
): Evidence {
  const e = create(EvidenceSchema, {});
  if (ev) {
    e.teeKind = ev.kind;
    e.simulated = ev.simulated;
    e.provider = ev.provider;
    e.report = fromB64(ev.report);
    e.vcek = fromB64(ev.certs?.vcek);
    e.vlek = fromB64(ev.certs?.vlek);
    e.ask = fromB64(ev.certs?.ask);
    e.ark = fromB64(ev.certs?.ark);
  }
  if (extra.sessionPublicKey) e.sessionPublicKey = fromB64(extra.sessionPublicKey);
  if (extra.reportData) e.reportData = Buffer.from(extra.reportData).toString('hex');
  if (extra.gpu && extra.gpu.length > 0) e.gpuEvidence = JSON.stringify(extra.gpu);
  return e;
}

/**
 * The session part of session-key envelopes (the key and its ~7 KB of CPU evidence) is the same object
 * for every execution of a key epoch: serialize it once per epoch.
 */
const sessionJsonCache = new WeakMap<object, string>();

/**
 * JSON.stringify(envelope), byte for byte (same keys in the same order, undefined members left out),
 * with the session member's serialization reused from `sessionJsonCache`.
 */
export function envelopeJson(envelope: AttestationEnvelope): string {
  const session = envelope.session;
  if (!session) return JSON.stringify(envelope);
  let sessionJson = sessionJsonCache.get(session);
  if (sessionJson === undefined) {
    sessionJson = JSON.stringify(session);
    sessionJsonCache.set(session, sessionJson);
  }
  let out = '{';
  for (const [k, v] of Object.entries(envelope)) {
    const j = k === 'session' ? sessionJson : (JSON.stringify(v) as string | undefined);
    if (j === undefined) continue;
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(k)}:${j}`;
  }
  return `${out}}`;
}

/** Structured evidence of a session's evidence object (same object for a whole key epoch), per key. */
const evidenceCache = new WeakMap<object, { spki: string; msg: Evidence }>();

/** Validated, decoded Execute request. */
export interface ParsedExecute {
  requestId: string;
  bytecode: Uint8Array;
  fn: string;
  args: readonly WasmValue[] | { legacy: readonly string[] };
  claimInputs: ClaimInputs;
  inputStrings: string[];
  mode: ExecutionMode;
  gasLimit?: bigint;
  meter: boolean;
  nonce?: Uint8Array;
  attestationMode: AttestationMode;
  /** What the request asked for ('default' = UNSPECIFIED), as bound in the claim's input side. */
  attestationRequested: RequestedAttestation;
  /** runtime_config.meter as sent (claim input side). */
  meterRequested: boolean;
  includeGpuEvidence: boolean;
}

export function parseExecute(req: WASMVMExecutionRequest, cfg: ServiceConfig): ParsedExecute {
  const ex = req.execution;
  if (!ex) throw new ServiceError('MISSING_EXECUTION', 'execution is required');
  if (ex.requestId.length > MAX_REQUEST_ID)
    throw new ServiceError('INVALID_ARGUMENT', `request_id longer than ${MAX_REQUEST_ID} characters`);
  const requestId = ex.requestId || randomUUID();
  if (!ex.fnName) throw new ServiceError('MISSING_FUNCTION', 'fn_name is required');
  if (ex.bytecode && ex.bytecodeRaw.length > 0)
    throw new ServiceError('BYTECODE_CONFLICT', 'set bytecode (base64) or bytecode_raw, not both');
  // Size check before decoding: base64 of N bytes is 4*ceil(N/3) characters.
  if (ex.bytecode.length > Math.ceil(cfg.maxBytecodeBytes / 3) * 4 + 1024)
    throw new ServiceError('BYTECODE_TOO_LARGE', `bytecode larger than ${cfg.maxBytecodeBytes} bytes`);
  const bytecode = ex.bytecode ? decodeBase64Strict(ex.bytecode, 'bytecode') : ex.bytecodeRaw;
  if (bytecode.length === 0) throw new ServiceError('MISSING_BYTECODE', 'bytecode is required');
  if (bytecode.length > cfg.maxBytecodeBytes)
    throw new ServiceError(
      'BYTECODE_TOO_LARGE',
      `bytecode is ${bytecode.length} bytes, the limit is ${cfg.maxBytecodeBytes}`,
    );
  if (ex.inputs.length > 0 && ex.typedInputs.length > 0)
    throw new ServiceError('INPUTS_CONFLICT', 'set inputs (strings) or typed_inputs, not both');
  if (ex.inputs.length + ex.typedInputs.length > MAX_INPUTS)
    throw new ServiceError('INVALID_ARGUMENT', `more than ${MAX_INPUTS} inputs`);
  let args: ParsedExecute['args'];
  let claimInputs: ClaimInputs;
  let inputStrings: string[];
  if (ex.typedInputs.length > 0) {
    const typed = ex.typedInputs.map((v, i) => fromProtoValue(v, i));
    args = typed;
    claimInputs = typed;
    inputStrings = typed.map(valueToString);
  } else {
    const legacy = [...ex.inputs];
    args = { legacy };
    claimInputs = { legacy };
    inputStrings = legacy;
  }
  if (ex.nonce.length > cfg.maxNonceBytes)
    throw new ServiceError('INVALID_NONCE', `nonce longer than ${cfg.maxNonceBytes} bytes`);
  const rc = req.runtimeConfig;
  const mode = modeFromProto(rc?.mode ?? WASMVMMode.WASMVM_MODE_INTERP_UNSPECIFIED);
  let gasLimit: bigint | undefined;
  if (rc?.gasLimit?.useGasLimit) {
    if (rc.gasLimit.limit <= 0n)
      throw new ServiceError(
        'INVALID_GAS_LIMIT',
        `gas limit must be > 0 when use_gas_limit is set (got ${rc.gasLimit.limit})`,
      );
    gasLimit = rc.gasLimit.limit;
  }
  const parsed: ParsedExecute = {
    requestId,
    bytecode,
    fn: ex.fnName,
    args,
    claimInputs,
    inputStrings,
    mode,
    meter: gasLimit !== undefined || rc?.meter === true,
    attestationMode: attestationModeFromProto(
      rc?.attestationMode ?? ProtoAttestationMode.UNSPECIFIED,
      cfg.defaultAttestationMode,
    ),
    attestationRequested:
      rc?.attestationMode === ProtoAttestationMode.PER_REQUEST
        ? 'per-request'
        : rc?.attestationMode === ProtoAttestationMode.SESSION_KEY
          ? 'session-key'
          : 'default',
    meterRequested: rc?.meter === true,
    includeGpuEvidence: rc?.includeGpuEvidence === true,
  };
  if (gasLimit !== undefined) parsed.gasLimit = gasLimit;
  if (ex.nonce.length > 0) parsed.nonce = ex.nonce;
  return parsed;
}

export interface ServiceDeps {
  backend: Backend;
  config: ServiceConfig;
  limiter: Limiter;
  metrics: ServerMetrics;
  /** Set while shutting down: new Execute calls get SHUTTING_DOWN. */
  isDraining: () => boolean;
}

function abortError(signal: AbortSignal, draining = false): unknown {
  if (draining) return new ServiceError('SHUTTING_DOWN', 'server shut down before the execution finished');
  const r = signal.reason as { code?: unknown } | undefined;
  // ConnectError from the handler's deadline (Code.DeadlineExceeded = 4) or client cancel.
  if (r && typeof r === 'object' && r.code === 4)
    return new ServiceError('DEADLINE_EXCEEDED', 'client deadline exceeded');
  return new ServiceError('CANCELLED', 'request cancelled by the client');
}

export function registerWasmvmService(router: ConnectRouter, deps: ServiceDeps): void {
  const { backend, config, limiter, metrics } = deps;
  router.service(WASMVMTeeService, {
    async execute(req, ctx: HandlerContext) {
      const t0 = performance.now();
      const info = ctx.values.get(requestInfoKey);
      if (info && req.execution?.requestId) info.requestId = req.execution.requestId.slice(0, MAX_REQUEST_ID);
      if (deps.isDraining()) throw new ServiceError('SHUTTING_DOWN', 'server is shutting down');
      const p = parseExecute(req, config);
      if (info) {
        info.requestId = p.requestId;
        info.attestationMode = p.attestationMode;
      }
      ctx.responseHeader.set(REQUEST_ID_HEADER, p.requestId);

      const release = await limiter.acquire(ctx.signal, info?.client ?? '').catch((e: unknown) => {
        if (e instanceof ServiceError) {
          metrics.rejected.inc({ reason: e.code === 'CLIENT_QUOTA' ? 'client_quota' : 'concurrency' });
          throw e;
        }
        throw abortError(ctx.signal, deps.isDraining());
      });
      metrics.executing.set(limiter.running);
      metrics.queued.set(limiter.queued);
      let result: Awaited<ReturnType<typeof backend.engine.execute>>;
      const tExec = performance.now();
      try {
        const ereq: ExecuteRequest = {
          bytecode: p.bytecode,
          fn: p.fn,
          args: p.args,
          mode: p.mode,
          meter: p.meter,
          signal: ctx.signal,
          limits: { maxBytecodeBytes: config.maxBytecodeBytes, timeoutMs: config.timeoutMs },
        };
        if (config.maxMemoryPages !== undefined)
          ereq.limits = { ...ereq.limits, maxMemoryPages: config.maxMemoryPages };
        if (p.gasLimit !== undefined) ereq.gasLimit = p.gasLimit;
        const modules = backend.hostSetup ? importModules(p.bytecode) : [];
        if (modules.length > 0) {
          const host = backend.hostSetup?.(modules, { requestId: p.requestId });
          if (host && host.hostModules.length > 0) {
            ereq.hostModules = host.hostModules;
            ereq.hostOptions = host.hostOptions;
          }
        }
        result = await backend.engine.execute(ereq);
      } finally {
        release();
        metrics.executing.set(limiter.running);
        metrics.queued.set(limiter.queued);
      }
      const executeMs = performance.now() - tExec;
      if (ctx.signal.aborted) throw abortError(ctx.signal, deps.isDraining());
      metrics.executions.inc({ status: result.status });
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

      const claimReq: Parameters<typeof claimFromExecution>[0] = {
        bytecodeSha256: result.bytecodeSha256,
        fn: p.fn,
        inputs: p.claimInputs,
        mode: p.mode,
        requestId: p.requestId,
        meter: p.meterRequested,
        attestationRequested: p.attestationRequested,
        gpuRequested: p.includeGpuEvidence,
      };
      if (p.gasLimit !== undefined) claimReq.gasLimit = p.gasLimit;
      if (p.nonce !== undefined) claimReq.nonce = p.nonce;
      const draft = claimFromExecution(claimReq, result);

      const tAttest = performance.now();
      let envelope: AttestationEnvelope;
      let claim: ExecutionClaim;
      try {
        ({ envelope, claim } = await backend.attester.attestExecution(draft, p.attestationMode, {
          includeGpuEvidence: p.includeGpuEvidence,
          signal: ctx.signal,
        }));
      } catch (e) {
        if (e instanceof ServiceError) throw e;
        throw new ServiceError('ATTESTATION_FAILED', `attestation failed: ${(e as Error).message}`);
      }
      const attestMs = performance.now() - tAttest;
      // The attester computed reportDataFor(claim) for the envelope already.
      const reportDataHex = /^[0-9a-f]{128}$/.test(envelope.reportData)
        ? envelope.reportData
        : Buffer.from(reportDataFor(claim)).toString('hex');
      metrics.attestLatency.observe(attestMs / 1000, { mode: p.attestationMode });

      const evidenceJson = envelope.evidence ?? envelope.session?.evidence;
      const extra: Parameters<typeof structuredEvidence>[1] = {};
      if (envelope.session?.spki) extra.sessionPublicKey = envelope.session.spki;
      if (envelope.gpu) extra.gpu = envelope.gpu;
      let evidence: Evidence;
      // Session-key: the evidence is the epoch's (same object every time): decode its base64 once.
      const cached = evidenceJson && !envelope.evidence ? evidenceCache.get(evidenceJson) : undefined;
      if (cached && !extra.gpu && cached.spki === (extra.sessionPublicKey ?? '')) evidence = cached.msg;
      else {
        evidence = structuredEvidence(evidenceJson, extra);
        if (evidenceJson && !envelope.evidence && !extra.gpu)
          evidenceCache.set(evidenceJson, { spki: extra.sessionPublicKey ?? '', msg: evidence });
      }
      // Every shown field is the attested claim's (verifiers compare each one with it, docs/binding.md).
      const result_ = create(WASMVMExecutionResultSchema, {
        inputs: p.inputStrings,
        outputValues: claim.outputs.map(toProtoValue),
        attestation: envelopeJson(envelope),
        reportData: reportDataHex,
        status: claim.status,
        trapMessage: claim.trapMessage ?? '',
        costTableVersion: claim.costTableVersion ?? '',
        bytecodeSha256: claim.bytecodeSha256,
        mode: modeToProto(claim.executedMode),
        attestationMode: attestationModeToProto(envelope.mode),
        claim: encodeClaim(claim),
        claimSignature: fromB64(envelope.signature),
        evidence,
        simulated: claim.simulated,
        nonce: claim.nonce ?? new Uint8Array(0),
        timing: create(TimingSchema, {
          totalUs: BigInt(Math.round((performance.now() - t0) * 1000)),
          executeUs: BigInt(Math.round(executeMs * 1000)),
          attestUs: BigInt(Math.round(attestMs * 1000)),
          cacheHit: result.cacheHit,
        }),
      });
      if (claim.gasUsed !== undefined) result_.gasUsed = claim.gasUsed;
      if (claim.exitCode !== undefined) result_.exitCode = claim.exitCode;
      if (claim.webgpu !== undefined) result_.webgpu = webgpuUsageToProto(claim.webgpu);
      if (claim.serverBuildSha256 !== undefined) result_.serverBuildSha256 = claim.serverBuildSha256;
      return create(WASMVMExecutionResponseSchema, { requestId: p.requestId, result: result_ });
    },

    async getAttestation(req: GetAttestationRequest) {
      if (req.nonce.length === 0 || req.nonce.length > config.maxNonceBytes)
        throw new ServiceError('INVALID_NONCE', `nonce must be 1..${config.maxNonceBytes} bytes`);
      const t = performance.now();
      let session: Awaited<ReturnType<typeof backend.attester.sessionEvidence>>;
      try {
        session = await backend.attester.sessionEvidence(req.nonce, {
          includeGpuEvidence: req.includeGpuEvidence,
        });
      } catch (e) {
        if (e instanceof ServiceError) throw e;
        throw new ServiceError('ATTESTATION_FAILED', `attestation failed: ${(e as Error).message}`);
      }
      metrics.attestLatency.observe((performance.now() - t) / 1000, { mode: 'session-evidence' });
      return create(GetAttestationResponseSchema, {
        attestation: JSON.stringify(session),
        evidence: structuredEvidence(session.evidence, { sessionPublicKey: session.spki }),
        simulated: session.evidence.simulated || backend.attester.tee.simulated,
      });
    },

    getServerInfo() {
      const tee = backend.attester.tee;
      const spki = backend.attester.sessionPublicKey?.();
      return create(GetServerInfoResponseSchema, {
        version: VERSION,
        teeKind: tee.kind,
        teeDescription: tee.description,
        simulated: tee.simulated,
        modes: [
          WASMVMMode.WASMVM_MODE_INTERP_UNSPECIFIED,
          WASMVMMode.WASMVM_MODE_SINGLEPASS,
          WASMVMMode.WASMVM_MODE_MULTIPASS,
        ],
        defaultAttestationMode: attestationModeToProto(config.defaultAttestationMode),
        limits: create(ServerLimitsSchema, {
          maxMessageBytes: BigInt(config.maxMessageBytes),
          maxBytecodeBytes: BigInt(config.maxBytecodeBytes),
          maxConcurrency: limiter.max,
          maxQueue: limiter.maxQueue,
          timeoutMs: BigInt(config.timeoutMs),
          maxMemoryPages: config.maxMemoryPages ?? 0,
        }),
        costTableVersion: backend.costTableVersion ?? '',
        sessionPublicKey: spki ? Buffer.from(spki).toString('hex') : '',
        webgpu: webgpuStatusToProto(backend.webgpu),
        serverBuildSha256: backend.attester.serverBuildSha256 ?? '',
      });
    },

    echo(req: EchoRequest) {
      return create(EchoResponseSchema, { payload: req.payload });
    },
  });
}
