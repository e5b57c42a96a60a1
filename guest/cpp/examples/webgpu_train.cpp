// Example (C++): attest the VM and every NVIDIA GPU, refuse to start when attestation fails, then train a
// 2-layer MLP (2 → 16 ReLU → 1, full-batch gradient descent on MSE) with WGSL kernels through the standard
// webgpu.h API, print the loss per epoch, and check the final weights against a CPU reference.
//
//   wasmvm-tee run --webgpu --allow-simulated webgpu_train_cpp.wasm [-- --gpus N] [--allow-unattested-gpu]
//
// GPU attestation: when the host reports NVIDIA GPUs (detect_tee "gpu": true), GPUs 0..N-1 (--gpus, default
// 1) must attest and their tokens verify. A host without any NVIDIA GPU (e.g. Mesa's CPU OpenGL ES adapter
// in CI) has nothing to attest: the example refuses unless --allow-unattested-gpu is given.
// Exit codes: 0 trained and within tolerance, 1 VM attestation failed, 2 token invalid, 3 GPU attestation
// failed / unattested GPU refused, 4 WebGPU error, 5 weights outside tolerance.
#define WASMTIME_ATTESTATION_IMPLEMENTATION
#define WGPU_WASMVM_IMPLEMENTATION
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../attestation.hpp"
#include "../webgpu.h"

namespace wa = wasmtime_attestation;

static const int N = 256, D = 2, H = 16, EPOCHS = 40;
static const float LR = 0.1f;
// |w_gpu - w_cpu| tolerance: GPUs may fuse multiply-adds (FMA) and round differently from the CPU.
static const float TOLERANCE = 1e-4f;

// Parameter layout in one buffer: W1 [D*H], b1 [H], W2 [H], b2 [1].
static const int P_W1 = 0, P_B1 = D * H, P_W2 = D * H + H, P_B2 = D * H + 2 * H, NP = D * H + 2 * H + 1;
// Work buffer: A [N*H] (hidden activations), dO [N], dZ [N*H], E [N] (squared errors), loss [1].
static const int K_A = 0, K_DO = N * H, K_DZ = N * H + N, K_E = 2 * N * H + N, K_LOSS = 2 * N * H + 2 * N,
                 NK = 2 * N * H + 2 * N + 1;

static std::string kernels() {
  char head[512];
  std::snprintf(head, sizeof head,
                "const N: u32 = %du; const D: u32 = %du; const H: u32 = %du; const LR: f32 = %.9g;\n"
                "const P_W1: u32 = %du; const P_B1: u32 = %du; const P_W2: u32 = %du; const P_B2: u32 = %du;\n"
                "const K_A: u32 = %du; const K_DO: u32 = %du; const K_DZ: u32 = %du; const K_E: u32 = %du;"
                " const K_LOSS: u32 = %du;\n",
                N, D, H, LR, P_W1, P_B1, P_W2, P_B2, K_A, K_DO, K_DZ, K_E, K_LOSS);
  return std::string(head) + R"WGSL(
@group(0) @binding(0) var<storage, read> data: array<f32>;      // X [N*D], Y [N]
@group(0) @binding(1) var<storage, read_write> p: array<f32>;   // parameters
@group(0) @binding(2) var<storage, read_write> k: array<f32>;   // work

@compute @workgroup_size(64)
fn forward_hidden(@builtin(global_invocation_id) g: vec3u) {
  let i = g.x; if (i >= N * H) { return; }
  let n = i / H; let h = i % H;
  var z = p[P_B1 + h];
  for (var d = 0u; d < D; d++) { z = z + data[n * D + d] * p[P_W1 + d * H + h]; }
  k[K_A + i] = max(z, 0.0);
}

@compute @workgroup_size(64)
fn forward_out(@builtin(global_invocation_id) g: vec3u) {
  let n = g.x; if (n >= N) { return; }
  var o = p[P_B2];
  for (var h = 0u; h < H; h++) { o = o + k[K_A + n * H + h] * p[P_W2 + h]; }
  let e = o - data[N * D + n];
  k[K_DO + n] = 2.0 * e / f32(N);
  k[K_E + n] = e * e;
}

@compute @workgroup_size(64)
fn backward_hidden(@builtin(global_invocation_id) g: vec3u) {
  let i = g.x; if (i >= N * H) { return; }
  let n = i / H; let h = i % H;
  var dz = 0.0;
  if (k[K_A + i] > 0.0) { dz = k[K_DO + n] * p[P_W2 + h]; }
  k[K_DZ + i] = dz;
}

@compute @workgroup_size(64)
fn update(@builtin(global_invocation_id) g: vec3u) {
  let j = g.x;
  if (j < P_B1) {            // W1[d, h]
    let d = j / H; let h = j % H;
    var s = 0.0;
    for (var n = 0u; n < N; n++) { s = s + data[n * D + d] * k[K_DZ + n * H + h]; }
    p[j] = p[j] - LR * s;
  } else if (j < P_W2) {     // b1[h]
    let h = j - P_B1;
    var s = 0.0;
    for (var n = 0u; n < N; n++) { s = s + k[K_DZ + n * H + h]; }
    p[j] = p[j] - LR * s;
  } else if (j < P_B2) {     // W2[h]
    let h = j - P_W2;
    var s = 0.0;
    for (var n = 0u; n < N; n++) { s = s + k[K_A + n * H + h] * k[K_DO + n]; }
    p[j] = p[j] - LR * s;
  } else if (j == P_B2) {    // b2
    var s = 0.0;
    for (var n = 0u; n < N; n++) { s = s + k[K_DO + n]; }
    p[j] = p[j] - LR * s;
  }
}

@compute @workgroup_size(1)
fn loss() {
  var s = 0.0;
  for (var n = 0u; n < N; n++) { s = s + k[K_E + n]; }
  k[K_LOSS] = s / f32(N);
}
)WGSL";
}

// The same computation on the CPU, in f32, in the same order (the reference).
struct Cpu {
  std::vector<float> p, a, dO, dZ;
  float loss = 0;
  void epoch(const std::vector<float>& data) {
    a.assign(N * H, 0);
    dO.assign(N, 0);
    dZ.assign(N * H, 0);
    std::vector<float> e(N);
    for (int n = 0; n < N; n++)
      for (int h = 0; h < H; h++) {
        float z = p[P_B1 + h];
        for (int d = 0; d < D; d++) z = z + data[n * D + d] * p[P_W1 + d * H + h];
        a[n * H + h] = z > 0 ? z : 0;
      }
    for (int n = 0; n < N; n++) {
      float o = p[P_B2];
      for (int h = 0; h < H; h++) o = o + a[n * H + h] * p[P_W2 + h];
      float err = o - data[N * D + n];
      dO[n] = 2.0f * err / float(N);
      e[n] = err * err;
    }
    for (int n = 0; n < N; n++)
      for (int h = 0; h < H; h++) dZ[n * H + h] = a[n * H + h] > 0 ? dO[n] * p[P_W2 + h] : 0.0f;
    std::vector<float> q = p;
    for (int j = 0; j < NP; j++) {
      float s = 0;
      if (j < P_B1) {
        int d = j / H, h = j % H;
        for (int n = 0; n < N; n++) s = s + data[n * D + d] * dZ[n * H + h];
      } else if (j < P_W2) {
        for (int n = 0; n < N; n++) s = s + dZ[n * H + (j - P_B1)];
      } else if (j < P_B2) {
        for (int n = 0; n < N; n++) s = s + a[n * H + (j - P_W2)] * dO[n];
      } else {
        for (int n = 0; n < N; n++) s = s + dO[n];
      }
      q[j] = p[j] - LR * s;
    }
    p = q;
    float s = 0;
    for (int n = 0; n < N; n++) s = s + e[n];
    loss = s / float(N);
  }
};

static uint32_t rng = 12345;
static float uniform() {  // deterministic LCG in [-1, 1)
  rng = rng * 1664525u + 1013904223u;
  return float(rng >> 8) / float(1u << 24) * 2.0f - 1.0f;
}

static WGPUStringView sv(const char* s) { return WGPUStringView{s, WGPU_STRLEN}; }

static std::string last_message() {
  uint32_t n = wasmvmLastMessage(nullptr, 0);
  std::string m(n, '\0');
  wasmvmLastMessage(&m[0], n);
  return m;
}

static int attest(int gpus, bool allow_unattested_gpu) {
  auto tee = wa::detect_tee();
  std::printf("TEE: %s (code 0x%x)\n", tee.tee_type.c_str(), static_cast<unsigned>(tee.code));
  auto vm = wa::attest_vm();
  if (!vm.success) {
    std::fprintf(stderr, "refusing to train: VM attestation failed: %s\n", vm.error.c_str());
    return 1;
  }
  if (!wa::verify_token(vm.token)) {
    std::fprintf(stderr, "refusing to train: VM attestation token did not verify\n");
    return 2;
  }
  std::printf("VM attested: %s%s, token verified\n", vm.tee_type.c_str(), vm.simulated ? " [SIMULATED]" : "");
  char* j = wa_take_json(wa_detect_tee());
  bool nvidia = j && wa_json_bool(j, "gpu");
  std::free(j);
  if (!nvidia) {
    if (!allow_unattested_gpu) {
      std::fprintf(stderr,
                   "refusing to train: the host has no attestable NVIDIA GPU (pass --allow-unattested-gpu to "
                   "train on an unattested adapter)\n");
      return 3;
    }
    std::printf("GPU attestation: no NVIDIA GPU on this host; training on an UNATTESTED adapter (allowed)\n");
    return 0;
  }
  for (int i = 0; i < gpus; i++) {
    auto g = wa::attest_gpu(static_cast<uint32_t>(i));
    if (!g.success) {
      std::fprintf(stderr, "refusing to train: GPU %d attestation failed: %s\n", i, g.error.c_str());
      return 3;
    }
    if (!wa::verify_token(g.token)) {
      std::fprintf(stderr, "refusing to train: GPU %d token did not verify\n", i);
      return 2;
    }
    std::printf("GPU %d attested%s, token verified\n", i, g.simulated ? " [SIMULATED]" : "");
  }
  return 0;
}

int main(int argc, char** argv) {
  int gpus = 1;
  bool allow_unattested_gpu = false;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--allow-unattested-gpu") == 0) allow_unattested_gpu = true;
    if (std::strcmp(argv[i], "--gpus") == 0 && i + 1 < argc) gpus = std::atoi(argv[++i]);
  }
  if (int rc = attest(gpus, allow_unattested_gpu)) return rc;

  // Dataset: y = x0 * x1 + 0.5 * x0 on [-1, 1]^2, and the initial weights, from a fixed LCG.
  std::vector<float> data(N * D + N);
  for (int n = 0; n < N; n++) {
    float x0 = uniform(), x1 = uniform();
    data[n * D] = x0;
    data[n * D + 1] = x1;
    data[N * D + n] = x0 * x1 + 0.5f * x0;
  }
  Cpu cpu;
  cpu.p.resize(NP);
  for (int j = 0; j < NP; j++) cpu.p[j] = j < P_B1 ? uniform() * 0.8f : j < P_W2 ? 0.1f : j < P_B2 ? uniform() * 0.5f : 0.0f;

  WGPUInstance instance = wgpuCreateInstance(nullptr);
  WGPUAdapter adapter = nullptr;
  WGPURequestAdapterCallbackInfo aci = {};
  aci.mode = WGPUCallbackMode_WaitAnyOnly;
  aci.callback = [](WGPURequestAdapterStatus status, WGPUAdapter a, WGPUStringView msg, void* ud, void*) {
    if (status == WGPURequestAdapterStatus_Success) *static_cast<WGPUAdapter*>(ud) = a;
    else std::fprintf(stderr, "no WebGPU adapter: %.*s\n", int(msg.length), msg.data);
  };
  aci.userdata1 = &adapter;
  WGPUFutureWaitInfo wait = {wgpuInstanceRequestAdapter(instance, nullptr, aci), 0};
  wgpuInstanceWaitAny(instance, 1, &wait, UINT64_MAX);
  if (!adapter) return 4;
  WGPUAdapterInfo info;
  wgpuAdapterGetInfo(adapter, &info);
  std::printf("WebGPU adapter: vendor '%s', architecture '%s', device '%s', description '%s'\n", info.vendor.data,
              info.architecture.data, info.device.data, info.description.data);
  wgpuAdapterInfoFreeMembers(info);

  WGPUDevice device = nullptr;
  WGPURequestDeviceCallbackInfo dci = {};
  dci.mode = WGPUCallbackMode_AllowSpontaneous;
  dci.callback = [](WGPURequestDeviceStatus status, WGPUDevice d, WGPUStringView msg, void* ud, void*) {
    if (status == WGPURequestDeviceStatus_Success) *static_cast<WGPUDevice*>(ud) = d;
    else std::fprintf(stderr, "requestDevice failed: %.*s\n", int(msg.length), msg.data);
  };
  dci.userdata1 = &device;
  wgpuAdapterRequestDevice(adapter, nullptr, dci);
  if (!device) return 4;
  WGPUQueue queue = wgpuDeviceGetQueue(device);
  wgpuDevicePushErrorScope(device, WGPUErrorFilter_Validation);

  auto buffer = [&](uint64_t bytes, WGPUBufferUsage usage) {
    WGPUBufferDescriptor d = {};
    d.usage = usage;
    d.size = bytes;
    return wgpuDeviceCreateBuffer(device, &d);
  };
  const WGPUBufferUsage storage = WGPUBufferUsage_Storage | WGPUBufferUsage_CopyDst | WGPUBufferUsage_CopySrc;
  WGPUBuffer bData = buffer(data.size() * 4, storage);
  WGPUBuffer bParams = buffer(NP * 4, storage);
  WGPUBuffer bWork = buffer(NK * 4, storage);
  WGPUBuffer bRead = buffer(NP * 4, WGPUBufferUsage_MapRead | WGPUBufferUsage_CopyDst);
  wgpuQueueWriteBuffer(queue, bData, 0, data.data(), data.size() * 4);
  wgpuQueueWriteBuffer(queue, bParams, 0, cpu.p.data(), NP * 4);

  std::string src = kernels();
  WGPUShaderSourceWGSL wgsl = {};
  wgsl.chain.sType = WGPUSType_ShaderSourceWGSL;
  wgsl.code = WGPUStringView{src.data(), src.size()};
  WGPUShaderModuleDescriptor smd = {};
  smd.nextInChain = &wgsl.chain;
  WGPUShaderModule module = wgpuDeviceCreateShaderModule(device, &smd);

  WGPUBindGroupLayoutEntry le[3] = {};
  const WGPUBufferBindingType types[3] = {WGPUBufferBindingType_ReadOnlyStorage, WGPUBufferBindingType_Storage,
                                          WGPUBufferBindingType_Storage};
  for (int i = 0; i < 3; i++) {
    le[i].binding = i;
    le[i].visibility = WGPUShaderStage_Compute;
    le[i].buffer.type = types[i];
  }
  WGPUBindGroupLayoutDescriptor bgld = {};
  bgld.entryCount = 3;
  bgld.entries = le;
  WGPUBindGroupLayout bgl = wgpuDeviceCreateBindGroupLayout(device, &bgld);
  WGPUPipelineLayoutDescriptor pld = {};
  pld.bindGroupLayoutCount = 1;
  pld.bindGroupLayouts = &bgl;
  WGPUPipelineLayout layout = wgpuDeviceCreatePipelineLayout(device, &pld);
  const char* names[5] = {"forward_hidden", "forward_out", "backward_hidden", "update", "loss"};
  WGPUComputePipeline pipes[5];
  for (int i = 0; i < 5; i++) {
    WGPUComputePipelineDescriptor cpd = {};
    cpd.layout = layout;
    cpd.compute.module = module;
    cpd.compute.entryPoint = sv(names[i]);
    pipes[i] = wgpuDeviceCreateComputePipeline(device, &cpd);
  }
  WGPUBindGroupEntry be[3] = {};
  WGPUBuffer bufs[3] = {bData, bParams, bWork};
  for (int i = 0; i < 3; i++) {
    be[i].binding = i;
    be[i].buffer = bufs[i];
    be[i].size = WGPU_WHOLE_SIZE;
  }
  WGPUBindGroupDescriptor bgd = {};
  bgd.layout = bgl;
  bgd.entryCount = 3;
  bgd.entries = be;
  WGPUBindGroup group = wgpuDeviceCreateBindGroup(device, &bgd);

  WGPUErrorType setup = wasmvmDevicePopErrorScopeSync(device);
  if (setup != WGPUErrorType_NoError) {
    std::fprintf(stderr, "WebGPU setup failed: %s\n", last_message().c_str());
    return 4;
  }

  const uint32_t groups[5] = {(N * H + 63) / 64, (N + 63) / 64, (N * H + 63) / 64, (NP + 63) / 64, 1};
  const int order[5] = {0, 1, 2, 3, 4};  // loss is computed on the E of this epoch's forward pass
  float loss = 0;
  for (int epoch = 0; epoch < EPOCHS; epoch++) {
    WGPUCommandEncoder enc = wgpuDeviceCreateCommandEncoder(device, nullptr);
    WGPUComputePassEncoder pass = wgpuCommandEncoderBeginComputePass(enc, nullptr);
    wgpuComputePassEncoderSetBindGroup(pass, 0, group, 0, nullptr);
    for (int s : order) {
      wgpuComputePassEncoderSetPipeline(pass, pipes[s]);
      wgpuComputePassEncoderDispatchWorkgroups(pass, groups[s], 1, 1);
    }
    wgpuComputePassEncoderEnd(pass);
    wgpuComputePassEncoderRelease(pass);
    wgpuCommandEncoderCopyBufferToBuffer(enc, bWork, uint64_t(K_LOSS) * 4, bRead, 0, 4);
    WGPUCommandBuffer cmd = wgpuCommandEncoderFinish(enc, nullptr);
    wgpuCommandEncoderRelease(enc);
    wgpuQueueSubmit(queue, 1, &cmd);
    wgpuCommandBufferRelease(cmd);

    bool mapped = false;
    WGPUBufferMapCallbackInfo mci = {};
    mci.mode = WGPUCallbackMode_WaitAnyOnly;
    mci.callback = [](WGPUMapAsyncStatus status, WGPUStringView msg, void* ud, void*) {
      *static_cast<bool*>(ud) = status == WGPUMapAsyncStatus_Success;
      if (status != WGPUMapAsyncStatus_Success) std::fprintf(stderr, "map failed: %.*s\n", int(msg.length), msg.data);
    };
    mci.userdata1 = &mapped;
    WGPUFutureWaitInfo w = {wgpuBufferMapAsync(bRead, WGPUMapMode_Read, 0, 4, mci), 0};
    wgpuInstanceWaitAny(instance, 1, &w, UINT64_MAX);
    if (!mapped) return 4;
    std::memcpy(&loss, wgpuBufferGetConstMappedRange(bRead, 0, 4), 4);
    wgpuBufferUnmap(bRead);
    cpu.epoch(data);
    std::printf("epoch %2d: loss %.6f (cpu %.6f)\n", epoch + 1, loss, cpu.loss);
  }

  // Final weights back from the GPU.
  WGPUCommandEncoder enc = wgpuDeviceCreateCommandEncoder(device, nullptr);
  wgpuCommandEncoderCopyBufferToBuffer(enc, bParams, 0, bRead, 0, NP * 4);
  WGPUCommandBuffer cmd = wgpuCommandEncoderFinish(enc, nullptr);
  wgpuQueueSubmit(queue, 1, &cmd);
  if (wasmvmBufferMapSync(bRead, WGPUMapMode_Read, 0, NP * 4) != WGPUMapAsyncStatus_Success) {
    std::fprintf(stderr, "map failed: %s\n", last_message().c_str());
    return 4;
  }
  std::vector<float> w(NP);
  std::memcpy(w.data(), wgpuBufferGetConstMappedRange(bRead, 0, NP * 4), NP * 4);
  wgpuBufferUnmap(bRead);
  float err = 0;
  for (int j = 0; j < NP; j++) err = std::fmax(err, std::fabs(w[j] - cpu.p[j]));
  WGPUErrorType late = wasmvmDeviceTakeUncapturedError(device);
  if (late != WGPUErrorType_NoError) {
    std::fprintf(stderr, "WebGPU error: %s\n", last_message().c_str());
    return 4;
  }
  wgpuBufferDestroy(bData);
  wgpuDeviceRelease(device);
  std::printf("trained: loss %.6f, max |w_gpu - w_cpu| = %.3g\n", loss, err);
  if (!(err <= TOLERANCE)) {
    std::fprintf(stderr, "weights differ from the CPU reference by %.3g > %.0e\n", err, TOLERANCE);
    return 5;
  }
  return 0;
}
