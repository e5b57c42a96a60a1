/** NVIDIA formats: SPDM GET_MEASUREMENTS evidence, NVML CC structures, the composite-attestation GPU nonce. */
export { NvmlFormatError, type NvmlFormatErrorCode } from './errors.ts';
export { GPU_NONCE_DOMAIN, gpuNonceFor } from './nonce.ts';
export * from './spdm.ts';
export * from './structs.ts';
