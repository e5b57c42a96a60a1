// Example (AssemblyScript): y = 2x + 1 on the GPU through wasmvm_webgpu; checks the result on the CPU.
//   wasmvm-tee run --webgpu webgpu_example_as.wasm
import { println, exit } from './wasi';
import * as gpu from './webgpu';

const N = 1024;
const WGSL = `
@group(0) @binding(0) var<storage, read_write> v: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x < arrayLength(&v)) { v[g.x] = 2.0 * v[g.x] + 1.0; }
}`;

export function _start(): void {
  const adapter = gpu.wasmvmInstanceRequestAdapterSync(gpu.wgpuCreateInstance(0), 0);
  if (adapter == 0) {
    println('no WebGPU adapter: ' + gpu.lastMessage());
    exit(4);
  }
  println('adapter: ' + gpu.adapterInfo(adapter, 2));
  const device = gpu.wasmvmAdapterRequestDeviceSync(adapter, 0);
  const queue = gpu.wgpuDeviceGetQueue(device);
  gpu.wgpuDevicePushErrorScope(device, gpu.ERROR_FILTER_VALIDATION);
  const buf = gpu.createBuffer(device, N * 4, gpu.BUFFER_STORAGE | gpu.BUFFER_COPY_SRC | gpu.BUFFER_COPY_DST);
  const rd = gpu.createBuffer(device, N * 4, gpu.BUFFER_MAP_READ | gpu.BUFFER_COPY_DST);
  const x = new Float32Array(N);
  for (let i = 0; i < N; i++) x[i] = <f32>i;
  gpu.writeF32(queue, buf, x);
  const pipeline = gpu.createComputePipeline(device, gpu.createShaderModule(device, WGSL), 'main');
  const group = gpu.createBindGroup(device, gpu.wgpuComputePipelineGetBindGroupLayout(pipeline, 0), [buf]);
  const enc = gpu.wgpuDeviceCreateCommandEncoder(device, 0);
  const pass = gpu.wgpuCommandEncoderBeginComputePass(enc, 0);
  gpu.wgpuComputePassEncoderSetPipeline(pass, pipeline);
  gpu.wgpuComputePassEncoderSetBindGroup(pass, 0, group, 0, 0);
  gpu.wgpuComputePassEncoderDispatchWorkgroups(pass, N / 64, 1, 1);
  gpu.wgpuComputePassEncoderEnd(pass);
  gpu.wgpuCommandEncoderCopyBufferToBuffer(enc, buf, 0, rd, 0, N * 4);
  gpu.submit(queue, gpu.wgpuCommandEncoderFinish(enc, 0));
  if (gpu.wasmvmDevicePopErrorScopeSync(device) != gpu.ERROR_NONE) {
    println('WebGPU error: ' + gpu.lastMessage());
    exit(4);
  }
  const y = gpu.readF32(rd, N);
  if (y == null) {
    println('map failed: ' + gpu.lastMessage());
    exit(4);
    return;
  }
  let bad = 0;
  for (let i = 0; i < N; i++) if (y[i] != 2.0 * <f32>i + 1.0) bad++;
  println('gpu: y = 2x + 1 for ' + N.toString() + ' values, ' + bad.toString() + ' wrong');
  exit(bad == 0 ? 0 : 5);
}
