/**
 * What the service needs from other rooms, as narrow interfaces (so tests can pass their own and the
 * server can be wired to the real engine and TEE in one place: `createDefaultBackend`).
 */
import type {
  AttestationEnvelope,
  AttestationMode,
  ClaimDraft,
  ExecutionClaim,
  SessionKeyJson,
} from '../binding/index.ts';
import type { ExecuteRequest, ExecuteResult } from '../engine/index.ts';
import type { WebGpuAdapterInfo, WebGpuLimits } from '../host/index.ts';
import type { SealKeyLookup } from '../tee/index.ts';

export interface ExecutionEngine {
  execute(req: ExecuteRequest): Promise<ExecuteResult>;
  close?(): Promise<void> | void;
}

export interface TeeInfo {
  kind: string;
  simulated: boolean;
  description: string;
}

export interface ExecutionAttester {
  readonly tee: TeeInfo;
  /** The server build digest (64 hex) bound into session REPORT_DATA and claims, when reported. */
  readonly serverBuildSha256?: string | undefined;
  /**
   * Complete a claim draft with the attestation facts and bind it: per-request (fresh CPU evidence) or
   * session-key (signature). Returns the envelope and the completed claim.
   */
  attestExecution(
    claim: ClaimDraft,
    mode: AttestationMode,
    options: {
      includeGpuEvidence: boolean;
      signal?: AbortSignal;
      sealedRequestSha256?: string;
      /**
       * Sealed execution: sign (session-key mode) with the session whose sealing key opened the request,
       * even when it rotated meanwhile, so the claim names the session the client sealed to.
       */
      sessionKeyId?: string;
    },
  ): Promise<{ envelope: AttestationEnvelope; claim: ExecutionClaim }>;
  /** Sealed execution: the session sealing key of a key id (absent: the server seals nothing). */
  sealKeyFor?(kid: string): Promise<SealKeyLookup>;
  /** The session key with evidence bound to `nonce`. */
  sessionEvidence(nonce: Uint8Array, options: { includeGpuEvidence: boolean }): Promise<SessionKeyJson>;
  /** Create the session key (and its evidence) ahead of the first request. */
  warmUp?(): Promise<void>;
  /** The current session public key, SPKI DER (undefined before the first use / when not created). */
  sessionPublicKey?(): Uint8Array | undefined;
  close?(): Promise<void> | void;
}

export interface Backend {
  engine: ExecutionEngine;
  attester: ExecutionAttester;
  costTableVersion?: string;
  /** WebGPU compute for guests (`serve --webgpu`): the adapter, or why there is none. Absent: off. */
  webgpu?:
    | { available: true; adapter: WebGpuAdapterInfo; limits: WebGpuLimits }
    | { available: false; reason: string };
  /**
   * Host modules for a guest that imports `modules` (src/host serviceHostSetup: WASI without a
   * filesystem, captured bounded stdout/stderr, wasmtime_attestation). Absent: no host imports offered.
   */
  hostSetup?(
    modules: readonly string[],
    context: { requestId: string },
  ): { hostModules: string[]; hostOptions: Record<string, unknown> } | undefined;
}
