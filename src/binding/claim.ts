/**
 * The canonical execution claim (v3): its TypeScript model, and how the server builds one from a request
 * and the engine's result (spec: docs/binding.md). The byte encoding is in encode.ts, the JSON view in
 * claim-json.ts, REPORT_DATA and the other derivations in derivations.ts.
 */
import { digestHex } from '../util/digest.ts';
import { BindingError } from './errors.ts';
import type {
  AttestationMode,
  ExecutionMode,
  ExecutionOutcome,
  ExecutionStatus,
  GpuAdapterInfo,
  GuestAttestations,
  RequestedAttestation,
  TeeKind,
  WasmValue,
} from './vocabulary.ts';

export const CLAIM_VERSION = 3;

/** Input values as the client sent them: typed values, or the legacy string form (kept verbatim). */
export type ClaimInputs = readonly WasmValue[] | { readonly legacy: readonly string[] };

export type { RequestedAttestation };
/** How the claim was attested (vocabulary.ts AttestationMode). */
export type ClaimAttestationMode = AttestationMode;
/** The TEE kind that attested the claim (vocabulary.ts TeeKind). */
export type ClaimTeeKind = TeeKind;

/** The input side: everything a client can recompute from its own request. */
export interface ClaimInputSide {
  /** SHA-256 of the (uninstrumented) bytecode, 64 hex chars. */
  bytecodeSha256: string;
  /** Exported function name. */
  fn: string;
  inputs: ClaimInputs;
  /** The execution mode the request asked for. */
  mode: ExecutionMode;
  /** Gas limit; undefined = unmetered. */
  gasLimit?: bigint;
  /** Client nonce (freshness), any length up to 1024 bytes; undefined when the client sent none. */
  nonce?: Uint8Array;
  /** The request asked to count gas without a limit (runtime_config.meter). */
  meter: boolean;
  /** The attestation mode the request asked for. */
  attestationRequested: RequestedAttestation;
  /** The request asked for GPU evidence (runtime_config.include_gpu_evidence). */
  gpuRequested: boolean;
}

/** What the engine produced (the server fills these from the execution result). */
export interface ClaimResult {
  /** Request id (server-assigned or echoed). */
  requestId?: string;
  status: ExecutionStatus;
  outputs: readonly WasmValue[];
  /** WASI exit code when the guest called proc_exit. */
  exitCode?: number;
  gasUsed?: bigint;
  costTableVersion?: string;
  /** SHA-256 of captured stdout / stderr, hex (absent when nothing was captured). */
  stdoutSha256?: string;
  stderrSha256?: string;
  /** The trap's message (absent when status is 'ok'). */
  trapMessage?: string;
  /** The execution mode that actually ran. */
  executedMode: ExecutionMode;
  /** The guest used WebGPU compute (host module wasmvm_webgpu): the adapter and what was done on it. */
  webgpu?: ClaimWebGpu;
  /**
   * What the guest itself attested (wasmtime_attestation attest_vm / attest_gpu): one receipt per call,
   * in call order, at most GUEST_ATTESTATIONS_MAX (output field 20; absent when the guest made none).
   */
  guestAttestations?: GuestAttestations;
}

/**
 * WebGPU use of one execution (docs/webgpu.md "Metering and claims"). The adapter strings are what the
 * driver inside the TEE reported (attested as "what the server saw", not a hardware identity: only GPU
 * evidence proves a GPU); the counters and gas are deterministic for a given guest, inputs and limits.
 */
export interface ClaimWebGpu extends GpuAdapterInfo {
  /** WebGPU host calls, compute dispatches, workgroups dispatched, bytes written to / read from the GPU. */
  calls: bigint;
  dispatches: bigint;
  workgroups: bigint;
  bytesToGpu: bigint;
  bytesFromGpu: bigint;
  /** Gas charged by the WebGPU imports (metered runs only; included in gasUsed). */
  gas?: bigint;
  gasTableVersion: string;
}

/** What the attester adds: how the claim is attested and by what. */
export interface ClaimAttestation {
  attestationMode: ClaimAttestationMode;
  teeKind: ClaimTeeKind;
  /** True when the evidence comes from the simulated TEE. */
  simulated: boolean;
  /** session-key: the session's identity = sessionKeyReportData(session, nonce '') (64 bytes, hex). */
  session?: string;
  /** SHA-256 of the GPU evidence attached (gpuEvidenceDigest), hex; absent when none. */
  gpuEvidenceSha256?: string;
  /** When the claim was attested: server clock, ms since the Unix epoch. */
  issuedAt: bigint;
  /**
   * The server's build digest (src/version-digest.ts: SHA-256 over package.json and the code it runs),
   * 64 hex chars; absent when the server does not report one.
   */
  serverBuildSha256?: string;
  /**
   * Sealed execution (docs/sealed-execution.md): sealedRequestDigest of the sealed request this claim
   * answers, 64 hex chars; absent for plain Execute.
   */
  sealedRequestSha256?: string;
}

/** A claim before attestation (what claimFromExecution builds). */
export type ClaimDraft = ClaimInputSide & ClaimResult;

/** One execution, canonically. Hex strings are lowercase. */
export type ExecutionClaim = ClaimDraft & ClaimAttestation;

/** What the server knows about a request when it builds the claim. */
export interface ClaimRequest {
  /** The bytecode itself, or its SHA-256 hex. */
  bytecode?: Uint8Array;
  bytecodeSha256?: string;
  fn: string;
  inputs: ClaimInputs;
  mode?: ExecutionMode;
  gasLimit?: bigint;
  nonce?: Uint8Array;
  requestId?: string;
  meter?: boolean;
  attestationRequested?: RequestedAttestation;
  gpuRequested?: boolean;
}

function sha256HexOf(b: Uint8Array): string {
  return digestHex('sha256', b);
}

/** Build the claim draft from a request and the engine's result (stdout/stderr are hashed here). */
export function claimFromExecution(req: ClaimRequest, result: ExecutionOutcome): ClaimDraft {
  const bytecodeSha256 =
    result.bytecodeSha256 ?? req.bytecodeSha256 ?? (req.bytecode ? sha256HexOf(req.bytecode) : undefined);
  if (!bytecodeSha256) throw new BindingError('INVALID_CLAIM', 'no bytecode hash', 'claim.bytecodeSha256');
  const claim: ClaimDraft = {
    bytecodeSha256: bytecodeSha256.toLowerCase(),
    fn: req.fn,
    inputs: req.inputs,
    mode: req.mode ?? result.mode ?? 'interp',
    meter: req.meter ?? false,
    attestationRequested: req.attestationRequested ?? 'default',
    gpuRequested: req.gpuRequested ?? false,
    status: result.status,
    outputs: result.outputs,
    executedMode: result.mode ?? req.mode ?? 'interp',
  };
  if (req.gasLimit !== undefined) claim.gasLimit = req.gasLimit;
  if (req.nonce !== undefined) claim.nonce = req.nonce;
  if (req.requestId !== undefined) claim.requestId = req.requestId;
  if (result.exitCode !== undefined) claim.exitCode = result.exitCode;
  if (result.gasUsed !== undefined) claim.gasUsed = result.gasUsed;
  if (result.costTableVersion !== undefined) claim.costTableVersion = result.costTableVersion;
  if (result.status !== 'ok') claim.trapMessage = result.message ?? '';
  if (result.stdout !== undefined && result.stdout.length > 0)
    claim.stdoutSha256 = sha256HexOf(result.stdout);
  if (result.stderr !== undefined && result.stderr.length > 0)
    claim.stderrSha256 = sha256HexOf(result.stderr);
  if (result.webgpu !== undefined) {
    const u = result.webgpu;
    const a = u.adapter;
    claim.webgpu = {
      vendor: a.vendor,
      architecture: a.architecture,
      device: a.device,
      description: a.description,
      backend: a.backend,
      featureLevel: a.featureLevel,
      calls: BigInt(u.calls),
      dispatches: BigInt(u.dispatches),
      workgroups: BigInt(u.workgroups),
      bytesToGpu: BigInt(u.bytesToGpu),
      bytesFromGpu: BigInt(u.bytesFromGpu),
      gasTableVersion: u.gasTableVersion,
    };
    if (u.gas !== undefined) claim.webgpu.gas = BigInt(u.gas);
  }
  const g = result.guestAttestations;
  if (g !== undefined && (g.receipts.length > 0 || g.truncated))
    claim.guestAttestations = { receipts: g.receipts.map((r) => ({ ...r })), truncated: g.truncated };
  return claim;
}
