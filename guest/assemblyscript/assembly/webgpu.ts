// AssemblyScript bindings for the `wasmvm_webgpu` host module (wasmvm-tee, docs/webgpu.md): the webgpu.h
// compute subset. The raw imports keep webgpu.h's names; the helpers below lay out the webgpu.h structs
// (wasm32) in buffers this module owns. Handles are per-execution u32 values (0 = NULL / failure); the
// host releases whatever is left at the end of the execution. Every call is synchronous.

@external("wasmvm_webgpu", "wgpuCreateInstance") export declare function wgpuCreateInstance(desc: usize): u32;
@external("wasmvm_webgpu", "wasmvmInstanceRequestAdapterSync") export declare function wasmvmInstanceRequestAdapterSync(instance: u32, options: usize): u32;
@external("wasmvm_webgpu", "wasmvmAdapterInfoField") export declare function wasmvmAdapterInfoField(adapter: u32, field: u32, out: usize, cap: u32): u32;
@external("wasmvm_webgpu", "wasmvmAdapterRequestDeviceSync") export declare function wasmvmAdapterRequestDeviceSync(adapter: u32, desc: usize): u32;
@external("wasmvm_webgpu", "wgpuDeviceGetQueue") export declare function wgpuDeviceGetQueue(device: u32): u32;
@external("wasmvm_webgpu", "wgpuDeviceDestroy") export declare function wgpuDeviceDestroy(device: u32): void;
@external("wasmvm_webgpu", "wgpuDeviceCreateBuffer") export declare function wgpuDeviceCreateBuffer(device: u32, desc: usize): u32;
@external("wasmvm_webgpu", "wgpuDeviceCreateShaderModule") export declare function wgpuDeviceCreateShaderModule(device: u32, desc: usize): u32;
@external("wasmvm_webgpu", "wgpuDeviceCreateBindGroupLayout") export declare function wgpuDeviceCreateBindGroupLayout(device: u32, desc: usize): u32;
@external("wasmvm_webgpu", "wgpuDeviceCreatePipelineLayout") export declare function wgpuDeviceCreatePipelineLayout(device: u32, desc: usize): u32;
@external("wasmvm_webgpu", "wgpuDeviceCreateComputePipeline") export declare function wgpuDeviceCreateComputePipeline(device: u32, desc: usize): u32;
@external("wasmvm_webgpu", "wgpuDeviceCreateBindGroup") export declare function wgpuDeviceCreateBindGroup(device: u32, desc: usize): u32;
@external("wasmvm_webgpu", "wgpuDeviceCreateCommandEncoder") export declare function wgpuDeviceCreateCommandEncoder(device: u32, desc: usize): u32;
@external("wasmvm_webgpu", "wgpuDevicePushErrorScope") export declare function wgpuDevicePushErrorScope(device: u32, filter: u32): void;
@external("wasmvm_webgpu", "wasmvmDevicePopErrorScopeSync") export declare function wasmvmDevicePopErrorScopeSync(device: u32): u32;
@external("wasmvm_webgpu", "wasmvmDeviceTakeUncapturedError") export declare function wasmvmDeviceTakeUncapturedError(device: u32): u32;
@external("wasmvm_webgpu", "wgpuComputePipelineGetBindGroupLayout") export declare function wgpuComputePipelineGetBindGroupLayout(pipeline: u32, group: u32): u32;
@external("wasmvm_webgpu", "wgpuBufferGetSize") export declare function wgpuBufferGetSize(buffer: u32): u64;
@external("wasmvm_webgpu", "wgpuBufferDestroy") export declare function wgpuBufferDestroy(buffer: u32): void;
@external("wasmvm_webgpu", "wasmvmBufferMapSync") export declare function wasmvmBufferMapSync(buffer: u32, mode: u64, offset: usize, size: usize): u32;
@external("wasmvm_webgpu", "wasmvmBufferReadMapped") export declare function wasmvmBufferReadMapped(buffer: u32, offset: usize, out: usize, size: usize): u32;
@external("wasmvm_webgpu", "wasmvmBufferUnmap") export declare function wasmvmBufferUnmap(buffer: u32): void;
@external("wasmvm_webgpu", "wgpuQueueWriteBuffer") export declare function wgpuQueueWriteBuffer(queue: u32, buffer: u32, offset: u64, data: usize, size: usize): void;
@external("wasmvm_webgpu", "wgpuQueueSubmit") export declare function wgpuQueueSubmit(queue: u32, count: usize, commands: usize): void;
@external("wasmvm_webgpu", "wasmvmQueueWaitIdleSync") export declare function wasmvmQueueWaitIdleSync(queue: u32): u32;
@external("wasmvm_webgpu", "wgpuCommandEncoderBeginComputePass") export declare function wgpuCommandEncoderBeginComputePass(encoder: u32, desc: usize): u32;
@external("wasmvm_webgpu", "wgpuCommandEncoderCopyBufferToBuffer") export declare function wgpuCommandEncoderCopyBufferToBuffer(encoder: u32, src: u32, srcOffset: u64, dst: u32, dstOffset: u64, size: u64): void;
@external("wasmvm_webgpu", "wgpuCommandEncoderFinish") export declare function wgpuCommandEncoderFinish(encoder: u32, desc: usize): u32;
@external("wasmvm_webgpu", "wgpuComputePassEncoderSetPipeline") export declare function wgpuComputePassEncoderSetPipeline(pass: u32, pipeline: u32): void;
@external("wasmvm_webgpu", "wgpuComputePassEncoderSetBindGroup") export declare function wgpuComputePassEncoderSetBindGroup(pass: u32, index: u32, group: u32, count: usize, offsets: usize): void;
@external("wasmvm_webgpu", "wgpuComputePassEncoderDispatchWorkgroups") export declare function wgpuComputePassEncoderDispatchWorkgroups(pass: u32, x: u32, y: u32, z: u32): void;
@external("wasmvm_webgpu", "wgpuComputePassEncoderEnd") export declare function wgpuComputePassEncoderEnd(pass: u32): void;
@external("wasmvm_webgpu", "wasmvmLastMessage") export declare function wasmvmLastMessage(out: usize, cap: u32): u32;
@external("wasmvm_webgpu", "wgpuBufferRelease") export declare function wgpuBufferRelease(buffer: u32): void;
@external("wasmvm_webgpu", "wgpuCommandEncoderRelease") export declare function wgpuCommandEncoderRelease(encoder: u32): void;
@external("wasmvm_webgpu", "wgpuCommandBufferRelease") export declare function wgpuCommandBufferRelease(commandBuffer: u32): void;
@external("wasmvm_webgpu", "wgpuComputePassEncoderRelease") export declare function wgpuComputePassEncoderRelease(pass: u32): void;

export const BUFFER_MAP_READ: u64 = 0x1;
export const BUFFER_COPY_SRC: u64 = 0x4;
export const BUFFER_COPY_DST: u64 = 0x8;
export const BUFFER_STORAGE: u64 = 0x80;
export const ERROR_FILTER_VALIDATION: u32 = 1;
export const ERROR_NONE: u32 = 1;
const WGPU_STRLEN: u32 = 0xffffffff;
const WGPU_WHOLE_SIZE: u64 = 0xffffffffffffffff;

/** The message of the last failing call or popped error scope. */
export function lastMessage(): string {
  const n = wasmvmLastMessage(0, 0);
  const b = new ArrayBuffer(<i32>n);
  wasmvmLastMessage(changetype<usize>(b), n);
  return String.UTF8.decode(b);
}

/** Adapter info field: 0 vendor, 1 architecture, 2 device, 3 description. */
export function adapterInfo(adapter: u32, field: u32): string {
  const n = wasmvmAdapterInfoField(adapter, field, 0, 0);
  const b = new ArrayBuffer(<i32>n);
  wasmvmAdapterInfoField(adapter, field, changetype<usize>(b), n);
  return String.UTF8.decode(b);
}

/** WGPUBufferDescriptor (40 bytes). */
export function createBuffer(device: u32, size: u64, usage: u64): u32 {
  const d = new ArrayBuffer(40);
  const p = changetype<usize>(d);
  store<u32>(p + 8, WGPU_STRLEN); // label = {NULL, WGPU_STRLEN}
  store<u64>(p + 16, usage);
  store<u64>(p + 24, size);
  return wgpuDeviceCreateBuffer(device, p);
}

/** WGPUShaderModuleDescriptor chained to WGPUShaderSourceWGSL. */
export function createShaderModule(device: u32, wgsl: string): u32 {
  const code = String.UTF8.encode(wgsl);
  const src = new ArrayBuffer(16);
  const s = changetype<usize>(src);
  store<u32>(s + 4, 2); // WGPUSType_ShaderSourceWGSL
  store<u32>(s + 8, changetype<usize>(code));
  store<u32>(s + 12, code.byteLength);
  const d = new ArrayBuffer(12);
  const p = changetype<usize>(d);
  store<u32>(p, s);
  store<u32>(p + 8, WGPU_STRLEN);
  return wgpuDeviceCreateShaderModule(device, p);
}

/** A compute pipeline with an automatic layout (WGPUComputePipelineDescriptor, 40 bytes). */
export function createComputePipeline(device: u32, module: u32, entryPoint: string): u32 {
  const ep = String.UTF8.encode(entryPoint);
  const d = new ArrayBuffer(40);
  const p = changetype<usize>(d);
  store<u32>(p + 8, WGPU_STRLEN); // label
  store<u32>(p + 20, module); // compute.module
  store<u32>(p + 24, changetype<usize>(ep)); // compute.entryPoint
  store<u32>(p + 28, ep.byteLength);
  return wgpuDeviceCreateComputePipeline(device, p);
}

/** A bind group of whole buffers at bindings 0..n-1 (WGPUBindGroupEntry, 40 bytes each). */
export function createBindGroup(device: u32, layout: u32, buffers: u32[]): u32 {
  const n = buffers.length;
  const e = new ArrayBuffer(40 * n);
  const ep = changetype<usize>(e);
  for (let i = 0; i < n; i++) {
    const q = ep + 40 * <usize>i;
    store<u32>(q + 4, <u32>i);
    store<u32>(q + 8, buffers[i]);
    store<u64>(q + 24, WGPU_WHOLE_SIZE);
  }
  const d = new ArrayBuffer(24);
  const p = changetype<usize>(d);
  store<u32>(p + 8, WGPU_STRLEN);
  store<u32>(p + 12, layout);
  store<u32>(p + 16, <u32>n);
  store<u32>(p + 20, ep);
  return wgpuDeviceCreateBindGroup(device, p);
}

export function writeF32(queue: u32, buffer: u32, data: Float32Array): void {
  wgpuQueueWriteBuffer(queue, buffer, 0, data.dataStart, <usize>data.byteLength);
}

/** Submit one command buffer. */
export function submit(queue: u32, commandBuffer: u32): void {
  const b = new ArrayBuffer(4);
  store<u32>(changetype<usize>(b), commandBuffer);
  wgpuQueueSubmit(queue, 1, changetype<usize>(b));
}

/** Map a MAP_READ buffer, copy `count` floats out, unmap; null on failure (see lastMessage). */
export function readF32(buffer: u32, count: i32): Float32Array | null {
  const out = new Float32Array(count);
  if (wasmvmBufferMapSync(buffer, 1, 0, <usize>count * 4) != 1) return null;
  const st = wasmvmBufferReadMapped(buffer, 0, out.dataStart, <usize>count * 4);
  wasmvmBufferUnmap(buffer);
  return st == 1 ? out : null;
}
