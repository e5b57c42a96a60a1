import type { WebGpuUsage } from './webgpu/abi.ts';

/** Host-module contracts shared with the engine (worker side) and the service/CLI (parent side). */

/** Synchronous call from the guest's worker to the HostHandler in the parent process (engine-provided). */
export interface HostBridge {
  call(method: string, params: unknown): unknown;
}

/** What the engine's worker gets from createHostModules(). */
export interface HostModules {
  /** The import object to instantiate the guest with. */
  imports: WebAssembly.Imports;
  /** Called once the instance exists (memory and allocator exports are looked up here). */
  attach(instance: WebAssembly.Instance): void;
  /** Captured stdout/stderr (bounded). Also closes host files the guest left open. */
  collect(): { stdout: Uint8Array; stderr: Uint8Array; droppedBytes?: number; webgpu?: WebGpuUsage };
}

/** The parent-side handler answering bridge calls (async). */
export type HostHandler = (method: string, params: unknown) => Promise<unknown>;

/**
 * Why an attestation call failed, stable (the answer's `code`; the receipt's outcome in the claim,
 * docs/host.md): no TEE / no GPU here, the guest's data or GPU index was refused, the provider failed,
 * the evidence did not bind the requested REPORT_DATA, the host's verifier or policy rejected it, or an
 * unexpected error.
 */
export type AttestationErrorCode =
  | 'no_tee'
  | 'no_gpu'
  | 'invalid_guest_data'
  | 'invalid_gpu_index'
  | 'evidence_failed'
  | 'report_data_mismatch'
  | 'policy_rejected'
  | 'internal';

/** The JSON every attestation call returns to the guest (docs/host.md). */
export interface AttestationResult {
  success: boolean;
  /** When success is false: why, as a stable code (the `error` message says it in words). */
  code?: AttestationErrorCode;
  token?: string;
  /** Evidence as a JSON string (base64 report, certificates...). */
  evidence?: string;
  error?: string;
  /** Unix seconds. */
  timestamp: number;
  /** 'AMD SEV-SNP' | 'Intel TDX' | 'NVIDIA GPU' | null */
  tee_type: string | null;
  simulated?: boolean;
  /** Hex: the fresh host nonce of this attestation. */
  nonce?: string;
  /** Hex: the 64-byte REPORT_DATA (VM) or the 32-byte GPU nonce that was bound. */
  report_data?: string;
  /** Whether this came from the host's cache. */
  cached?: boolean;
  /** Ids of the policy checks that failed (when success is false because of policy). */
  policy_failed?: string[];
}
