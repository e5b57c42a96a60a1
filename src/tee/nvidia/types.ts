/**
 * NVIDIA GPU evidence: the wire format shared by the NVML provider, the NRAS client, the attestation
 * envelope (`gpu` array) and the verifier. Field names follow NVIDIA's `nvattest` / NRAS evidence
 * objects (`arch`, `certificate`, `evidence`, `nonce`) so a file written by `nvattest
 * --gpu-evidence-source file` or an NRAS request's `evidence_list` entry is accepted as is.
 *
 * This file holds types and constants only (no runtime code): the verifier imports it with
 * `import type` and stays usable offline without any provider code.
 */

// The evidence descriptors are src/binding's vocabulary (one definition for providers and verifier).
import type { GpuCcSettings, GpuEvidence } from '../../binding/index.ts';
import { WasmvmTeeError } from '../../util/errors.ts';

export type { GpuCcSettings, GpuEvidence };

/** Stable error codes of the NVIDIA evidence provider. */
export type NvidiaErrorCode =
  | 'NVIDIA_NVML_UNAVAILABLE' // koffi missing or libnvidia-ml.so.1 cannot be loaded / initialised
  | 'NVIDIA_NO_GPU' // NVML works but reports no GPU
  | 'NVIDIA_BAD_INDEX' // the requested GPU index does not exist
  | 'NVIDIA_CC_DISABLED' // confidential computing is not enabled on this system
  | 'NVIDIA_NVML_CALL_FAILED' // an NVML call returned an error (nvmlReturn code in the message)
  | 'NVIDIA_BAD_NONCE' // nonce is not exactly 32 bytes
  | 'NVIDIA_BAD_EVIDENCE' // NVML returned sizes that do not fit the structure
  | 'NVIDIA_NRAS_FAILED'; // the NRAS service answered with an error / could not be reached

/** The NVIDIA provider's error; the message starts with the code (`NVIDIA_NO_GPU: …`). */
export class NvidiaError extends WasmvmTeeError<NvidiaErrorCode> {
  constructor(code: NvidiaErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, `${code}: ${message}`, options);
  }
}

/** Result of `probeGpus()`: never throws; says why there is no usable GPU. */
export interface GpuProbe {
  available: boolean;
  /** Set when not available. */
  code?: NvidiaErrorCode;
  reason?: string;
  driverVersion?: string;
  cc?: GpuCcSettings;
  gpus: { index: number; uuid?: string; arch: string; name?: string }[];
}
