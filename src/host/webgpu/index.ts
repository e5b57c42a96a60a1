/** WebGPU compute for guests: the `wasmvm_webgpu` imports (worker side) and the WebGpuHost (parent side). */
export {
  DEFAULT_WEBGPU_LIMITS,
  WEBGPU_GAS,
  WEBGPU_GAS_TABLE_VERSION,
  WEBGPU_MODULE,
  type WebGpuAdapterInfo,
  type WebGpuLimits,
  type WebGpuUsage,
} from './abi.ts';
export { WebGpuModule, type WebGpuModuleOptions, webgpuImportNames } from './guest.ts';
export {
  probeWebGpu,
  type WebGpuBackend,
  WebGpuHost,
  type WebGpuHostOptions,
  type WebGpuReply,
  WebGpuUnavailableError,
} from './host.ts';
