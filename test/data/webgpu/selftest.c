// WebGPU self-test guest for test/host/webgpu.test.ts: `selftest MODE` exercises every wasmvm_webgpu function
// (MODE all) or one guest misuse. Built by test-toolchains/webgpu.test.ts (clang + wasi-libc):
//   clang --target=wasm32-wasi -O2 -o selftest.wasm selftest.c
#define WGPU_WASMVM_IMPLEMENTATION
#include "../../../guest/cpp/webgpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static WGPUInstance inst;
static WGPUAdapter adapter;
static WGPUDevice dev;
static WGPUQueue queue;

#define CHECK(c, what)                                  \
  do {                                                  \
    if (!(c)) {                                         \
      printf("FAIL %s (line %d)\n", what, __LINE__);    \
      exit(1);                                          \
    }                                                   \
    printf("ok %s\n", what);                            \
  } while (0)

static char msg[4096];
static const char* last(void) {
  uint32_t n = wasmvmLastMessage(msg, sizeof msg - 1);
  msg[n < sizeof msg - 1 ? n : sizeof msg - 1] = 0;
  return msg;
}

static void on_adapter(WGPURequestAdapterStatus s, WGPUAdapter a, WGPUStringView m, void* u1, void* u2) {
  (void)m; (void)u2;
  if (s == WGPURequestAdapterStatus_Success) *(WGPUAdapter*)u1 = a;
}
static void on_device(WGPURequestDeviceStatus s, WGPUDevice d, WGPUStringView m, void* u1, void* u2) {
  (void)m; (void)u2;
  if (s == WGPURequestDeviceStatus_Success) *(WGPUDevice*)u1 = d;
}
static void on_map(WGPUMapAsyncStatus s, WGPUStringView m, void* u1, void* u2) {
  (void)m; (void)u2;
  *(int*)u1 = s;
}
static void on_done(WGPUQueueWorkDoneStatus s, WGPUStringView m, void* u1, void* u2) {
  (void)m; (void)u2;
  *(int*)u1 = s;
}
static int pop_type;
static char pop_msg[4096];
static void on_pop(WGPUPopErrorScopeStatus s, WGPUErrorType t, WGPUStringView m, void* u1, void* u2) {
  (void)u1; (void)u2;
  pop_type = s == WGPUPopErrorScopeStatus_Success ? (int)t : 0;
  size_t n = m.length < sizeof pop_msg - 1 ? m.length : sizeof pop_msg - 1;
  if (m.data) memcpy(pop_msg, m.data, n);
  pop_msg[n] = 0;
}

static void setup(void) {
  inst = wgpuCreateInstance(NULL);
  WGPURequestAdapterCallbackInfo ai = {0};
  ai.mode = WGPUCallbackMode_WaitAnyOnly;
  ai.callback = on_adapter;
  ai.userdata1 = &adapter;
  WGPUFutureWaitInfo w = {wgpuInstanceRequestAdapter(inst, NULL, ai), 0};
  wgpuInstanceWaitAny(inst, 1, &w, UINT64_MAX);
  if (!adapter) {
    printf("no adapter: %s\n", last());
    exit(3);
  }
  WGPURequestDeviceCallbackInfo di = {0};
  di.mode = WGPUCallbackMode_AllowProcessEvents;
  di.callback = on_device;
  di.userdata1 = &dev;
  WGPUDeviceDescriptor dd = {0};
  dd.label = (WGPUStringView){"selftest", WGPU_STRLEN};
  wgpuAdapterRequestDevice(adapter, &dd, di);
  wgpuInstanceProcessEvents(inst);
  if (!dev) exit(4);
  queue = wgpuDeviceGetQueue(dev);
}

static WGPUBuffer buffer(uint64_t size, WGPUBufferUsage usage, int mapped) {
  WGPUBufferDescriptor d = {0};
  d.usage = usage;
  d.size = size;
  d.mappedAtCreation = mapped;
  return wgpuDeviceCreateBuffer(dev, &d);
}

static int pop(void) {
  WGPUPopErrorScopeCallbackInfo pi = {0};
  pi.mode = WGPUCallbackMode_WaitAnyOnly;
  pi.callback = on_pop;
  WGPUFutureWaitInfo w = {wgpuDevicePopErrorScope(dev, pi), 0};
  wgpuInstanceWaitAny(inst, 1, &w, UINT64_MAX);
  return pop_type;
}

static const char* WGSL =
    "override SCALE: f32 = 1.0;\n"
    "@group(0) @binding(0) var<storage, read_write> v: array<f32>;\n"
    "@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {\n"
    "  if (g.x < arrayLength(&v)) { v[g.x] = v[g.x] * SCALE + 1.0; }\n"
    "}\n";

static WGPUShaderModule shader(const char* code) {
  WGPUShaderSourceWGSL src = {0};
  src.chain.sType = WGPUSType_ShaderSourceWGSL;
  src.code = (WGPUStringView){code, WGPU_STRLEN};
  WGPUShaderModuleDescriptor d = {0};
  d.nextInChain = &src.chain;
  return wgpuDeviceCreateShaderModule(dev, &d);
}

static void read_back(WGPUBuffer src, uint64_t off, float* out, size_t n) {
  WGPUBuffer rb = buffer(n * 4, WGPUBufferUsage_MapRead | WGPUBufferUsage_CopyDst, 0);
  WGPUCommandEncoder e = wgpuDeviceCreateCommandEncoder(dev, NULL);
  wgpuCommandEncoderCopyBufferToBuffer(e, src, off, rb, 0, n * 4);
  WGPUCommandBuffer cb = wgpuCommandEncoderFinish(e, NULL);
  wgpuQueueSubmit(queue, 1, &cb);
  wgpuCommandBufferRelease(cb);
  wgpuCommandEncoderRelease(e);
  int st = 0;
  WGPUBufferMapCallbackInfo mi = {0};
  mi.mode = WGPUCallbackMode_AllowSpontaneous;
  mi.callback = on_map;
  mi.userdata1 = &st;
  wgpuBufferMapAsync(rb, WGPUMapMode_Read, 0, WGPU_WHOLE_MAP_SIZE, mi);
  if (st != WGPUMapAsyncStatus_Success) {
    printf("FAIL map: %s\n", last());
    exit(1);
  }
  memcpy(out, wgpuBufferGetConstMappedRange(rb, 0, n * 4), n * 4);
  wgpuBufferUnmap(rb);
  wgpuBufferRelease(rb);
}

static int all(void) {
  WGPUAdapterInfo info;
  CHECK(wgpuAdapterGetInfo(adapter, &info) == WGPUStatus_Success, "wgpuAdapterGetInfo");
  printf("adapter: %s / %s\n", info.device.data, info.description.data);
  wgpuAdapterInfoFreeMembers(info);
  wgpuDevicePushErrorScope(dev, WGPUErrorFilter_Validation);

  const int n = 256;
  WGPUBuffer b = buffer(n * 4, WGPUBufferUsage_Storage | WGPUBufferUsage_CopyDst | WGPUBufferUsage_CopySrc, 0);
  CHECK(b != NULL, "wgpuDeviceCreateBuffer");
  CHECK(wgpuBufferGetSize(b) == n * 4, "wgpuBufferGetSize");
  CHECK(wgpuBufferGetUsage(b) == (WGPUBufferUsage_Storage | WGPUBufferUsage_CopyDst | WGPUBufferUsage_CopySrc),
        "wgpuBufferGetUsage");
  CHECK(wgpuBufferGetMapState(b) == WGPUBufferMapState_Unmapped, "wgpuBufferGetMapState");
  float x[256];
  for (int i = 0; i < n; i++) x[i] = (float)i;
  wgpuQueueWriteBuffer(queue, b, 0, x, sizeof x);

  WGPUShaderModule sm = shader(WGSL);
  CHECK(sm != NULL, "wgpuDeviceCreateShaderModule");
  WGPUBindGroupLayoutEntry le = {0};
  le.binding = 0;
  le.visibility = WGPUShaderStage_Compute;
  le.buffer.type = WGPUBufferBindingType_Storage;
  WGPUBindGroupLayoutDescriptor bld = {0};
  bld.entryCount = 1;
  bld.entries = &le;
  WGPUBindGroupLayout bgl = wgpuDeviceCreateBindGroupLayout(dev, &bld);
  CHECK(bgl != NULL, "wgpuDeviceCreateBindGroupLayout");
  WGPUPipelineLayoutDescriptor pld = {0};
  pld.bindGroupLayoutCount = 1;
  pld.bindGroupLayouts = &bgl;
  WGPUPipelineLayout pl = wgpuDeviceCreatePipelineLayout(dev, &pld);
  CHECK(pl != NULL, "wgpuDeviceCreatePipelineLayout");
  WGPUConstantEntry c = {0};
  c.key = (WGPUStringView){"SCALE", WGPU_STRLEN};
  c.value = 2.0;
  WGPUComputePipelineDescriptor cpd = {0};
  cpd.layout = pl;
  cpd.compute.module = sm;
  cpd.compute.entryPoint = (WGPUStringView){"main", 4};
  cpd.compute.constantCount = 1;
  cpd.compute.constants = &c;
  WGPUComputePipeline pipe = wgpuDeviceCreateComputePipeline(dev, &cpd);
  CHECK(pipe != NULL, "wgpuDeviceCreateComputePipeline");
  WGPUBindGroupLayout got = wgpuComputePipelineGetBindGroupLayout(pipe, 0);
  CHECK(got != NULL, "wgpuComputePipelineGetBindGroupLayout");
  wgpuBindGroupLayoutRelease(got);
  WGPUBindGroupEntry be = {0};
  be.binding = 0;
  be.buffer = b;
  be.size = WGPU_WHOLE_SIZE;
  WGPUBindGroupDescriptor bgd = {0};
  bgd.layout = bgl;
  bgd.entryCount = 1;
  bgd.entries = &be;
  WGPUBindGroup bg = wgpuDeviceCreateBindGroup(dev, &bgd);
  CHECK(bg != NULL, "wgpuDeviceCreateBindGroup");

  WGPUCommandEncoder e = wgpuDeviceCreateCommandEncoder(dev, NULL);
  CHECK(e != NULL, "wgpuDeviceCreateCommandEncoder");
  WGPUComputePassEncoder p = wgpuCommandEncoderBeginComputePass(e, NULL);
  CHECK(p != NULL, "wgpuCommandEncoderBeginComputePass");
  wgpuComputePassEncoderSetPipeline(p, pipe);
  wgpuComputePassEncoderSetBindGroup(p, 0, bg, 0, NULL);
  wgpuComputePassEncoderDispatchWorkgroups(p, (n + 63) / 64, 1, 1);
  wgpuComputePassEncoderEnd(p);
  wgpuComputePassEncoderAddRef(p);
  wgpuComputePassEncoderRelease(p);
  wgpuComputePassEncoderRelease(p);
  wgpuCommandEncoderClearBuffer(e, b, 0, 16); /* x[0..3] = 0 */
  WGPUCommandBuffer cb = wgpuCommandEncoderFinish(e, NULL);
  CHECK(cb != NULL, "wgpuCommandEncoderFinish");
  wgpuQueueSubmit(queue, 1, &cb);
  int done = 0;
  WGPUQueueWorkDoneCallbackInfo qi = {0};
  qi.mode = WGPUCallbackMode_AllowSpontaneous;
  qi.callback = on_done;
  qi.userdata1 = &done;
  wgpuQueueOnSubmittedWorkDone(queue, qi);
  CHECK(done == WGPUQueueWorkDoneStatus_Success, "wgpuQueueOnSubmittedWorkDone");
  float y[256];
  read_back(b, 0, y, n);
  int good = 1;
  for (int i = 0; i < n; i++) good &= y[i] == (i < 4 ? 0.0f : 2.0f * i + 1.0f);
  CHECK(good, "dispatch result (override constant, clearBuffer, copy, map read)");

  /* mappedAtCreation + GetMappedRange write-back */
  WGPUBuffer m = buffer(16, WGPUBufferUsage_CopySrc, 1);
  CHECK(wgpuBufferGetMapState(m) == WGPUBufferMapState_Mapped, "mappedAtCreation");
  float* w = (float*)wgpuBufferGetMappedRange(m, 0, 16);
  for (int i = 0; i < 4; i++) w[i] = 7.0f + i;
  wgpuBufferUnmap(m);
  float z[4];
  read_back(m, 0, z, 4);
  CHECK(z[0] == 7.0f && z[3] == 10.0f, "wgpuBufferGetMappedRange write-back");

  CHECK(pop() == WGPUErrorType_NoError, "wgpuDevicePopErrorScope (no error)");
  CHECK(wasmvmDeviceTakeUncapturedError(dev) == WGPUErrorType_NoError, "wasmvmDeviceTakeUncapturedError");

  wgpuBufferAddRef(b);
  wgpuBufferRelease(b);
  wgpuBufferDestroy(m);
  wgpuBufferRelease(m);
  wgpuBindGroupAddRef(bg);
  wgpuBindGroupRelease(bg);
  wgpuBindGroupRelease(bg);
  wgpuComputePipelineAddRef(pipe);
  wgpuComputePipelineRelease(pipe);
  wgpuComputePipelineRelease(pipe);
  wgpuPipelineLayoutAddRef(pl);
  wgpuPipelineLayoutRelease(pl);
  wgpuPipelineLayoutRelease(pl);
  wgpuBindGroupLayoutAddRef(bgl);
  wgpuBindGroupLayoutRelease(bgl);
  wgpuBindGroupLayoutRelease(bgl);
  wgpuShaderModuleAddRef(sm);
  wgpuShaderModuleRelease(sm);
  wgpuShaderModuleRelease(sm);
  wgpuCommandBufferAddRef(cb);
  wgpuCommandBufferRelease(cb);
  wgpuCommandBufferRelease(cb);
  wgpuCommandEncoderAddRef(e);
  wgpuCommandEncoderRelease(e);
  wgpuCommandEncoderRelease(e);
  wgpuBufferRelease(b);
  wgpuQueueAddRef(queue);
  wgpuQueueRelease(queue);
  wgpuQueueRelease(queue);
  wgpuDeviceAddRef(dev);
  wgpuDeviceRelease(dev);
  wgpuDeviceDestroy(dev);
  wgpuDeviceRelease(dev);
  wgpuAdapterAddRef(adapter);
  wgpuAdapterRelease(adapter);
  wgpuAdapterRelease(adapter);
  wgpuInstanceAddRef(inst);
  wgpuInstanceRelease(inst);
  wgpuInstanceRelease(inst);
  printf("selftest: ok\n");
  return 0;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "all";
  setup();
  if (!strcmp(mode, "all")) return all();
  if (!strcmp(mode, "zero")) { /* a new buffer reads as zeros, whatever ran before */
    float v[1024];
    WGPUBuffer b = buffer(sizeof v, WGPUBufferUsage_Storage | WGPUBufferUsage_CopySrc | WGPUBufferUsage_CopyDst, 0);
    read_back(b, 0, v, 1024);
    int zero = 1;
    for (int i = 0; i < 1024; i++) zero &= v[i] == 0.0f;
    for (int i = 0; i < 1024; i++) v[i] = 42.0f;
    wgpuQueueWriteBuffer(queue, b, 0, v, sizeof v);
    printf("zero: %s\n", zero ? "yes" : "no");
    return zero ? 0 : 1; /* the buffer (full of 42s) is left for the host to destroy */
  }
  if (!strcmp(mode, "bad-handle")) {
    wgpuBufferDestroy((WGPUBuffer)(uintptr_t)12345);
    return 0;
  }
  if (!strcmp(mode, "wrong-kind")) {
    wgpuBufferGetSize((WGPUBuffer)dev);
    return 0;
  }
  if (!strcmp(mode, "oob")) {
    WGPUBuffer b = buffer(1024, WGPUBufferUsage_CopyDst, 0);
    wgpuQueueWriteBuffer(queue, b, 0, (void*)(uintptr_t)0xFFFFFF00u, 1024);
    return 0;
  }
  if (!strcmp(mode, "oob-descriptor")) {
    wgpuDeviceCreateBuffer(dev, (WGPUBufferDescriptor*)(uintptr_t)0xFFFFFFF0u);
    return 0;
  }
  if (!strcmp(mode, "oversize")) {
    wgpuDevicePushErrorScope(dev, WGPUErrorFilter_Validation);
    WGPUBuffer b = buffer(1ull << 40, WGPUBufferUsage_Storage, 0);
    printf("handle: %s\n", b ? "non-null" : "null");
    printf("error %d: %s\n", pop(), pop_msg);
    return 0;
  }
  if (!strcmp(mode, "bad-wgsl")) {
    wgpuDevicePushErrorScope(dev, WGPUErrorFilter_Validation);
    shader("@compute @workgroup_size(1) fn main() { let x: f32 = undefined_thing; }");
    printf("error %d: %s\n", pop(), pop_msg);
    return 0;
  }
  if (!strcmp(mode, "use-after-destroy")) {
    WGPUBuffer a = buffer(64, WGPUBufferUsage_CopySrc, 0);
    WGPUBuffer b = buffer(64, WGPUBufferUsage_CopyDst, 0);
    wgpuBufferDestroy(a);
    wgpuDevicePushErrorScope(dev, WGPUErrorFilter_Validation);
    WGPUCommandEncoder e = wgpuDeviceCreateCommandEncoder(dev, NULL);
    wgpuCommandEncoderCopyBufferToBuffer(e, a, 0, b, 0, 64);
    WGPUCommandBuffer cb = wgpuCommandEncoderFinish(e, NULL);
    wgpuQueueSubmit(queue, 1, &cb);
    printf("error %d: %s\n", pop(), pop_msg);
    return 0;
  }
  if (!strcmp(mode, "use-after-release")) {
    WGPUBuffer a = buffer(64, WGPUBufferUsage_CopySrc, 0);
    wgpuBufferRelease(a);
    wgpuBufferGetSize(a);
    return 0;
  }
  if (!strcmp(mode, "dispatch-cap")) {
    wgpuDevicePushErrorScope(dev, WGPUErrorFilter_Validation);
    WGPUCommandEncoder e = wgpuDeviceCreateCommandEncoder(dev, NULL);
    WGPUComputePassEncoder p = wgpuCommandEncoderBeginComputePass(e, NULL);
    wgpuComputePassEncoderDispatchWorkgroups(p, 65535, 65535, 1);
    printf("error %d: %s\n", pop(), pop_msg);
    return 0;
  }
  if (!strcmp(mode, "objects")) {
    wgpuDevicePushErrorScope(dev, WGPUErrorFilter_OutOfMemory);
    int made = 0;
    while (made < 100000 && buffer(4, WGPUBufferUsage_CopyDst, 0)) made++;
    printf("made %d\n", made);
    printf("error %d: %s\n", pop(), pop_msg);
    return 0;
  }
  if (!strcmp(mode, "big-write")) { /* run with maxBufferBytes 4096: refused before copying */
    static char big[8192];
    WGPUBuffer b = buffer(1024, WGPUBufferUsage_CopyDst, 0);
    wgpuDevicePushErrorScope(dev, WGPUErrorFilter_Validation);
    wgpuQueueWriteBuffer(queue, b, 0, big, sizeof big);
    printf("error %d: %s\n", pop(), pop_msg);
    return 0;
  }
  if (!strcmp(mode, "hang")) { /* killed at its deadline: the host's idle sweep destroys its objects */
    buffer(1024, WGPUBufferUsage_CopyDst, 0);
    wasmvmQueueWaitIdleSync(queue);
    for (volatile int i = 0;; i++) {
    }
  }
  if (!strcmp(mode, "no-scope")) {
    printf("pop %d\n", (int)wasmvmDevicePopErrorScopeSync(dev));
    printf("message: %s\n", last());
    return 0;
  }
  if (!strcmp(mode, "uncaptured")) {
    shader("not wgsl at all");
    printf("uncaptured %d: %s\n", (int)wasmvmDeviceTakeUncapturedError(dev), last());
    return 0;
  }
  if (!strcmp(mode, "spin")) { /* many calls: gas accounting */
    for (int i = 0; i < 100; i++) wgpuBufferGetSize(buffer(4, WGPUBufferUsage_CopyDst, 0));
    return 0;
  }
  printf("unknown mode %s\n", mode);
  return 2;
}
