/** NVIDIA formats: SPDM GET_MEASUREMENTS evidence, NVML CC structures, the composite-attestation GPU nonce. */
export { NvmlFormatError, type NvmlFormatErrorCode } from './errors.ts';
export * from './spdm.ts';
export * from './structs.ts';
