/** NVIDIA GPU evidence providers (NVML over FFI) and the NRAS client. */

export { GPU_NONCE_DOMAIN, gpuNonceFor } from './nonce.ts';
export type { NrasClientOptions, NrasRequestBody, NrasVersion } from './nras.ts';
export { attestWithNras, buildNrasRequest, NRAS_BASE_URL, nrasUrl } from './nras.ts';
export type { NvmlBinding, NvmlOptions } from './nvml.ts';
export { collectGpuEvidence, loadNvml, NVML_LIBRARY, probeGpus } from './nvml.ts';
export type { SimulatedGpu, SimulatedGpuOptions } from './simulated.ts';
export * as nvmlStructs from './structs.ts';
export type { GpuCcSettings, GpuEvidence, GpuProbe, NvidiaErrorCode } from './types.ts';
export { NvidiaError } from './types.ts';

/** A SIMULATED GPU (tests/dev; rejected by the verifier unless its root is trusted). Loaded lazily. */
export async function createSimulatedGpu(o?: import('./simulated.ts').SimulatedGpuOptions) {
  const m = await import('./simulated.ts');
  return m.SimulatedGpu.create(o);
}
