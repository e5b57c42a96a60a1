//! WebGPU compute for wasmvm-tee guests (docs/webgpu.md): safe Rust over the `wasmvm_webgpu` host
//! imports, which are the compute subset of the standard `webgpu.h` (same names, wasm32 struct layouts).
//!
//! Every call is synchronous: the host blocks the guest while the GPU works (map, queue idle, error
//! scopes), so there are no callbacks or futures here. Objects are per-execution handles released on
//! `Drop`; the host destroys whatever is left when the execution ends. No dependencies.
//!
//! ```ignore
//! let device = Instance::new().request_adapter()?.request_device()?;
//! device.push_error_scope(ErrorFilter::Validation);
//! let module = device.create_shader_module(WGSL);
//! if let Err(e) = device.pop_error_scope() { eprintln!("{}", e.message) }
//! ```

pub mod sys {
    //! The raw imports and `#[repr(C)]` structs (wasm32 layout of webgpu.h).
    #![allow(non_snake_case, non_camel_case_types, missing_docs)]

    pub type Handle = u32;
    pub const WGPU_STRLEN: usize = usize::MAX;
    pub const WGPU_WHOLE_SIZE: u64 = u64::MAX;
    pub const WGPU_WHOLE_MAP_SIZE: usize = usize::MAX;
    pub const STYPE_SHADER_SOURCE_WGSL: u32 = 2;

    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct WGPUStringView {
        pub data: *const u8,
        pub length: usize,
    }
    impl WGPUStringView {
        pub const NULL: WGPUStringView = WGPUStringView { data: core::ptr::null(), length: WGPU_STRLEN };
        pub fn of(s: &str) -> WGPUStringView {
            WGPUStringView { data: s.as_ptr(), length: s.len() }
        }
    }
    #[repr(C)]
    pub struct WGPUChainedStruct {
        pub next: *const WGPUChainedStruct,
        pub s_type: u32,
    }
    #[repr(C)]
    pub struct WGPUBufferDescriptor {
        pub next_in_chain: *const WGPUChainedStruct,
        pub label: WGPUStringView,
        pub usage: u64,
        pub size: u64,
        pub mapped_at_creation: u32,
    }
    #[repr(C)]
    pub struct WGPUShaderModuleDescriptor {
        pub next_in_chain: *const WGPUChainedStruct,
        pub label: WGPUStringView,
    }
    #[repr(C)]
    pub struct WGPUShaderSourceWGSL {
        pub chain: WGPUChainedStruct,
        pub code: WGPUStringView,
    }
    #[repr(C)]
    pub struct WGPUConstantEntry {
        pub next_in_chain: *const WGPUChainedStruct,
        pub key: WGPUStringView,
        pub value: f64,
    }
    #[repr(C)]
    pub struct WGPUComputeState {
        pub next_in_chain: *const WGPUChainedStruct,
        pub module: Handle,
        pub entry_point: WGPUStringView,
        pub constant_count: usize,
        pub constants: *const WGPUConstantEntry,
    }
    #[repr(C)]
    pub struct WGPUComputePipelineDescriptor {
        pub next_in_chain: *const WGPUChainedStruct,
        pub label: WGPUStringView,
        pub layout: Handle,
        pub compute: WGPUComputeState,
    }
    #[repr(C)]
    #[derive(Default)]
    pub struct WGPUBufferBindingLayout {
        pub next_in_chain: usize,
        pub type_: u32,
        pub has_dynamic_offset: u32,
        pub min_binding_size: u64,
    }
    #[repr(C)]
    #[derive(Default)]
    pub struct WGPUBindGroupLayoutEntry {
        pub next_in_chain: usize,
        pub binding: u32,
        pub visibility: u64,
        pub binding_array_size: u32,
        pub buffer: WGPUBufferBindingLayout,
        pub sampler: [u32; 2],
        pub texture: [u32; 4],
        pub storage_texture: [u32; 4],
    }
    #[repr(C)]
    pub struct WGPUBindGroupLayoutDescriptor {
        pub next_in_chain: *const WGPUChainedStruct,
        pub label: WGPUStringView,
        pub entry_count: usize,
        pub entries: *const WGPUBindGroupLayoutEntry,
    }
    #[repr(C)]
    pub struct WGPUPipelineLayoutDescriptor {
        pub next_in_chain: *const WGPUChainedStruct,
        pub label: WGPUStringView,
        pub bind_group_layout_count: usize,
        pub bind_group_layouts: *const Handle,
        pub immediate_size: u32,
    }
    #[repr(C)]
    pub struct WGPUBindGroupEntry {
        pub next_in_chain: *const WGPUChainedStruct,
        pub binding: u32,
        pub buffer: Handle,
        pub offset: u64,
        pub size: u64,
        pub sampler: Handle,
        pub texture_view: Handle,
    }
    #[repr(C)]
    pub struct WGPUBindGroupDescriptor {
        pub next_in_chain: *const WGPUChainedStruct,
        pub label: WGPUStringView,
        pub layout: Handle,
        pub entry_count: usize,
        pub entries: *const WGPUBindGroupEntry,
    }

    #[link(wasm_import_module = "wasmvm_webgpu")]
    extern "C" {
        pub fn wgpuCreateInstance(desc: *const u8) -> Handle;
        pub fn wasmvmInstanceRequestAdapterSync(instance: Handle, options: *const u8) -> Handle;
        pub fn wasmvmAdapterInfoField(adapter: Handle, field: u32, out: *mut u8, cap: u32) -> u32;
        pub fn wasmvmAdapterRequestDeviceSync(adapter: Handle, desc: *const u8) -> Handle;
        pub fn wgpuDeviceGetQueue(device: Handle) -> Handle;
        pub fn wgpuDeviceDestroy(device: Handle);
        pub fn wgpuDeviceCreateBuffer(device: Handle, desc: *const WGPUBufferDescriptor) -> Handle;
        pub fn wgpuDeviceCreateShaderModule(device: Handle, desc: *const WGPUShaderModuleDescriptor) -> Handle;
        pub fn wgpuDeviceCreateBindGroupLayout(device: Handle, desc: *const WGPUBindGroupLayoutDescriptor) -> Handle;
        pub fn wgpuDeviceCreatePipelineLayout(device: Handle, desc: *const WGPUPipelineLayoutDescriptor) -> Handle;
        pub fn wgpuDeviceCreateComputePipeline(device: Handle, desc: *const WGPUComputePipelineDescriptor) -> Handle;
        pub fn wgpuDeviceCreateBindGroup(device: Handle, desc: *const WGPUBindGroupDescriptor) -> Handle;
        pub fn wgpuDeviceCreateCommandEncoder(device: Handle, desc: *const u8) -> Handle;
        pub fn wgpuDevicePushErrorScope(device: Handle, filter: u32);
        pub fn wasmvmDevicePopErrorScopeSync(device: Handle) -> u32;
        pub fn wasmvmDeviceTakeUncapturedError(device: Handle) -> u32;
        pub fn wgpuComputePipelineGetBindGroupLayout(pipeline: Handle, group: u32) -> Handle;
        pub fn wgpuBufferGetSize(buffer: Handle) -> u64;
        pub fn wgpuBufferGetUsage(buffer: Handle) -> u64;
        pub fn wgpuBufferGetMapState(buffer: Handle) -> u32;
        pub fn wgpuBufferDestroy(buffer: Handle);
        pub fn wasmvmBufferMapSync(buffer: Handle, mode: u64, offset: usize, size: usize) -> u32;
        pub fn wasmvmBufferReadMapped(buffer: Handle, offset: usize, out: *mut u8, size: usize) -> u32;
        pub fn wasmvmBufferWriteMapped(buffer: Handle, offset: usize, data: *const u8, size: usize) -> u32;
        pub fn wasmvmBufferUnmap(buffer: Handle);
        pub fn wgpuQueueWriteBuffer(queue: Handle, buffer: Handle, offset: u64, data: *const u8, size: usize);
        pub fn wgpuQueueSubmit(queue: Handle, count: usize, commands: *const Handle);
        pub fn wasmvmQueueWaitIdleSync(queue: Handle) -> u32;
        pub fn wgpuCommandEncoderBeginComputePass(encoder: Handle, desc: *const u8) -> Handle;
        pub fn wgpuCommandEncoderCopyBufferToBuffer(encoder: Handle, src: Handle, src_offset: u64, dst: Handle, dst_offset: u64, size: u64);
        pub fn wgpuCommandEncoderClearBuffer(encoder: Handle, buffer: Handle, offset: u64, size: u64);
        pub fn wgpuCommandEncoderFinish(encoder: Handle, desc: *const u8) -> Handle;
        pub fn wgpuComputePassEncoderSetPipeline(pass: Handle, pipeline: Handle);
        pub fn wgpuComputePassEncoderSetBindGroup(pass: Handle, index: u32, group: Handle, count: usize, offsets: *const u32);
        pub fn wgpuComputePassEncoderDispatchWorkgroups(pass: Handle, x: u32, y: u32, z: u32);
        pub fn wgpuComputePassEncoderEnd(pass: Handle);
        pub fn wasmvmLastMessage(out: *mut u8, cap: u32) -> u32;
        pub fn wgpuInstanceRelease(h: Handle);
        pub fn wgpuAdapterRelease(h: Handle);
        pub fn wgpuDeviceRelease(h: Handle);
        pub fn wgpuQueueRelease(h: Handle);
        pub fn wgpuBufferRelease(h: Handle);
        pub fn wgpuShaderModuleRelease(h: Handle);
        pub fn wgpuBindGroupLayoutRelease(h: Handle);
        pub fn wgpuPipelineLayoutRelease(h: Handle);
        pub fn wgpuComputePipelineRelease(h: Handle);
        pub fn wgpuBindGroupRelease(h: Handle);
        pub fn wgpuCommandEncoderRelease(h: Handle);
        pub fn wgpuComputePassEncoderRelease(h: Handle);
        pub fn wgpuCommandBufferRelease(h: Handle);
    }
}

use sys::*;

/// `WGPUBufferUsage` flags.
pub mod usage {
    pub const MAP_READ: u64 = 0x1;
    pub const MAP_WRITE: u64 = 0x2;
    pub const COPY_SRC: u64 = 0x4;
    pub const COPY_DST: u64 = 0x8;
    pub const UNIFORM: u64 = 0x40;
    pub const STORAGE: u64 = 0x80;
}

/// `WGPUErrorFilter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorFilter {
    Validation = 1,
    OutOfMemory = 2,
    Internal = 3,
}

/// `WGPUBufferBindingType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindingType {
    Uniform = 2,
    Storage = 3,
    ReadOnlyStorage = 4,
}

/// A WebGPU error: `kind` is the `WGPUErrorType` (2 validation, 3 out of memory, 4 internal, 5 unknown,
/// 0 when the operation itself failed), `message` the driver's text.
#[derive(Clone, Debug)]
pub struct Error {
    pub kind: u32,
    pub message: String,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "WebGPU error {}: {}", self.kind, self.message)
    }
}

/// The message of the last failing call or popped error scope.
pub fn last_message() -> String {
    unsafe {
        let n = wasmvmLastMessage(core::ptr::null_mut(), 0);
        let mut v = vec![0u8; n as usize];
        wasmvmLastMessage(v.as_mut_ptr(), n);
        String::from_utf8_lossy(&v).into_owned()
    }
}

fn fail(kind: u32) -> Error {
    Error { kind, message: last_message() }
}

macro_rules! object {
    ($name:ident, $release:ident) => {
        /// A per-execution handle; released on drop.
        #[derive(Debug)]
        pub struct $name(Handle);
        impl $name {
            /// The raw handle (for the `sys` functions).
            pub fn raw(&self) -> Handle {
                self.0
            }
        }
        impl Drop for $name {
            fn drop(&mut self) {
                if self.0 != 0 {
                    unsafe { $release(self.0) }
                }
            }
        }
    };
}
object!(Instance, wgpuInstanceRelease);
object!(Adapter, wgpuAdapterRelease);
object!(Device, wgpuDeviceRelease);
object!(Queue, wgpuQueueRelease);
object!(Buffer, wgpuBufferRelease);
object!(ShaderModule, wgpuShaderModuleRelease);
object!(BindGroupLayout, wgpuBindGroupLayoutRelease);
object!(PipelineLayout, wgpuPipelineLayoutRelease);
object!(ComputePipeline, wgpuComputePipelineRelease);
object!(BindGroup, wgpuBindGroupRelease);
object!(CommandEncoder, wgpuCommandEncoderRelease);
object!(ComputePass, wgpuComputePassEncoderRelease);
object!(CommandBuffer, wgpuCommandBufferRelease);

/// What the driver reports about the adapter.
#[derive(Clone, Debug, Default)]
pub struct AdapterInfo {
    pub vendor: String,
    pub architecture: String,
    pub device: String,
    pub description: String,
}

impl Instance {
    pub fn new() -> Instance {
        Instance(unsafe { wgpuCreateInstance(core::ptr::null()) })
    }

    /// The adapter the host operator chose (fails with the reason when WebGPU is off).
    pub fn request_adapter(&self) -> Result<Adapter, Error> {
        match unsafe { wasmvmInstanceRequestAdapterSync(self.0, core::ptr::null()) } {
            0 => Err(fail(0)),
            h => Ok(Adapter(h)),
        }
    }
}

impl Default for Instance {
    fn default() -> Self {
        Instance::new()
    }
}

impl Adapter {
    pub fn info(&self) -> AdapterInfo {
        let field = |f: u32| unsafe {
            let n = wasmvmAdapterInfoField(self.0, f, core::ptr::null_mut(), 0);
            let mut v = vec![0u8; n as usize];
            wasmvmAdapterInfoField(self.0, f, v.as_mut_ptr(), n);
            String::from_utf8_lossy(&v).into_owned()
        };
        AdapterInfo { vendor: field(0), architecture: field(1), device: field(2), description: field(3) }
    }

    pub fn request_device(&self) -> Result<Device, Error> {
        match unsafe { wasmvmAdapterRequestDeviceSync(self.0, core::ptr::null()) } {
            0 => Err(fail(0)),
            h => Ok(Device(h)),
        }
    }
}

impl Device {
    pub fn queue(&self) -> Queue {
        Queue(unsafe { wgpuDeviceGetQueue(self.0) })
    }

    /// A zero-filled buffer; `None` when refused (the error is in the current error scope).
    pub fn create_buffer(&self, size: u64, usage: u64) -> Option<Buffer> {
        let d = WGPUBufferDescriptor {
            next_in_chain: core::ptr::null(),
            label: WGPUStringView::NULL,
            usage,
            size,
            mapped_at_creation: 0,
        };
        match unsafe { wgpuDeviceCreateBuffer(self.0, &d) } {
            0 => None,
            h => Some(Buffer(h)),
        }
    }

    /// A WGSL module (compilation errors go to the error scope; see `pop_error_scope`).
    pub fn create_shader_module(&self, wgsl: &str) -> ShaderModule {
        let src = WGPUShaderSourceWGSL {
            chain: WGPUChainedStruct { next: core::ptr::null(), s_type: STYPE_SHADER_SOURCE_WGSL },
            code: WGPUStringView::of(wgsl),
        };
        let d = WGPUShaderModuleDescriptor { next_in_chain: &src.chain, label: WGPUStringView::NULL };
        ShaderModule(unsafe { wgpuDeviceCreateShaderModule(self.0, &d) })
    }

    /// A layout of buffer bindings `(binding, type)`, visible to compute shaders.
    pub fn create_bind_group_layout(&self, entries: &[(u32, BindingType)]) -> BindGroupLayout {
        let e: Vec<WGPUBindGroupLayoutEntry> = entries
            .iter()
            .map(|&(binding, t)| WGPUBindGroupLayoutEntry {
                binding,
                visibility: 4, // WGPUShaderStage_Compute
                buffer: WGPUBufferBindingLayout { type_: t as u32, ..Default::default() },
                ..Default::default()
            })
            .collect();
        let d = WGPUBindGroupLayoutDescriptor {
            next_in_chain: core::ptr::null(),
            label: WGPUStringView::NULL,
            entry_count: e.len(),
            entries: e.as_ptr(),
        };
        BindGroupLayout(unsafe { wgpuDeviceCreateBindGroupLayout(self.0, &d) })
    }

    pub fn create_pipeline_layout(&self, layouts: &[&BindGroupLayout]) -> PipelineLayout {
        let h: Vec<Handle> = layouts.iter().map(|l| l.0).collect();
        let d = WGPUPipelineLayoutDescriptor {
            next_in_chain: core::ptr::null(),
            label: WGPUStringView::NULL,
            bind_group_layout_count: h.len(),
            bind_group_layouts: h.as_ptr(),
            immediate_size: 0,
        };
        PipelineLayout(unsafe { wgpuDeviceCreatePipelineLayout(self.0, &d) })
    }

    /// A compute pipeline; `layout: None` = derived from the shader ("auto").
    pub fn create_compute_pipeline(
        &self,
        layout: Option<&PipelineLayout>,
        module: &ShaderModule,
        entry_point: &str,
    ) -> ComputePipeline {
        let d = WGPUComputePipelineDescriptor {
            next_in_chain: core::ptr::null(),
            label: WGPUStringView::NULL,
            layout: layout.map_or(0, |l| l.0),
            compute: WGPUComputeState {
                next_in_chain: core::ptr::null(),
                module: module.0,
                entry_point: WGPUStringView::of(entry_point),
                constant_count: 0,
                constants: core::ptr::null(),
            },
        };
        ComputePipeline(unsafe { wgpuDeviceCreateComputePipeline(self.0, &d) })
    }

    /// A bind group of whole buffers `(binding, buffer)`.
    pub fn create_bind_group(&self, layout: &BindGroupLayout, entries: &[(u32, &Buffer)]) -> BindGroup {
        let e: Vec<WGPUBindGroupEntry> = entries
            .iter()
            .map(|&(binding, b)| WGPUBindGroupEntry {
                next_in_chain: core::ptr::null(),
                binding,
                buffer: b.0,
                offset: 0,
                size: WGPU_WHOLE_SIZE,
                sampler: 0,
                texture_view: 0,
            })
            .collect();
        let d = WGPUBindGroupDescriptor {
            next_in_chain: core::ptr::null(),
            label: WGPUStringView::NULL,
            layout: layout.0,
            entry_count: e.len(),
            entries: e.as_ptr(),
        };
        BindGroup(unsafe { wgpuDeviceCreateBindGroup(self.0, &d) })
    }

    pub fn create_command_encoder(&self) -> CommandEncoder {
        CommandEncoder(unsafe { wgpuDeviceCreateCommandEncoder(self.0, core::ptr::null()) })
    }

    pub fn push_error_scope(&self, filter: ErrorFilter) {
        unsafe { wgpuDevicePushErrorScope(self.0, filter as u32) }
    }

    /// Pop the innermost error scope: `Ok` when nothing went wrong in it, else the error and its message.
    pub fn pop_error_scope(&self) -> Result<(), Error> {
        match unsafe { wasmvmDevicePopErrorScopeSync(self.0) } {
            1 => Ok(()),
            k => Err(fail(k)),
        }
    }

    /// The oldest error no scope caught, if any.
    pub fn take_uncaptured_error(&self) -> Option<Error> {
        match unsafe { wasmvmDeviceTakeUncapturedError(self.0) } {
            1 => None,
            k => Some(fail(k)),
        }
    }

    pub fn destroy(&self) {
        unsafe { wgpuDeviceDestroy(self.0) }
    }
}

impl Queue {
    pub fn write_buffer(&self, buffer: &Buffer, offset: u64, data: &[u8]) {
        unsafe { wgpuQueueWriteBuffer(self.0, buffer.0, offset, data.as_ptr(), data.len()) }
    }

    pub fn write_f32(&self, buffer: &Buffer, offset: u64, data: &[f32]) {
        let bytes: Vec<u8> = data.iter().flat_map(|f| f.to_le_bytes()).collect();
        self.write_buffer(buffer, offset, &bytes)
    }

    pub fn submit(&self, commands: &[CommandBuffer]) {
        let h: Vec<Handle> = commands.iter().map(|c| c.0).collect();
        unsafe { wgpuQueueSubmit(self.0, h.len(), h.as_ptr()) }
    }

    /// Block until the GPU has finished everything submitted so far.
    pub fn wait_idle(&self) -> Result<(), Error> {
        match unsafe { wasmvmQueueWaitIdleSync(self.0) } {
            1 => Ok(()),
            k => Err(fail(k)),
        }
    }
}

impl Buffer {
    pub fn size(&self) -> u64 {
        unsafe { wgpuBufferGetSize(self.0) }
    }

    /// Map `[offset, offset+size)` for reading (waits for the GPU), copy it out, unmap.
    pub fn read(&self, offset: usize, size: usize) -> Result<Vec<u8>, Error> {
        unsafe {
            if wasmvmBufferMapSync(self.0, 1, offset, size) != 1 {
                return Err(fail(0));
            }
            let mut v = vec![0u8; size];
            let st = wasmvmBufferReadMapped(self.0, offset, v.as_mut_ptr(), size);
            wasmvmBufferUnmap(self.0);
            if st != 1 {
                return Err(fail(0));
            }
            Ok(v)
        }
    }

    pub fn read_f32(&self, offset: usize, count: usize) -> Result<Vec<f32>, Error> {
        let b = self.read(offset, count * 4)?;
        Ok(b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }

    pub fn destroy(&self) {
        unsafe { wgpuBufferDestroy(self.0) }
    }
}

impl CommandEncoder {
    pub fn begin_compute_pass(&self) -> ComputePass {
        ComputePass(unsafe { wgpuCommandEncoderBeginComputePass(self.0, core::ptr::null()) })
    }

    pub fn copy_buffer_to_buffer(&self, src: &Buffer, src_offset: u64, dst: &Buffer, dst_offset: u64, size: u64) {
        unsafe { wgpuCommandEncoderCopyBufferToBuffer(self.0, src.0, src_offset, dst.0, dst_offset, size) }
    }

    pub fn clear_buffer(&self, buffer: &Buffer, offset: u64, size: u64) {
        unsafe { wgpuCommandEncoderClearBuffer(self.0, buffer.0, offset, size) }
    }

    pub fn finish(self) -> CommandBuffer {
        CommandBuffer(unsafe { wgpuCommandEncoderFinish(self.0, core::ptr::null()) })
    }
}

impl ComputePass {
    pub fn set_pipeline(&self, pipeline: &ComputePipeline) {
        unsafe { wgpuComputePassEncoderSetPipeline(self.0, pipeline.0) }
    }

    pub fn set_bind_group(&self, index: u32, group: &BindGroup) {
        unsafe { wgpuComputePassEncoderSetBindGroup(self.0, index, group.0, 0, core::ptr::null()) }
    }

    pub fn dispatch_workgroups(&self, x: u32, y: u32, z: u32) {
        unsafe { wgpuComputePassEncoderDispatchWorkgroups(self.0, x, y, z) }
    }

    pub fn end(self) {
        unsafe { wgpuComputePassEncoderEnd(self.0) }
    }
}
