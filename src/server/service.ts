/**
 * WASMVMTeeService: Execute, GetAttestation, GetServerInfo, Echo.
 *
 * Execute is execute-request.ts (one named function per step: validate → slot → engine → claim →
 * attestation → response). Traps are results (status + trap_message, attested); request errors are gRPC
 * errors with a stable detail code (errors.ts, docs/server.md).
 */
import { create } from '@bufbuild/protobuf';
import type { ConnectRouter, HandlerContext } from '@connectrpc/connect';
import { attestationModeToProto, EXECUTION_MODES, modeToProto } from '../binding/index.ts';
import {
  type EchoRequest,
  EchoResponseSchema,
  type GetAttestationRequest,
  GetAttestationResponseSchema,
  GetServerInfoResponseSchema,
  ServerLimitsSchema,
  WASMVMTeeService,
} from '../gen/wasmvm/v1/wasmvm_pb.ts';
import { VERSION } from '../version.ts';
import type { ServiceDeps } from './context.ts';
import { ServiceError } from './errors.ts';
import { structuredEvidence } from './evidence-proto.ts';
import { executeRequest } from './execute-request.ts';
import { executeSealed, ReplayWindow, SealedBytecodeStore } from './sealed.ts';
import { webgpuStatusToProto } from './webgpu-proto.ts';

export {
  type RequestInfo,
  requestInfoKey,
  type ServiceConfig,
  type ServiceDeps,
} from './context.ts';
export { envelopeJson, structuredEvidence } from './evidence-proto.ts';
export { type ParsedExecute, parseExecute } from './execute-request.ts';
export { attestationModeToProto };

export function registerWasmvmService(router: ConnectRouter, deps: ServiceDeps): void {
  const { backend, config, limiter, metrics } = deps;
  const sealed = {
    replay: new ReplayWindow(config.sealedReplayWindowMs ? { windowMs: config.sealedReplayWindowMs } : {}),
    bytecode: new SealedBytecodeStore(),
  };
  router.service(WASMVMTeeService, {
    execute: (req, ctx: HandlerContext) => executeRequest(req, ctx, deps),
    executeSealed: (req, ctx: HandlerContext) => executeSealed(req, ctx, deps, sealed),

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
        modes: EXECUTION_MODES.map(modeToProto),
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
