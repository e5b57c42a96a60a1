/** Options, limits and check constructors shared by the local GPU evidence steps (verifyGpuEvidence). */
import type { Check } from '../../types.ts';
import type { Certificate } from '../../x509.ts';

/**
 * Reference values for the measurement comparison (what NVIDIA's RIMs hold, in a plain JSON form):
 * `measurements` maps a measurement index to the accepted hex digest(s); versions are optional.
 */
export interface GpuReferenceValues {
  measurements?: Record<string, string | string[]>;
  driverVersions?: string[];
  vbiosVersions?: string[];
  /** Measurement indices allowed to be absent from the reference values without failing. Default: none listed → every block must be covered. */
  allowUnlistedIndices?: boolean;
}

export interface VerifyGpuEvidenceOptions {
  /** The nonce this evidence must answer (hex or bytes). Without it freshness is recorded as 'skip'. */
  nonce?: Uint8Array | string;
  /** Clock for certificate validity. Default: now. */
  now?: Date;
  /** Reference values, or a policy `nvidia` section with a `referenceValues` member. */
  referenceValues?: GpuReferenceValues | Record<string, unknown>;
  /** Revocation check hook (OCSP). Without one, revocation is 'skip' (offline). */
  ocsp?: (chain: Certificate[]) => Promise<{ ok: boolean; detail: string }>;
  /** Reject evidence whose arch field disagrees with the certificate (default true). */
  checkArch?: boolean;
  /** Accept a host that reports CC dev-tools (debug) mode or a simulated CC environment (default false). */
  allowDevTools?: boolean;
  /**
   * PEM of a SIMULATED root (src/tee/nvidia SimulatedGpu.rootPem()) to accept INSTEAD of NVIDIA's,
   * for tests and development only. Evidence under it is marked by the 'nvidia.simulated' check.
   * Several may be given (PEM or DER; e.g. the CPU's and the GPU's simulated roots together): the chain
   * is accepted when it ends at one of them.
   */
  trustSimulatedRoot?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  /**
   * Accept a chain ending at any SIMULATED-named, self-signed root that comes with the evidence
   * (testing only; marked by the 'nvidia.simulated' check). Default false.
   */
  allowSimulated?: boolean;
}

/**
 * Bounds of one GPU's evidence (issue 14): real SPDM reports are 4–8 KB (NVML's buffer is 8 KB), chains 5
 * certificates of ~1 KB in 5 KB of PEM. Larger input is rejected before it is decoded.
 */
export const NVIDIA_LIMITS = {
  /** Decoded bytes of the SPDM evidence. */
  maxEvidenceBytes: 64 * 1024,
  /** Characters of the PEM chain (decoded from base64). */
  maxChainBytes: 64 * 1024,
  /** Certificates in the chain. */
  maxChainCerts: 8,
  /** GPUs in one evidence list. */
  maxGpus: 64,
} as const;

export function pass(id: string, detail: string): Check {
  return { id, outcome: 'pass', detail };
}
export function fail(id: string, detail: string): Check {
  return { id, outcome: 'fail', detail };
}
export function skip(id: string, detail: string): Check {
  return { id, outcome: 'skip', detail };
}
