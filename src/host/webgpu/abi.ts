/**
 * The `wasmvm_webgpu` import module: names, webgpu.h enum values and wasm32 struct layouts, limits and
 * the gas table. Shared by the worker side (guest.ts) and the host side (host.ts). See docs/webgpu.md.
 */

import type { GpuAdapterInfo, GpuComputeUsage } from '../../binding/index.ts';

export const WEBGPU_MODULE = 'wasmvm_webgpu';

/** Version of GAS_TABLE (bump on any change: gas figures are part of what a result reports). */
export const WEBGPU_GAS_TABLE_VERSION = 'webgpu-gas-v1';

/** Gas charged by the WebGPU imports, on top of the guest's own instructions (metered runs only). */
export const WEBGPU_GAS = {
  /** Every wasmvm_webgpu call (one synchronous round trip to the GPU host). */
  call: 1_000n,
  /** Per 4 bytes moved between guest memory and the GPU (queue writes, mapped reads and writes). */
  per4Bytes: 1n,
  /** Per 64 bytes of buffer allocated (wgpuDeviceCreateBuffer). */
  per64BytesAllocated: 1n,
  /** Per byte of WGSL source compiled. */
  perShaderByte: 8n,
  /** Per compute pipeline created (shader compilation and linking). */
  pipeline: 50_000n,
  /** Per workgroup dispatched (x * y * z). */
  perWorkgroup: 16n,
} as const;

/** Operator limits for one execution (serve/run --webgpu-*; docs/webgpu.md). */
export interface WebGpuLimits {
  /** Largest single buffer, bytes. */
  maxBufferBytes: number;
  /** All live buffers of one execution together, bytes. */
  maxTotalBufferBytes: number;
  /** Largest WGSL source, bytes. */
  maxShaderBytes: number;
  /** Live objects (handles) of one execution. */
  maxObjects: number;
  /** Workgroups of one dispatch (x * y * z). */
  maxWorkgroupsPerDispatch: number;
  /** Devices one execution may hold at once. */
  maxDevices: number;
  /** Largest bind group layout / bind group / pipeline layout entry count, submit count, constants. */
  maxEntries: number;
}

export const DEFAULT_WEBGPU_LIMITS: WebGpuLimits = {
  maxBufferBytes: 64 * 1024 * 1024,
  maxTotalBufferBytes: 256 * 1024 * 1024,
  maxShaderBytes: 256 * 1024,
  maxObjects: 4096,
  maxWorkgroupsPerDispatch: 1 << 22,
  maxDevices: 2,
  maxEntries: 64,
};

/** webgpu.h constants used by the host. */
export const WGPU = {
  STRLEN: 0xffffffff, // SIZE_MAX on wasm32
  WHOLE_MAP_SIZE: 0xffffffff,
  WHOLE_SIZE: 0xffffffffffffffffn,
  STYPE_SHADER_SOURCE_WGSL: 2,
  STATUS_SUCCESS: 1,
  STATUS_ERROR: 2,
  MAP_SUCCESS: 1,
  MAP_ERROR: 3,
  MAP_ABORTED: 4,
  WORK_DONE_SUCCESS: 1,
  WORK_DONE_ERROR: 3,
  ERROR_NONE: 1,
  ERROR_VALIDATION: 2,
  ERROR_OUT_OF_MEMORY: 3,
  ERROR_INTERNAL: 4,
  ERROR_UNKNOWN: 5,
  MAP_STATE_UNMAPPED: 1,
  MAP_STATE_PENDING: 2,
  MAP_STATE_MAPPED: 3,
} as const;

/** WGPUBufferBindingType → GPUBufferBindingType (0 = BindingNotUsed). */
export const BUFFER_BINDING_TYPES: Record<number, GPUBufferBindingTypeName | undefined> = {
  1: 'uniform', // Undefined → the default
  2: 'uniform',
  3: 'storage',
  4: 'read-only-storage',
};
export type GPUBufferBindingTypeName = 'uniform' | 'storage' | 'read-only-storage';

/** WGPUErrorFilter → GPUErrorFilter. */
export const ERROR_FILTERS: Record<number, 'validation' | 'out-of-memory' | 'internal' | undefined> = {
  1: 'validation',
  2: 'out-of-memory',
  3: 'internal',
};

/** wasm32 layouts (offsets in bytes) of the webgpu.h structs the host reads (checked by the C test). */
export const LAYOUT = {
  stringView: { data: 0, length: 4, size: 8 },
  chained: { next: 0, sType: 4 },
  bufferDescriptor: { next: 0, label: 4, usage: 16, size: 24, mappedAtCreation: 32 },
  deviceDescriptor: { next: 0, label: 4, requiredFeatureCount: 12 },
  shaderModuleDescriptor: { next: 0, label: 4 },
  shaderSourceWGSL: { code: 8 },
  computePipelineDescriptor: { next: 0, label: 4, layout: 12, compute: 16 },
  computeState: { module: 4, entryPoint: 8, constantCount: 16, constants: 20 },
  constantEntry: { key: 4, value: 16, size: 24 },
  bindGroupLayoutDescriptor: { label: 4, entryCount: 12, entries: 16 },
  bindGroupLayoutEntry: {
    binding: 4,
    visibility: 8,
    bindingArraySize: 16,
    bufferType: 28,
    hasDynamicOffset: 32,
    minBindingSize: 40,
    samplerType: 52,
    textureSampleType: 60,
    storageTextureAccess: 76,
    size: 88,
  },
  pipelineLayoutDescriptor: { label: 4, count: 12, layouts: 16, immediateSize: 20 },
  bindGroupDescriptor: { label: 4, layout: 12, entryCount: 16, entries: 20 },
  bindGroupEntry: { binding: 4, buffer: 8, offset: 16, size: 24, sampler: 32, textureView: 36, sizeOf: 40 },
  labelOnlyDescriptor: { label: 4 },
  computePassDescriptor: { label: 4, timestampWrites: 12 },
} as const;

/** What an execution that used WebGPU reports (ExecuteResult.webgpu) and its adapter: defined in src/binding. */
export type { GpuAdapterInfo as WebGpuAdapterInfo, GpuComputeUsage as WebGpuUsage };
