// Bench guest (bench/webgpu/index.ts): `matmul gpu|cpu N REPS` multiplies two N×N f32 matrices REPS times
// and prints the milliseconds of each repetition (WASI monotonic clock) and a checksum of C.
//   gpu: the WGSL kernel below through the webgpu.h imports (encode, dispatch, submit, wait per rep)
//   cpu: Wasm SIMD (f32x4) i-k-j loop
// Build: clang --target=wasm32-wasi -O3 -msimd128 -o matmul.wasm matmul.c
#define WGPU_WASMVM_IMPLEMENTATION
#include "../../guest/cpp/webgpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wasm_simd128.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

const char* MATMUL_WGSL =
    "override N: u32 = 256u;\n"
    "@group(0) @binding(0) var<storage, read> a: array<f32>;\n"
    "@group(0) @binding(1) var<storage, read> b: array<f32>;\n"
    "@group(0) @binding(2) var<storage, read_write> c: array<f32>;\n"
    "@compute @workgroup_size(8, 8)\n"
    "fn main(@builtin(global_invocation_id) g: vec3u) {\n"
    "  let row = g.y; let col = g.x;\n"
    "  if (row >= N || col >= N) { return; }\n"
    "  var s = 0.0;\n"
    "  for (var k = 0u; k < N; k++) { s = s + a[row * N + k] * b[k * N + col]; }\n"
    "  c[row * N + col] = s;\n"
    "}\n";

static float* A;
static float* B;
static float* C;

static void fill(int n) {
  A = malloc((size_t)n * n * 4);
  B = malloc((size_t)n * n * 4);
  C = calloc((size_t)n * n, 4);
  uint32_t r = 1;
  for (int i = 0; i < n * n; i++) {
    r = r * 1664525u + 1013904223u;
    A[i] = (float)(r >> 8) / 16777216.0f - 0.5f;
    r = r * 1664525u + 1013904223u;
    B[i] = (float)(r >> 8) / 16777216.0f - 0.5f;
  }
}

static void cpu(int n, int reps) {
  for (int rep = 0; rep < reps; rep++) {
    double t = now_ms();
    memset(C, 0, (size_t)n * n * 4);
    for (int i = 0; i < n; i++)
      for (int k = 0; k < n; k++) {
        v128_t aik = wasm_f32x4_splat(A[i * n + k]);
        const float* b = &B[k * n];
        float* c = &C[i * n];
        for (int j = 0; j < n; j += 4)
          wasm_v128_store(c + j, wasm_f32x4_add(wasm_v128_load(c + j), wasm_f32x4_mul(aik, wasm_v128_load(b + j))));
      }
    printf("rep %.3f\n", now_ms() - t);
  }
}

static WGPUBuffer buf(WGPUDevice dev, uint64_t size, WGPUBufferUsage usage) {
  WGPUBufferDescriptor d = {0};
  d.size = size;
  d.usage = usage;
  return wgpuDeviceCreateBuffer(dev, &d);
}

static int gpu(int n, int reps) {
  WGPUInstance inst = wgpuCreateInstance(NULL);
  WGPUAdapter adapter = wasmvmInstanceRequestAdapterSync(inst, NULL);
  if (!adapter) return 3;
  WGPUDevice dev = wasmvmAdapterRequestDeviceSync(adapter, NULL);
  if (!dev) return 4;
  WGPUQueue q = wgpuDeviceGetQueue(dev);
  uint64_t bytes = (uint64_t)n * n * 4;
  WGPUBuffer ba = buf(dev, bytes, WGPUBufferUsage_Storage | WGPUBufferUsage_CopyDst);
  WGPUBuffer bb = buf(dev, bytes, WGPUBufferUsage_Storage | WGPUBufferUsage_CopyDst);
  WGPUBuffer bc = buf(dev, bytes, WGPUBufferUsage_Storage | WGPUBufferUsage_CopySrc);
  WGPUBuffer rd = buf(dev, bytes, WGPUBufferUsage_MapRead | WGPUBufferUsage_CopyDst);
  wgpuQueueWriteBuffer(q, ba, 0, A, bytes);
  wgpuQueueWriteBuffer(q, bb, 0, B, bytes);
  WGPUShaderSourceWGSL src = {0};
  src.chain.sType = WGPUSType_ShaderSourceWGSL;
  src.code = (WGPUStringView){MATMUL_WGSL, WGPU_STRLEN};
  WGPUShaderModuleDescriptor smd = {0};
  smd.nextInChain = &src.chain;
  WGPUShaderModule sm = wgpuDeviceCreateShaderModule(dev, &smd);
  WGPUConstantEntry ce = {0};
  ce.key = (WGPUStringView){"N", 1};
  ce.value = n;
  WGPUComputePipelineDescriptor cpd = {0};
  cpd.compute.module = sm;
  cpd.compute.entryPoint = (WGPUStringView){"main", 4};
  cpd.compute.constantCount = 1;
  cpd.compute.constants = &ce;
  WGPUComputePipeline pipe = wgpuDeviceCreateComputePipeline(dev, &cpd);
  WGPUBindGroupLayout bgl = wgpuComputePipelineGetBindGroupLayout(pipe, 0);
  WGPUBindGroupEntry be[3] = {0};
  WGPUBuffer bs[3] = {ba, bb, bc};
  for (int i = 0; i < 3; i++) {
    be[i].binding = i;
    be[i].buffer = bs[i];
    be[i].size = WGPU_WHOLE_SIZE;
  }
  WGPUBindGroupDescriptor bgd = {0};
  bgd.layout = bgl;
  bgd.entryCount = 3;
  bgd.entries = be;
  WGPUBindGroup bg = wgpuDeviceCreateBindGroup(dev, &bgd);
  wasmvmQueueWaitIdleSync(q);
  for (int rep = 0; rep < reps; rep++) {
    double t = now_ms();
    WGPUCommandEncoder e = wgpuDeviceCreateCommandEncoder(dev, NULL);
    WGPUComputePassEncoder p = wgpuCommandEncoderBeginComputePass(e, NULL);
    wgpuComputePassEncoderSetPipeline(p, pipe);
    wgpuComputePassEncoderSetBindGroup(p, 0, bg, 0, NULL);
    wgpuComputePassEncoderDispatchWorkgroups(p, (n + 7) / 8, (n + 7) / 8, 1);
    wgpuComputePassEncoderEnd(p);
    WGPUCommandBuffer cb = wgpuCommandEncoderFinish(e, NULL);
    wgpuQueueSubmit(q, 1, &cb);
    wasmvmQueueWaitIdleSync(q);
    wgpuCommandBufferRelease(cb);
    wgpuComputePassEncoderRelease(p);
    wgpuCommandEncoderRelease(e);
    printf("rep %.3f\n", now_ms() - t);
  }
  WGPUCommandEncoder e = wgpuDeviceCreateCommandEncoder(dev, NULL);
  wgpuCommandEncoderCopyBufferToBuffer(e, bc, 0, rd, 0, bytes);
  WGPUCommandBuffer cb = wgpuCommandEncoderFinish(e, NULL);
  wgpuQueueSubmit(q, 1, &cb);
  if (wasmvmBufferMapSync(rd, WGPUMapMode_Read, 0, (size_t)bytes) != WGPUMapAsyncStatus_Success) return 5;
  wasmvmBufferReadMapped(rd, 0, C, (size_t)bytes);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 4) return 2;
  int n = atoi(argv[2]), reps = atoi(argv[3]);
  fill(n);
  int rc = strcmp(argv[1], "gpu") == 0 ? gpu(n, reps) : (cpu(n, reps), 0);
  double sum = 0;
  for (int i = 0; i < n * n; i++) sum += C[i];
  printf("checksum %.6f\n", sum);
  return rc;
}
