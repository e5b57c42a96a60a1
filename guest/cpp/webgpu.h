/*
 * webgpu.h — the compute subset of the standard WebGPU C API (webgpu-native/webgpu-headers, the
 * header Dawn and wgpu-native share) for wasm32 guests of wasmvm-tee. Names, enum values and struct
 * layouts follow webgpu.h; only the compute subset exists (docs/webgpu.md lists every function).
 *
 * The synchronous functions are Wasm imports from the host module "wasmvm_webgpu". The
 * asynchronous ones (wgpuInstanceRequestAdapter, wgpuAdapterRequestDevice, wgpuBufferMapAsync,
 * wgpuQueueOnSubmittedWorkDone, wgpuDevicePopErrorScope), wgpuInstanceWaitAny /
 * wgpuInstanceProcessEvents and the mapped-range functions are implemented in C below, on top of
 * blocking host imports (wasmvmXxxSync): define WGPU_WASMVM_IMPLEMENTATION in exactly one C or C++
 * file before including this header. Callbacks run when their future is waited on
 * (WaitAnyOnly), on ProcessEvents (AllowProcessEvents) or immediately (AllowSpontaneous).
 *
 * Objects are per-execution integer handles (never host pointers); everything is destroyed when
 * the execution ends. A bad handle or an out-of-bounds pointer stops the guest (host trap); WebGPU
 * validation errors (invalid WGSL, bad bindings, operator limits) go to error scopes and to
 * wasmvmDeviceTakeUncapturedError, with the message.
 */
#ifndef WEBGPU_H_
#define WEBGPU_H_

#include <stddef.h>
#include <stdint.h>

#if defined(__cplusplus)
extern "C" {
#endif

#define WGPU_IMPORT(name) __attribute__((import_module("wasmvm_webgpu"), import_name(#name)))

#define WGPU_ARRAY_LAYER_COUNT_UNDEFINED (UINT32_MAX)
#define WGPU_COPY_STRIDE_UNDEFINED (UINT32_MAX)
#define WGPU_LIMIT_U32_UNDEFINED (UINT32_MAX)
#define WGPU_LIMIT_U64_UNDEFINED (UINT64_MAX)
#define WGPU_STRLEN (SIZE_MAX)
#define WGPU_WHOLE_MAP_SIZE (SIZE_MAX)
#define WGPU_WHOLE_SIZE (UINT64_MAX)

typedef uint64_t WGPUFlags;
typedef uint32_t WGPUBool;

typedef struct WGPUAdapterImpl* WGPUAdapter;
typedef struct WGPUBindGroupImpl* WGPUBindGroup;
typedef struct WGPUBindGroupLayoutImpl* WGPUBindGroupLayout;
typedef struct WGPUBufferImpl* WGPUBuffer;
typedef struct WGPUCommandBufferImpl* WGPUCommandBuffer;
typedef struct WGPUCommandEncoderImpl* WGPUCommandEncoder;
typedef struct WGPUComputePassEncoderImpl* WGPUComputePassEncoder;
typedef struct WGPUComputePipelineImpl* WGPUComputePipeline;
typedef struct WGPUDeviceImpl* WGPUDevice;
typedef struct WGPUInstanceImpl* WGPUInstance;
typedef struct WGPUPipelineLayoutImpl* WGPUPipelineLayout;
typedef struct WGPUQueueImpl* WGPUQueue;
typedef struct WGPUShaderModuleImpl* WGPUShaderModule;
/* Not part of the compute subset; declared so the standard structs keep their layout. */
typedef struct WGPUSamplerImpl* WGPUSampler;
typedef struct WGPUSurfaceImpl* WGPUSurface;
typedef struct WGPUTextureViewImpl* WGPUTextureView;
typedef struct WGPUQuerySetImpl* WGPUQuerySet;

typedef struct WGPUStringView {
    char const* data;
    size_t length;
} WGPUStringView;
#define WGPU_STRING_VIEW_INIT {NULL, WGPU_STRLEN}

typedef enum WGPUSType {
    WGPUSType_ShaderSourceSPIRV = 0x00000001,
    WGPUSType_ShaderSourceWGSL = 0x00000002,
    WGPUSType_Force32 = 0x7FFFFFFF
} WGPUSType;

typedef struct WGPUChainedStruct {
    struct WGPUChainedStruct* next;
    WGPUSType sType;
} WGPUChainedStruct;

typedef enum WGPUStatus { WGPUStatus_Success = 1, WGPUStatus_Error = 2, WGPUStatus_Force32 = 0x7FFFFFFF } WGPUStatus;
typedef enum WGPUWaitStatus {
    WGPUWaitStatus_Success = 1,
    WGPUWaitStatus_TimedOut = 2,
    WGPUWaitStatus_Error = 3,
    WGPUWaitStatus_Force32 = 0x7FFFFFFF
} WGPUWaitStatus;
typedef enum WGPUCallbackMode {
    WGPUCallbackMode_WaitAnyOnly = 1,
    WGPUCallbackMode_AllowProcessEvents = 2,
    WGPUCallbackMode_AllowSpontaneous = 3,
    WGPUCallbackMode_Force32 = 0x7FFFFFFF
} WGPUCallbackMode;
typedef enum WGPURequestAdapterStatus {
    WGPURequestAdapterStatus_Success = 1,
    WGPURequestAdapterStatus_CallbackCancelled = 2,
    WGPURequestAdapterStatus_Unavailable = 3,
    WGPURequestAdapterStatus_Error = 4,
    WGPURequestAdapterStatus_Force32 = 0x7FFFFFFF
} WGPURequestAdapterStatus;
typedef enum WGPURequestDeviceStatus {
    WGPURequestDeviceStatus_Success = 1,
    WGPURequestDeviceStatus_CallbackCancelled = 2,
    WGPURequestDeviceStatus_Error = 3,
    WGPURequestDeviceStatus_Force32 = 0x7FFFFFFF
} WGPURequestDeviceStatus;
typedef enum WGPUMapAsyncStatus {
    WGPUMapAsyncStatus_Success = 1,
    WGPUMapAsyncStatus_CallbackCancelled = 2,
    WGPUMapAsyncStatus_Error = 3,
    WGPUMapAsyncStatus_Aborted = 4,
    WGPUMapAsyncStatus_Force32 = 0x7FFFFFFF
} WGPUMapAsyncStatus;
typedef enum WGPUQueueWorkDoneStatus {
    WGPUQueueWorkDoneStatus_Success = 1,
    WGPUQueueWorkDoneStatus_CallbackCancelled = 2,
    WGPUQueueWorkDoneStatus_Error = 3,
    WGPUQueueWorkDoneStatus_Force32 = 0x7FFFFFFF
} WGPUQueueWorkDoneStatus;
typedef enum WGPUPopErrorScopeStatus {
    WGPUPopErrorScopeStatus_Success = 1,
    WGPUPopErrorScopeStatus_CallbackCancelled = 2,
    WGPUPopErrorScopeStatus_Error = 3,
    WGPUPopErrorScopeStatus_Force32 = 0x7FFFFFFF
} WGPUPopErrorScopeStatus;
typedef enum WGPUErrorType {
    WGPUErrorType_NoError = 1,
    WGPUErrorType_Validation = 2,
    WGPUErrorType_OutOfMemory = 3,
    WGPUErrorType_Internal = 4,
    WGPUErrorType_Unknown = 5,
    WGPUErrorType_Force32 = 0x7FFFFFFF
} WGPUErrorType;
typedef enum WGPUErrorFilter {
    WGPUErrorFilter_Validation = 1,
    WGPUErrorFilter_OutOfMemory = 2,
    WGPUErrorFilter_Internal = 3,
    WGPUErrorFilter_Force32 = 0x7FFFFFFF
} WGPUErrorFilter;
typedef enum WGPUBufferBindingType {
    WGPUBufferBindingType_BindingNotUsed = 0,
    WGPUBufferBindingType_Undefined = 1,
    WGPUBufferBindingType_Uniform = 2,
    WGPUBufferBindingType_Storage = 3,
    WGPUBufferBindingType_ReadOnlyStorage = 4,
    WGPUBufferBindingType_Force32 = 0x7FFFFFFF
} WGPUBufferBindingType;
typedef enum WGPUFeatureLevel {
    WGPUFeatureLevel_Undefined = 0,
    WGPUFeatureLevel_Compatibility = 1,
    WGPUFeatureLevel_Core = 2,
    WGPUFeatureLevel_Force32 = 0x7FFFFFFF
} WGPUFeatureLevel;
typedef enum WGPUPowerPreference {
    WGPUPowerPreference_Undefined = 0,
    WGPUPowerPreference_LowPower = 1,
    WGPUPowerPreference_HighPerformance = 2,
    WGPUPowerPreference_Force32 = 0x7FFFFFFF
} WGPUPowerPreference;
typedef enum WGPUBackendType {
    WGPUBackendType_Undefined = 0,
    WGPUBackendType_Null = 1,
    WGPUBackendType_WebGPU = 2,
    WGPUBackendType_D3D11 = 3,
    WGPUBackendType_D3D12 = 4,
    WGPUBackendType_Metal = 5,
    WGPUBackendType_Vulkan = 6,
    WGPUBackendType_OpenGL = 7,
    WGPUBackendType_OpenGLES = 8,
    WGPUBackendType_Force32 = 0x7FFFFFFF
} WGPUBackendType;
typedef enum WGPUAdapterType {
    WGPUAdapterType_DiscreteGPU = 1,
    WGPUAdapterType_IntegratedGPU = 2,
    WGPUAdapterType_CPU = 3,
    WGPUAdapterType_Unknown = 4,
    WGPUAdapterType_Force32 = 0x7FFFFFFF
} WGPUAdapterType;
typedef enum WGPUBufferMapState {
    WGPUBufferMapState_Unmapped = 1,
    WGPUBufferMapState_Pending = 2,
    WGPUBufferMapState_Mapped = 3,
    WGPUBufferMapState_Force32 = 0x7FFFFFFF
} WGPUBufferMapState;
typedef enum WGPUFeatureName { WGPUFeatureName_Force32 = 0x7FFFFFFF } WGPUFeatureName;
typedef enum WGPUSamplerBindingType { WGPUSamplerBindingType_BindingNotUsed = 0, WGPUSamplerBindingType_Force32 = 0x7FFFFFFF } WGPUSamplerBindingType;
typedef enum WGPUTextureSampleType { WGPUTextureSampleType_BindingNotUsed = 0, WGPUTextureSampleType_Force32 = 0x7FFFFFFF } WGPUTextureSampleType;
typedef enum WGPUTextureViewDimension { WGPUTextureViewDimension_Undefined = 0, WGPUTextureViewDimension_Force32 = 0x7FFFFFFF } WGPUTextureViewDimension;
typedef enum WGPUStorageTextureAccess { WGPUStorageTextureAccess_BindingNotUsed = 0, WGPUStorageTextureAccess_Force32 = 0x7FFFFFFF } WGPUStorageTextureAccess;
typedef enum WGPUTextureFormat { WGPUTextureFormat_Undefined = 0, WGPUTextureFormat_Force32 = 0x7FFFFFFF } WGPUTextureFormat;

typedef WGPUFlags WGPUBufferUsage;
static const WGPUBufferUsage WGPUBufferUsage_None = 0x0000000000000000;
static const WGPUBufferUsage WGPUBufferUsage_MapRead = 0x0000000000000001;
static const WGPUBufferUsage WGPUBufferUsage_MapWrite = 0x0000000000000002;
static const WGPUBufferUsage WGPUBufferUsage_CopySrc = 0x0000000000000004;
static const WGPUBufferUsage WGPUBufferUsage_CopyDst = 0x0000000000000008;
static const WGPUBufferUsage WGPUBufferUsage_Index = 0x0000000000000010;
static const WGPUBufferUsage WGPUBufferUsage_Vertex = 0x0000000000000020;
static const WGPUBufferUsage WGPUBufferUsage_Uniform = 0x0000000000000040;
static const WGPUBufferUsage WGPUBufferUsage_Storage = 0x0000000000000080;
static const WGPUBufferUsage WGPUBufferUsage_Indirect = 0x0000000000000100;
static const WGPUBufferUsage WGPUBufferUsage_QueryResolve = 0x0000000000000200;
typedef WGPUFlags WGPUMapMode;
static const WGPUMapMode WGPUMapMode_None = 0x0000000000000000;
static const WGPUMapMode WGPUMapMode_Read = 0x0000000000000001;
static const WGPUMapMode WGPUMapMode_Write = 0x0000000000000002;
typedef WGPUFlags WGPUShaderStage;
static const WGPUShaderStage WGPUShaderStage_None = 0x0000000000000000;
static const WGPUShaderStage WGPUShaderStage_Vertex = 0x0000000000000001;
static const WGPUShaderStage WGPUShaderStage_Fragment = 0x0000000000000002;
static const WGPUShaderStage WGPUShaderStage_Compute = 0x0000000000000004;

typedef struct WGPUFuture {
    uint64_t id;
} WGPUFuture;
typedef struct WGPUFutureWaitInfo {
    WGPUFuture future;
    WGPUBool completed;
} WGPUFutureWaitInfo;

typedef void (*WGPURequestAdapterCallback)(WGPURequestAdapterStatus status, WGPUAdapter adapter, WGPUStringView message,
                                           void* userdata1, void* userdata2);
typedef void (*WGPURequestDeviceCallback)(WGPURequestDeviceStatus status, WGPUDevice device, WGPUStringView message,
                                          void* userdata1, void* userdata2);
typedef void (*WGPUBufferMapCallback)(WGPUMapAsyncStatus status, WGPUStringView message, void* userdata1,
                                      void* userdata2);
typedef void (*WGPUQueueWorkDoneCallback)(WGPUQueueWorkDoneStatus status, WGPUStringView message, void* userdata1,
                                          void* userdata2);
typedef void (*WGPUPopErrorScopeCallback)(WGPUPopErrorScopeStatus status, WGPUErrorType type, WGPUStringView message,
                                          void* userdata1, void* userdata2);
typedef void (*WGPUDeviceLostCallback)(WGPUDevice const* device, int reason, WGPUStringView message, void* userdata1,
                                       void* userdata2);
typedef void (*WGPUUncapturedErrorCallback)(WGPUDevice const* device, WGPUErrorType type, WGPUStringView message,
                                            void* userdata1, void* userdata2);

typedef struct WGPURequestAdapterCallbackInfo {
    WGPUChainedStruct* nextInChain;
    WGPUCallbackMode mode;
    WGPURequestAdapterCallback callback;
    void* userdata1;
    void* userdata2;
} WGPURequestAdapterCallbackInfo;
typedef struct WGPURequestDeviceCallbackInfo {
    WGPUChainedStruct* nextInChain;
    WGPUCallbackMode mode;
    WGPURequestDeviceCallback callback;
    void* userdata1;
    void* userdata2;
} WGPURequestDeviceCallbackInfo;
typedef struct WGPUBufferMapCallbackInfo {
    WGPUChainedStruct* nextInChain;
    WGPUCallbackMode mode;
    WGPUBufferMapCallback callback;
    void* userdata1;
    void* userdata2;
} WGPUBufferMapCallbackInfo;
typedef struct WGPUQueueWorkDoneCallbackInfo {
    WGPUChainedStruct* nextInChain;
    WGPUCallbackMode mode;
    WGPUQueueWorkDoneCallback callback;
    void* userdata1;
    void* userdata2;
} WGPUQueueWorkDoneCallbackInfo;
typedef struct WGPUPopErrorScopeCallbackInfo {
    WGPUChainedStruct* nextInChain;
    WGPUCallbackMode mode;
    WGPUPopErrorScopeCallback callback;
    void* userdata1;
    void* userdata2;
} WGPUPopErrorScopeCallbackInfo;
typedef struct WGPUDeviceLostCallbackInfo {
    WGPUChainedStruct* nextInChain;
    WGPUCallbackMode mode;
    WGPUDeviceLostCallback callback;
    void* userdata1;
    void* userdata2;
} WGPUDeviceLostCallbackInfo;
typedef struct WGPUUncapturedErrorCallbackInfo {
    WGPUChainedStruct* nextInChain;
    WGPUUncapturedErrorCallback callback;
    void* userdata1;
    void* userdata2;
} WGPUUncapturedErrorCallbackInfo;

typedef struct WGPUInstanceDescriptor {
    WGPUChainedStruct* nextInChain;
    size_t requiredFeatureCount;
    void const* requiredFeatures;
    void const* requiredLimits;
} WGPUInstanceDescriptor;

typedef struct WGPURequestAdapterOptions {
    WGPUChainedStruct* nextInChain;
    WGPUFeatureLevel featureLevel;
    WGPUPowerPreference powerPreference;
    WGPUBool forceFallbackAdapter;
    WGPUBackendType backendType;
    WGPUSurface compatibleSurface;
} WGPURequestAdapterOptions;

typedef struct WGPUAdapterInfo {
    WGPUChainedStruct* nextInChain;
    WGPUStringView vendor;
    WGPUStringView architecture;
    WGPUStringView device;
    WGPUStringView description;
    WGPUBackendType backendType;
    WGPUAdapterType adapterType;
    uint32_t vendorID;
    uint32_t deviceID;
    uint32_t subgroupMinSize;
    uint32_t subgroupMaxSize;
} WGPUAdapterInfo;

typedef struct WGPUQueueDescriptor {
    WGPUChainedStruct* nextInChain;
    WGPUStringView label;
} WGPUQueueDescriptor;

typedef struct WGPUDeviceDescriptor {
    WGPUChainedStruct* nextInChain;
    WGPUStringView label;
    size_t requiredFeatureCount;
    WGPUFeatureName const* requiredFeatures;
    void const* requiredLimits;
    WGPUQueueDescriptor defaultQueue;
    WGPUDeviceLostCallbackInfo deviceLostCallbackInfo;
    WGPUUncapturedErrorCallbackInfo uncapturedErrorCallbackInfo;
} WGPUDeviceDescriptor;

typedef struct WGPUBufferDescriptor {
    WGPUChainedStruct* nextInChain;
    WGPUStringView label;
    WGPUBufferUsage usage;
    uint64_t size;
    WGPUBool mappedAtCreation;
} WGPUBufferDescriptor;

typedef struct WGPUShaderModuleDescriptor {
    WGPUChainedStruct* nextInChain;
    WGPUStringView label;
} WGPUShaderModuleDescriptor;

typedef struct WGPUShaderSourceWGSL {
    WGPUChainedStruct chain;
    WGPUStringView code;
} WGPUShaderSourceWGSL;

typedef struct WGPUConstantEntry {
    WGPUChainedStruct* nextInChain;
    WGPUStringView key;
    double value;
} WGPUConstantEntry;

typedef struct WGPUComputeState {
    WGPUChainedStruct* nextInChain;
    WGPUShaderModule module;
    WGPUStringView entryPoint;
    size_t constantCount;
    WGPUConstantEntry const* constants;
} WGPUComputeState;

typedef struct WGPUComputePipelineDescriptor {
    WGPUChainedStruct* nextInChain;
    WGPUStringView label;
    WGPUPipelineLayout layout;
    WGPUComputeState compute;
} WGPUComputePipelineDescriptor;

typedef struct WGPUBufferBindingLayout {
    WGPUChainedStruct* nextInChain;
    WGPUBufferBindingType type;
    WGPUBool hasDynamicOffset;
    uint64_t minBindingSize;
} WGPUBufferBindingLayout;
typedef struct WGPUSamplerBindingLayout {
    WGPUChainedStruct* nextInChain;
    WGPUSamplerBindingType type;
} WGPUSamplerBindingLayout;
typedef struct WGPUTextureBindingLayout {
    WGPUChainedStruct* nextInChain;
    WGPUTextureSampleType sampleType;
    WGPUTextureViewDimension viewDimension;
    WGPUBool multisampled;
} WGPUTextureBindingLayout;
typedef struct WGPUStorageTextureBindingLayout {
    WGPUChainedStruct* nextInChain;
    WGPUStorageTextureAccess access;
    WGPUTextureFormat format;
    WGPUTextureViewDimension viewDimension;
} WGPUStorageTextureBindingLayout;

typedef struct WGPUBindGroupLayoutEntry {
    WGPUChainedStruct* nextInChain;
    uint32_t binding;
    WGPUShaderStage visibility;
    uint32_t bindingArraySize;
    WGPUBufferBindingLayout buffer;
    WGPUSamplerBindingLayout sampler;
    WGPUTextureBindingLayout texture;
    WGPUStorageTextureBindingLayout storageTexture;
} WGPUBindGroupLayoutEntry;

typedef struct WGPUBindGroupLayoutDescriptor {
    WGPUChainedStruct* nextInChain;
    WGPUStringView label;
    size_t entryCount;
    WGPUBindGroupLayoutEntry const* entries;
} WGPUBindGroupLayoutDescriptor;

typedef struct WGPUPipelineLayoutDescriptor {
    WGPUChainedStruct* nextInChain;
    WGPUStringView label;
    size_t bindGroupLayoutCount;
    WGPUBindGroupLayout const* bindGroupLayouts;
    uint32_t immediateSize;
} WGPUPipelineLayoutDescriptor;

typedef struct WGPUBindGroupEntry {
    WGPUChainedStruct* nextInChain;
    uint32_t binding;
    WGPUBuffer buffer;
    uint64_t offset;
    uint64_t size;
    WGPUSampler sampler;
    WGPUTextureView textureView;
} WGPUBindGroupEntry;

typedef struct WGPUBindGroupDescriptor {
    WGPUChainedStruct* nextInChain;
    WGPUStringView label;
    WGPUBindGroupLayout layout;
    size_t entryCount;
    WGPUBindGroupEntry const* entries;
} WGPUBindGroupDescriptor;

typedef struct WGPUCommandEncoderDescriptor {
    WGPUChainedStruct* nextInChain;
    WGPUStringView label;
} WGPUCommandEncoderDescriptor;
typedef struct WGPUPassTimestampWrites WGPUPassTimestampWrites;
typedef struct WGPUComputePassDescriptor {
    WGPUChainedStruct* nextInChain;
    WGPUStringView label;
    WGPUPassTimestampWrites const* timestampWrites;
} WGPUComputePassDescriptor;
typedef struct WGPUCommandBufferDescriptor {
    WGPUChainedStruct* nextInChain;
    WGPUStringView label;
} WGPUCommandBufferDescriptor;

/* ---- host imports (synchronous) ---- */
WGPU_IMPORT(wgpuCreateInstance) WGPUInstance wgpuCreateInstance(WGPUInstanceDescriptor const* descriptor);
WGPU_IMPORT(wgpuInstanceAddRef) void wgpuInstanceAddRef(WGPUInstance instance);
WGPU_IMPORT(wgpuInstanceRelease) void wgpuInstanceRelease(WGPUInstance instance);
WGPU_IMPORT(wgpuAdapterAddRef) void wgpuAdapterAddRef(WGPUAdapter adapter);
WGPU_IMPORT(wgpuAdapterRelease) void wgpuAdapterRelease(WGPUAdapter adapter);
WGPU_IMPORT(wgpuDeviceAddRef) void wgpuDeviceAddRef(WGPUDevice device);
WGPU_IMPORT(wgpuDeviceRelease) void wgpuDeviceRelease(WGPUDevice device);
WGPU_IMPORT(wgpuDeviceDestroy) void wgpuDeviceDestroy(WGPUDevice device);
WGPU_IMPORT(wgpuDeviceGetQueue) WGPUQueue wgpuDeviceGetQueue(WGPUDevice device);
WGPU_IMPORT(wgpuDeviceCreateBuffer) WGPUBuffer wgpuDeviceCreateBuffer(WGPUDevice device, WGPUBufferDescriptor const* descriptor);
WGPU_IMPORT(wgpuDeviceCreateShaderModule)
WGPUShaderModule wgpuDeviceCreateShaderModule(WGPUDevice device, WGPUShaderModuleDescriptor const* descriptor);
WGPU_IMPORT(wgpuDeviceCreateBindGroupLayout)
WGPUBindGroupLayout wgpuDeviceCreateBindGroupLayout(WGPUDevice device, WGPUBindGroupLayoutDescriptor const* descriptor);
WGPU_IMPORT(wgpuDeviceCreatePipelineLayout)
WGPUPipelineLayout wgpuDeviceCreatePipelineLayout(WGPUDevice device, WGPUPipelineLayoutDescriptor const* descriptor);
WGPU_IMPORT(wgpuDeviceCreateComputePipeline)
WGPUComputePipeline wgpuDeviceCreateComputePipeline(WGPUDevice device, WGPUComputePipelineDescriptor const* descriptor);
WGPU_IMPORT(wgpuDeviceCreateBindGroup)
WGPUBindGroup wgpuDeviceCreateBindGroup(WGPUDevice device, WGPUBindGroupDescriptor const* descriptor);
WGPU_IMPORT(wgpuDeviceCreateCommandEncoder)
WGPUCommandEncoder wgpuDeviceCreateCommandEncoder(WGPUDevice device, WGPUCommandEncoderDescriptor const* descriptor);
WGPU_IMPORT(wgpuDevicePushErrorScope) void wgpuDevicePushErrorScope(WGPUDevice device, WGPUErrorFilter filter);
WGPU_IMPORT(wgpuBufferGetSize) uint64_t wgpuBufferGetSize(WGPUBuffer buffer);
WGPU_IMPORT(wgpuBufferGetUsage) WGPUBufferUsage wgpuBufferGetUsage(WGPUBuffer buffer);
WGPU_IMPORT(wgpuBufferGetMapState) WGPUBufferMapState wgpuBufferGetMapState(WGPUBuffer buffer);
WGPU_IMPORT(wgpuBufferDestroy) void wgpuBufferDestroy(WGPUBuffer buffer);
WGPU_IMPORT(wgpuBufferAddRef) void wgpuBufferAddRef(WGPUBuffer buffer);
WGPU_IMPORT(wgpuBufferRelease) void wgpuBufferRelease(WGPUBuffer buffer);
WGPU_IMPORT(wgpuQueueWriteBuffer)
void wgpuQueueWriteBuffer(WGPUQueue queue, WGPUBuffer buffer, uint64_t bufferOffset, void const* data, size_t size);
WGPU_IMPORT(wgpuQueueSubmit) void wgpuQueueSubmit(WGPUQueue queue, size_t commandCount, WGPUCommandBuffer const* commands);
WGPU_IMPORT(wgpuQueueAddRef) void wgpuQueueAddRef(WGPUQueue queue);
WGPU_IMPORT(wgpuQueueRelease) void wgpuQueueRelease(WGPUQueue queue);
WGPU_IMPORT(wgpuShaderModuleAddRef) void wgpuShaderModuleAddRef(WGPUShaderModule shaderModule);
WGPU_IMPORT(wgpuShaderModuleRelease) void wgpuShaderModuleRelease(WGPUShaderModule shaderModule);
WGPU_IMPORT(wgpuBindGroupLayoutAddRef) void wgpuBindGroupLayoutAddRef(WGPUBindGroupLayout bindGroupLayout);
WGPU_IMPORT(wgpuBindGroupLayoutRelease) void wgpuBindGroupLayoutRelease(WGPUBindGroupLayout bindGroupLayout);
WGPU_IMPORT(wgpuPipelineLayoutAddRef) void wgpuPipelineLayoutAddRef(WGPUPipelineLayout pipelineLayout);
WGPU_IMPORT(wgpuPipelineLayoutRelease) void wgpuPipelineLayoutRelease(WGPUPipelineLayout pipelineLayout);
WGPU_IMPORT(wgpuComputePipelineGetBindGroupLayout)
WGPUBindGroupLayout wgpuComputePipelineGetBindGroupLayout(WGPUComputePipeline computePipeline, uint32_t groupIndex);
WGPU_IMPORT(wgpuComputePipelineAddRef) void wgpuComputePipelineAddRef(WGPUComputePipeline computePipeline);
WGPU_IMPORT(wgpuComputePipelineRelease) void wgpuComputePipelineRelease(WGPUComputePipeline computePipeline);
WGPU_IMPORT(wgpuBindGroupAddRef) void wgpuBindGroupAddRef(WGPUBindGroup bindGroup);
WGPU_IMPORT(wgpuBindGroupRelease) void wgpuBindGroupRelease(WGPUBindGroup bindGroup);
WGPU_IMPORT(wgpuCommandEncoderBeginComputePass)
WGPUComputePassEncoder wgpuCommandEncoderBeginComputePass(WGPUCommandEncoder commandEncoder,
                                                          WGPUComputePassDescriptor const* descriptor);
WGPU_IMPORT(wgpuCommandEncoderCopyBufferToBuffer)
void wgpuCommandEncoderCopyBufferToBuffer(WGPUCommandEncoder commandEncoder, WGPUBuffer source, uint64_t sourceOffset,
                                          WGPUBuffer destination, uint64_t destinationOffset, uint64_t size);
WGPU_IMPORT(wgpuCommandEncoderClearBuffer)
void wgpuCommandEncoderClearBuffer(WGPUCommandEncoder commandEncoder, WGPUBuffer buffer, uint64_t offset, uint64_t size);
WGPU_IMPORT(wgpuCommandEncoderFinish)
WGPUCommandBuffer wgpuCommandEncoderFinish(WGPUCommandEncoder commandEncoder, WGPUCommandBufferDescriptor const* descriptor);
WGPU_IMPORT(wgpuCommandEncoderAddRef) void wgpuCommandEncoderAddRef(WGPUCommandEncoder commandEncoder);
WGPU_IMPORT(wgpuCommandEncoderRelease) void wgpuCommandEncoderRelease(WGPUCommandEncoder commandEncoder);
WGPU_IMPORT(wgpuComputePassEncoderSetPipeline)
void wgpuComputePassEncoderSetPipeline(WGPUComputePassEncoder computePassEncoder, WGPUComputePipeline pipeline);
WGPU_IMPORT(wgpuComputePassEncoderSetBindGroup)
void wgpuComputePassEncoderSetBindGroup(WGPUComputePassEncoder computePassEncoder, uint32_t groupIndex,
                                        WGPUBindGroup group, size_t dynamicOffsetCount, uint32_t const* dynamicOffsets);
WGPU_IMPORT(wgpuComputePassEncoderDispatchWorkgroups)
void wgpuComputePassEncoderDispatchWorkgroups(WGPUComputePassEncoder computePassEncoder, uint32_t workgroupCountX,
                                              uint32_t workgroupCountY, uint32_t workgroupCountZ);
WGPU_IMPORT(wgpuComputePassEncoderEnd) void wgpuComputePassEncoderEnd(WGPUComputePassEncoder computePassEncoder);
WGPU_IMPORT(wgpuComputePassEncoderAddRef) void wgpuComputePassEncoderAddRef(WGPUComputePassEncoder computePassEncoder);
WGPU_IMPORT(wgpuComputePassEncoderRelease) void wgpuComputePassEncoderRelease(WGPUComputePassEncoder computePassEncoder);
WGPU_IMPORT(wgpuCommandBufferAddRef) void wgpuCommandBufferAddRef(WGPUCommandBuffer commandBuffer);
WGPU_IMPORT(wgpuCommandBufferRelease) void wgpuCommandBufferRelease(WGPUCommandBuffer commandBuffer);

/* ---- wasmvm extensions: the blocking primitives the C implementation below is built on ---- */
/* Each returns the webgpu.h status of the operation; on failure the message is kept for wasmvmLastMessage. */
WGPU_IMPORT(wasmvmInstanceRequestAdapterSync)
WGPUAdapter wasmvmInstanceRequestAdapterSync(WGPUInstance instance, WGPURequestAdapterOptions const* options);
WGPU_IMPORT(wasmvmAdapterRequestDeviceSync)
WGPUDevice wasmvmAdapterRequestDeviceSync(WGPUAdapter adapter, WGPUDeviceDescriptor const* descriptor);
/* field: 0 vendor, 1 architecture, 2 device, 3 description; copies up to cap bytes, returns the full length. */
WGPU_IMPORT(wasmvmAdapterInfoField)
uint32_t wasmvmAdapterInfoField(WGPUAdapter adapter, uint32_t field, char* out, uint32_t cap);
WGPU_IMPORT(wasmvmBufferMapSync)
WGPUMapAsyncStatus wasmvmBufferMapSync(WGPUBuffer buffer, WGPUMapMode mode, size_t offset, size_t size);
/* Copy from / into the mapped range at offset (the range must lie inside the mapped range). */
WGPU_IMPORT(wasmvmBufferReadMapped)
WGPUStatus wasmvmBufferReadMapped(WGPUBuffer buffer, size_t offset, void* out, size_t size);
WGPU_IMPORT(wasmvmBufferWriteMapped)
WGPUStatus wasmvmBufferWriteMapped(WGPUBuffer buffer, size_t offset, void const* data, size_t size);
WGPU_IMPORT(wasmvmBufferUnmap) void wasmvmBufferUnmap(WGPUBuffer buffer);
WGPU_IMPORT(wasmvmQueueWaitIdleSync) WGPUQueueWorkDoneStatus wasmvmQueueWaitIdleSync(WGPUQueue queue);
/* Pops the innermost error scope: returns its WGPUErrorType (NoError = 1), or 0 when no scope is open. */
WGPU_IMPORT(wasmvmDevicePopErrorScopeSync) WGPUErrorType wasmvmDevicePopErrorScopeSync(WGPUDevice device);
/* The oldest error no scope captured (NoError = 1 when none); its message is then the last message. */
WGPU_IMPORT(wasmvmDeviceTakeUncapturedError) WGPUErrorType wasmvmDeviceTakeUncapturedError(WGPUDevice device);
/* The message of the last failing call / popped error: copies up to cap bytes, returns the full length. */
WGPU_IMPORT(wasmvmLastMessage) uint32_t wasmvmLastMessage(char* out, uint32_t cap);

/* ---- implemented in C (WGPU_WASMVM_IMPLEMENTATION) ---- */
WGPUFuture wgpuInstanceRequestAdapter(WGPUInstance instance, WGPURequestAdapterOptions const* options,
                                      WGPURequestAdapterCallbackInfo callbackInfo);
WGPUFuture wgpuAdapterRequestDevice(WGPUAdapter adapter, WGPUDeviceDescriptor const* descriptor,
                                    WGPURequestDeviceCallbackInfo callbackInfo);
WGPUStatus wgpuAdapterGetInfo(WGPUAdapter adapter, WGPUAdapterInfo* info);
void wgpuAdapterInfoFreeMembers(WGPUAdapterInfo adapterInfo);
WGPUFuture wgpuBufferMapAsync(WGPUBuffer buffer, WGPUMapMode mode, size_t offset, size_t size,
                              WGPUBufferMapCallbackInfo callbackInfo);
void const* wgpuBufferGetConstMappedRange(WGPUBuffer buffer, size_t offset, size_t size);
void* wgpuBufferGetMappedRange(WGPUBuffer buffer, size_t offset, size_t size);
void wgpuBufferUnmap(WGPUBuffer buffer);
WGPUFuture wgpuQueueOnSubmittedWorkDone(WGPUQueue queue, WGPUQueueWorkDoneCallbackInfo callbackInfo);
WGPUFuture wgpuDevicePopErrorScope(WGPUDevice device, WGPUPopErrorScopeCallbackInfo callbackInfo);
WGPUWaitStatus wgpuInstanceWaitAny(WGPUInstance instance, size_t futureCount, WGPUFutureWaitInfo* futures,
                                   uint64_t timeoutNS);
void wgpuInstanceProcessEvents(WGPUInstance instance);

#if defined(__cplusplus)
}
#endif

#ifdef WGPU_WASMVM_IMPLEMENTATION
#include <stdlib.h>
#include <string.h>

#if defined(__cplusplus)
extern "C" {
#endif

/* Completed operations whose callback has not run yet (WaitAnyOnly / AllowProcessEvents). */
enum { WGPU_WASMVM_KIND_ADAPTER = 1, WGPU_WASMVM_KIND_DEVICE, WGPU_WASMVM_KIND_MAP, WGPU_WASMVM_KIND_DONE, WGPU_WASMVM_KIND_POP };
typedef struct {
    uint64_t id;
    int kind;
    WGPUCallbackMode mode;
    void (*callback)(void);
    void* userdata1;
    void* userdata2;
    uint32_t status;
    uint32_t errorType;
    void* object;
    char* message;
} WGPUWasmvmPending;
#define WGPU_WASMVM_MAX_PENDING 64
static WGPUWasmvmPending wgpu_wasmvm_pending[WGPU_WASMVM_MAX_PENDING];
static uint64_t wgpu_wasmvm_next_future = 1;

/* Mapped ranges: a guest-side copy per buffer, written back on unmap when mapped for writing. */
typedef struct {
    WGPUBuffer buffer;
    void* data;
    size_t offset;
    size_t size;
    int writable;
} WGPUWasmvmRange;
#define WGPU_WASMVM_MAX_RANGES 64
static WGPUWasmvmRange wgpu_wasmvm_ranges[WGPU_WASMVM_MAX_RANGES];

static char* wgpu_wasmvm_take_message(void) {
    uint32_t n = wasmvmLastMessage(NULL, 0);
    char* m = (char*)malloc((size_t)n + 1);
    if (!m) return NULL;
    wasmvmLastMessage(m, n);
    m[n] = 0;
    return m;
}

static void wgpu_wasmvm_fire(WGPUWasmvmPending* p) {
    WGPUStringView msg = {p->message, p->message ? strlen(p->message) : 0};
    switch (p->kind) {
        case WGPU_WASMVM_KIND_ADAPTER:
            ((WGPURequestAdapterCallback)p->callback)((WGPURequestAdapterStatus)p->status, (WGPUAdapter)p->object, msg,
                                                      p->userdata1, p->userdata2);
            break;
        case WGPU_WASMVM_KIND_DEVICE:
            ((WGPURequestDeviceCallback)p->callback)((WGPURequestDeviceStatus)p->status, (WGPUDevice)p->object, msg,
                                                     p->userdata1, p->userdata2);
            break;
        case WGPU_WASMVM_KIND_MAP:
            ((WGPUBufferMapCallback)p->callback)((WGPUMapAsyncStatus)p->status, msg, p->userdata1, p->userdata2);
            break;
        case WGPU_WASMVM_KIND_DONE:
            ((WGPUQueueWorkDoneCallback)p->callback)((WGPUQueueWorkDoneStatus)p->status, msg, p->userdata1,
                                                     p->userdata2);
            break;
        case WGPU_WASMVM_KIND_POP:
            ((WGPUPopErrorScopeCallback)p->callback)((WGPUPopErrorScopeStatus)p->status, (WGPUErrorType)p->errorType,
                                                     msg, p->userdata1, p->userdata2);
            break;
    }
    free(p->message);
    p->message = NULL;
    p->id = 0;
}

static WGPUFuture wgpu_wasmvm_complete(int kind, WGPUCallbackMode mode, void (*cb)(void), void* u1, void* u2,
                                       uint32_t status, uint32_t errorType, void* object, int failed) {
    WGPUWasmvmPending p;
    memset(&p, 0, sizeof p);
    p.id = wgpu_wasmvm_next_future++;
    p.kind = kind;
    p.mode = mode;
    p.callback = cb;
    p.userdata1 = u1;
    p.userdata2 = u2;
    p.status = status;
    p.errorType = errorType;
    p.object = object;
    p.message = failed ? wgpu_wasmvm_take_message() : NULL;
    WGPUFuture f = {p.id};
    if (!cb) {
        free(p.message);
        return f;
    }
    if (mode == WGPUCallbackMode_AllowSpontaneous) {
        wgpu_wasmvm_fire(&p);
        return f;
    }
    for (int i = 0; i < WGPU_WASMVM_MAX_PENDING; i++) {
        if (wgpu_wasmvm_pending[i].id == 0) {
            wgpu_wasmvm_pending[i] = p;
            return f;
        }
    }
    wgpu_wasmvm_fire(&p); /* table full: run it now rather than lose it */
    return f;
}

WGPUFuture wgpuInstanceRequestAdapter(WGPUInstance instance, WGPURequestAdapterOptions const* options,
                                      WGPURequestAdapterCallbackInfo info) {
    WGPUAdapter a = wasmvmInstanceRequestAdapterSync(instance, options);
    return wgpu_wasmvm_complete(WGPU_WASMVM_KIND_ADAPTER, info.mode, (void (*)(void))info.callback, info.userdata1,
                                info.userdata2,
                                a ? WGPURequestAdapterStatus_Success : WGPURequestAdapterStatus_Unavailable, 0,
                                (void*)a, a == NULL);
}

WGPUFuture wgpuAdapterRequestDevice(WGPUAdapter adapter, WGPUDeviceDescriptor const* descriptor,
                                    WGPURequestDeviceCallbackInfo info) {
    WGPUDevice d = wasmvmAdapterRequestDeviceSync(adapter, descriptor);
    return wgpu_wasmvm_complete(WGPU_WASMVM_KIND_DEVICE, info.mode, (void (*)(void))info.callback, info.userdata1,
                                info.userdata2, d ? WGPURequestDeviceStatus_Success : WGPURequestDeviceStatus_Error,
                                0, (void*)d, d == NULL);
}

static WGPUStringView wgpu_wasmvm_info_field(WGPUAdapter adapter, uint32_t field) {
    uint32_t n = wasmvmAdapterInfoField(adapter, field, NULL, 0);
    char* s = (char*)malloc((size_t)n + 1);
    WGPUStringView v = {NULL, 0};
    if (!s) return v;
    wasmvmAdapterInfoField(adapter, field, s, n);
    s[n] = 0;
    v.data = s;
    v.length = n;
    return v;
}

WGPUStatus wgpuAdapterGetInfo(WGPUAdapter adapter, WGPUAdapterInfo* info) {
    memset(info, 0, sizeof *info);
    info->vendor = wgpu_wasmvm_info_field(adapter, 0);
    info->architecture = wgpu_wasmvm_info_field(adapter, 1);
    info->device = wgpu_wasmvm_info_field(adapter, 2);
    info->description = wgpu_wasmvm_info_field(adapter, 3);
    info->backendType = WGPUBackendType_Undefined;
    info->adapterType = WGPUAdapterType_Unknown;
    return WGPUStatus_Success;
}

void wgpuAdapterInfoFreeMembers(WGPUAdapterInfo info) {
    free((void*)info.vendor.data);
    free((void*)info.architecture.data);
    free((void*)info.device.data);
    free((void*)info.description.data);
}

WGPUFuture wgpuBufferMapAsync(WGPUBuffer buffer, WGPUMapMode mode, size_t offset, size_t size,
                              WGPUBufferMapCallbackInfo info) {
    WGPUMapAsyncStatus s = wasmvmBufferMapSync(buffer, mode, offset, size);
    return wgpu_wasmvm_complete(WGPU_WASMVM_KIND_MAP, info.mode, (void (*)(void))info.callback, info.userdata1,
                                info.userdata2, s, 0, NULL, s != WGPUMapAsyncStatus_Success);
}

static void* wgpu_wasmvm_range(WGPUBuffer buffer, size_t offset, size_t size, int writable) {
    if (size == WGPU_WHOLE_MAP_SIZE) {
        uint64_t total = wgpuBufferGetSize(buffer);
        if (offset > total) return NULL;
        size = (size_t)(total - offset);
    }
    for (int i = 0; i < WGPU_WASMVM_MAX_RANGES; i++) {
        WGPUWasmvmRange* r = &wgpu_wasmvm_ranges[i];
        if (r->buffer == buffer && r->offset == offset && r->size == size) return r->data;
    }
    for (int i = 0; i < WGPU_WASMVM_MAX_RANGES; i++) {
        WGPUWasmvmRange* r = &wgpu_wasmvm_ranges[i];
        if (r->buffer != NULL) continue;
        void* data = malloc(size ? size : 1);
        if (!data) return NULL;
        if (wasmvmBufferReadMapped(buffer, offset, data, size) != WGPUStatus_Success) {
            free(data);
            return NULL;
        }
        r->buffer = buffer;
        r->data = data;
        r->offset = offset;
        r->size = size;
        r->writable = writable;
        return data;
    }
    return NULL;
}

void const* wgpuBufferGetConstMappedRange(WGPUBuffer buffer, size_t offset, size_t size) {
    return wgpu_wasmvm_range(buffer, offset, size, 0);
}

void* wgpuBufferGetMappedRange(WGPUBuffer buffer, size_t offset, size_t size) {
    return wgpu_wasmvm_range(buffer, offset, size, 1);
}

void wgpuBufferUnmap(WGPUBuffer buffer) {
    for (int i = 0; i < WGPU_WASMVM_MAX_RANGES; i++) {
        WGPUWasmvmRange* r = &wgpu_wasmvm_ranges[i];
        if (r->buffer != buffer) continue;
        if (r->writable) wasmvmBufferWriteMapped(buffer, r->offset, r->data, r->size);
        free(r->data);
        memset(r, 0, sizeof *r);
    }
    wasmvmBufferUnmap(buffer);
}

WGPUFuture wgpuQueueOnSubmittedWorkDone(WGPUQueue queue, WGPUQueueWorkDoneCallbackInfo info) {
    WGPUQueueWorkDoneStatus s = wasmvmQueueWaitIdleSync(queue);
    return wgpu_wasmvm_complete(WGPU_WASMVM_KIND_DONE, info.mode, (void (*)(void))info.callback, info.userdata1,
                                info.userdata2, s, 0, NULL, s != WGPUQueueWorkDoneStatus_Success);
}

WGPUFuture wgpuDevicePopErrorScope(WGPUDevice device, WGPUPopErrorScopeCallbackInfo info) {
    WGPUErrorType t = wasmvmDevicePopErrorScopeSync(device);
    int failed = t == 0;
    return wgpu_wasmvm_complete(WGPU_WASMVM_KIND_POP, info.mode, (void (*)(void))info.callback, info.userdata1,
                                info.userdata2,
                                failed ? WGPUPopErrorScopeStatus_Error : WGPUPopErrorScopeStatus_Success,
                                failed ? WGPUErrorType_NoError : t, NULL, failed || t != WGPUErrorType_NoError);
}

WGPUWaitStatus wgpuInstanceWaitAny(WGPUInstance instance, size_t futureCount, WGPUFutureWaitInfo* futures,
                                   uint64_t timeoutNS) {
    (void)instance;
    (void)timeoutNS;
    /* Every operation completed when it was started (the host call blocks), so a wait never times out. */
    for (size_t f = 0; f < futureCount; f++) {
        futures[f].completed = 1;
        for (int i = 0; i < WGPU_WASMVM_MAX_PENDING; i++) {
            if (wgpu_wasmvm_pending[i].id != 0 && wgpu_wasmvm_pending[i].id == futures[f].future.id) {
                WGPUWasmvmPending p = wgpu_wasmvm_pending[i];
                wgpu_wasmvm_pending[i].id = 0;
                wgpu_wasmvm_fire(&p);
            }
        }
    }
    return WGPUWaitStatus_Success;
}

void wgpuInstanceProcessEvents(WGPUInstance instance) {
    (void)instance;
    for (int i = 0; i < WGPU_WASMVM_MAX_PENDING; i++) {
        if (wgpu_wasmvm_pending[i].id != 0 && wgpu_wasmvm_pending[i].mode == WGPUCallbackMode_AllowProcessEvents) {
            WGPUWasmvmPending p = wgpu_wasmvm_pending[i];
            wgpu_wasmvm_pending[i].id = 0;
            wgpu_wasmvm_fire(&p);
        }
    }
}

#if defined(__cplusplus)
}
#endif
#endif /* WGPU_WASMVM_IMPLEMENTATION */

#endif /* WEBGPU_H_ */
