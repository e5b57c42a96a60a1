//! Example (Rust): attest the VM and every NVIDIA GPU, refuse to start when attestation fails, then train a
//! 2-layer MLP (2 → 16 ReLU → 1, full-batch gradient descent on MSE) with WGSL kernels through
//! `wasmvm-tee-webgpu`, print the loss per epoch, and check the final weights against a CPU reference.
//! The same model, data and kernels as guest/cpp/examples/webgpu_train.cpp.
//!
//!   wasmvm-tee run --webgpu --allow-simulated webgpu_train_rust.wasm [-- --gpus N] [--allow-unattested-gpu]
//!
//! Exit codes: 0 trained and within tolerance, 1 VM attestation failed, 2 token invalid, 3 GPU attestation
//! failed / unattested GPU refused, 4 WebGPU error, 5 weights outside tolerance.
use std::process::exit;
use wasmtime_attestation as wa;
use wasmvm_tee_webgpu::{usage, BindingType, ErrorFilter, Instance};

const N: usize = 256;
const D: usize = 2;
const H: usize = 16;
const EPOCHS: usize = 40;
const LR: f32 = 0.1;
/// |w_gpu - w_cpu| tolerance: GPUs may fuse multiply-adds (FMA) and round differently from the CPU.
const TOLERANCE: f32 = 1e-4;

const P_W1: usize = 0;
const P_B1: usize = D * H;
const P_W2: usize = D * H + H;
const P_B2: usize = D * H + 2 * H;
const NP: usize = D * H + 2 * H + 1;
const K_A: usize = 0;
const K_DO: usize = N * H;
const K_DZ: usize = N * H + N;
const K_E: usize = 2 * N * H + N;
const K_LOSS: usize = 2 * N * H + 2 * N;
const NK: usize = 2 * N * H + 2 * N + 1;

const KERNELS: &str = r#"
@group(0) @binding(0) var<storage, read> data: array<f32>;
@group(0) @binding(1) var<storage, read_write> p: array<f32>;
@group(0) @binding(2) var<storage, read_write> k: array<f32>;

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
  if (j < P_B1) {
    let d = j / H; let h = j % H;
    var s = 0.0;
    for (var n = 0u; n < N; n++) { s = s + data[n * D + d] * k[K_DZ + n * H + h]; }
    p[j] = p[j] - LR * s;
  } else if (j < P_W2) {
    let h = j - P_B1;
    var s = 0.0;
    for (var n = 0u; n < N; n++) { s = s + k[K_DZ + n * H + h]; }
    p[j] = p[j] - LR * s;
  } else if (j < P_B2) {
    let h = j - P_W2;
    var s = 0.0;
    for (var n = 0u; n < N; n++) { s = s + k[K_A + n * H + h] * k[K_DO + n]; }
    p[j] = p[j] - LR * s;
  } else if (j == P_B2) {
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
"#;

fn kernels() -> String {
    format!(
        "const N: u32 = {N}u; const D: u32 = {D}u; const H: u32 = {H}u; const LR: f32 = {LR:?};\n\
         const P_W1: u32 = {P_W1}u; const P_B1: u32 = {P_B1}u; const P_W2: u32 = {P_W2}u; const P_B2: u32 = {P_B2}u;\n\
         const K_A: u32 = {K_A}u; const K_DO: u32 = {K_DO}u; const K_DZ: u32 = {K_DZ}u; const K_E: u32 = {K_E}u; \
         const K_LOSS: u32 = {K_LOSS}u;\n{KERNELS}"
    )
}

/// The same computation on the CPU, in f32, in the same order (the reference).
struct Cpu {
    p: Vec<f32>,
    loss: f32,
}

impl Cpu {
    fn epoch(&mut self, data: &[f32]) {
        let p = &self.p;
        let mut a = vec![0f32; N * H];
        let mut d_o = vec![0f32; N];
        let mut dz = vec![0f32; N * H];
        let mut e = vec![0f32; N];
        for n in 0..N {
            for h in 0..H {
                let mut z = p[P_B1 + h];
                for d in 0..D {
                    z = z + data[n * D + d] * p[P_W1 + d * H + h];
                }
                a[n * H + h] = if z > 0.0 { z } else { 0.0 };
            }
        }
        for n in 0..N {
            let mut o = p[P_B2];
            for h in 0..H {
                o = o + a[n * H + h] * p[P_W2 + h];
            }
            let err = o - data[N * D + n];
            d_o[n] = 2.0 * err / N as f32;
            e[n] = err * err;
        }
        for n in 0..N {
            for h in 0..H {
                dz[n * H + h] = if a[n * H + h] > 0.0 { d_o[n] * p[P_W2 + h] } else { 0.0 };
            }
        }
        let mut q = p.clone();
        for j in 0..NP {
            let mut s = 0f32;
            if j < P_B1 {
                let (d, h) = (j / H, j % H);
                for n in 0..N {
                    s = s + data[n * D + d] * dz[n * H + h];
                }
            } else if j < P_W2 {
                for n in 0..N {
                    s = s + dz[n * H + (j - P_B1)];
                }
            } else if j < P_B2 {
                for n in 0..N {
                    s = s + a[n * H + (j - P_W2)] * d_o[n];
                }
            } else {
                for n in 0..N {
                    s = s + d_o[n];
                }
            }
            q[j] = p[j] - LR * s;
        }
        self.p = q;
        let mut s = 0f32;
        for n in 0..N {
            s = s + e[n];
        }
        self.loss = s / N as f32;
    }
}

struct Lcg(u32);
impl Lcg {
    /// Deterministic LCG in [-1, 1) (the C++ example's).
    fn uniform(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(1664525).wrapping_add(1013904223);
        (self.0 >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
    }
}

fn attest(gpus: u32, allow_unattested_gpu: bool) -> Result<(), i32> {
    let tee = wa::detect_tee_type().map_err(|e| {
        eprintln!("refusing to train: detect_tee failed: {e}");
        1
    })?;
    println!("TEE: {} (code 0x{:x})", tee.tee_type, tee.code);
    let vm = match wa::attest_vm_token() {
        Ok(r) if r.success => r,
        Ok(r) => {
            eprintln!("refusing to train: VM attestation failed: {}", r.error.unwrap_or_default());
            return Err(1);
        }
        Err(e) => {
            eprintln!("refusing to train: VM attestation failed: {e}");
            return Err(1);
        }
    };
    if !wa::verify_attestation_token(vm.token.as_deref().unwrap_or("")) {
        eprintln!("refusing to train: VM attestation token did not verify");
        return Err(2);
    }
    println!(
        "VM attested: {}{}, token verified",
        vm.tee_type.unwrap_or_default(),
        if vm.simulated { " [SIMULATED]" } else { "" }
    );
    if !host_has_nvidia_gpu() {
        if !allow_unattested_gpu {
            eprintln!(
                "refusing to train: the host has no attestable NVIDIA GPU (pass --allow-unattested-gpu to train on an unattested adapter)"
            );
            return Err(3);
        }
        println!("GPU attestation: no NVIDIA GPU on this host; training on an UNATTESTED adapter (allowed)");
        return Ok(());
    }
    for i in 0..gpus {
        let g = match wa::attest_gpu_token(i) {
            Ok(r) if r.success => r,
            Ok(r) => {
                eprintln!("refusing to train: GPU {i} attestation failed: {}", r.error.unwrap_or_default());
                return Err(3);
            }
            Err(e) => {
                eprintln!("refusing to train: GPU {i} attestation failed: {e}");
                return Err(3);
            }
        };
        if !wa::verify_attestation_token(g.token.as_deref().unwrap_or("")) {
            eprintln!("refusing to train: GPU {i} token did not verify");
            return Err(2);
        }
        println!("GPU {i} attested{}, token verified", if g.simulated { " [SIMULATED]" } else { "" });
    }
    Ok(())
}

/// detect_tee's "gpu" field: whether the host has NVIDIA GPUs to attest (read from the raw JSON block).
fn host_has_nvidia_gpu() -> bool {
    #[link(wasm_import_module = "wasmtime_attestation")]
    extern "C" {
        fn detect_tee() -> i32;
    }
    unsafe {
        let p = detect_tee() as usize as *const u8;
        if p.is_null() {
            return false;
        }
        let len = u32::from_le_bytes([*p, *p.add(1), *p.add(2), *p.add(3)]) as usize;
        let json = String::from_utf8_lossy(std::slice::from_raw_parts(p.add(4), len)).into_owned();
        wa::cabi_realloc(p as *mut u8, len + 4, 4, 0);
        wa::json::bool(&json, "gpu")
    }
}

fn bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|f| f.to_le_bytes()).collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let allow_unattested_gpu = args.iter().any(|a| a == "--allow-unattested-gpu");
    let gpus = args
        .iter()
        .position(|a| a == "--gpus")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    if let Err(code) = attest(gpus, allow_unattested_gpu) {
        exit(code);
    }

    let mut rng = Lcg(12345);
    let mut data = vec![0f32; N * D + N];
    for n in 0..N {
        let x0 = rng.uniform();
        let x1 = rng.uniform();
        data[n * D] = x0;
        data[n * D + 1] = x1;
        data[N * D + n] = x0 * x1 + 0.5 * x0;
    }
    let mut cpu = Cpu { p: vec![0f32; NP], loss: 0.0 };
    for j in 0..NP {
        cpu.p[j] = if j < P_B1 {
            rng.uniform() * 0.8
        } else if j < P_W2 {
            0.1
        } else if j < P_B2 {
            rng.uniform() * 0.5
        } else {
            0.0
        };
    }

    let instance = Instance::new();
    let adapter = instance.request_adapter().unwrap_or_else(|e| {
        eprintln!("no WebGPU adapter: {}", e.message);
        exit(4)
    });
    let info = adapter.info();
    println!(
        "WebGPU adapter: vendor '{}', architecture '{}', device '{}', description '{}'",
        info.vendor, info.architecture, info.device, info.description
    );
    let device = adapter.request_device().unwrap_or_else(|e| {
        eprintln!("requestDevice failed: {}", e.message);
        exit(4)
    });
    let queue = device.queue();
    device.push_error_scope(ErrorFilter::Validation);
    let storage = usage::STORAGE | usage::COPY_DST | usage::COPY_SRC;
    let buffer = |size: usize, u: u64| device.create_buffer(size as u64, u);
    let (b_data, b_params, b_work, b_read) = match (
        buffer(data.len() * 4, storage),
        buffer(NP * 4, storage),
        buffer(NK * 4, storage),
        buffer(NP * 4, usage::MAP_READ | usage::COPY_DST),
    ) {
        (Some(a), Some(b), Some(c), Some(d)) => (a, b, c, d),
        _ => {
            eprintln!("WebGPU buffers refused: {:?}", device.pop_error_scope().err());
            exit(4)
        }
    };
    queue.write_buffer(&b_data, 0, &bytes(&data));
    queue.write_buffer(&b_params, 0, &bytes(&cpu.p));
    let module = device.create_shader_module(&kernels());
    let bgl = device.create_bind_group_layout(&[
        (0, BindingType::ReadOnlyStorage),
        (1, BindingType::Storage),
        (2, BindingType::Storage),
    ]);
    let layout = device.create_pipeline_layout(&[&bgl]);
    let pipes: Vec<_> = ["forward_hidden", "forward_out", "backward_hidden", "update", "loss"]
        .iter()
        .map(|e| device.create_compute_pipeline(Some(&layout), &module, e))
        .collect();
    let group = device.create_bind_group(&bgl, &[(0, &b_data), (1, &b_params), (2, &b_work)]);
    if let Err(e) = device.pop_error_scope() {
        eprintln!("WebGPU setup failed: {}", e.message);
        exit(4)
    }

    let groups = [(N * H + 63) / 64, (N + 63) / 64, (N * H + 63) / 64, (NP + 63) / 64, 1];
    let mut loss = 0f32;
    for epoch in 0..EPOCHS {
        let enc = device.create_command_encoder();
        let pass = enc.begin_compute_pass();
        pass.set_bind_group(0, &group);
        for (pipe, &g) in pipes.iter().zip(groups.iter()) {
            pass.set_pipeline(pipe);
            pass.dispatch_workgroups(g as u32, 1, 1);
        }
        pass.end();
        enc.copy_buffer_to_buffer(&b_work, (K_LOSS * 4) as u64, &b_read, 0, 4);
        queue.submit(&[enc.finish()]);
        loss = match b_read.read_f32(0, 1) {
            Ok(v) => v[0],
            Err(e) => {
                eprintln!("map failed: {}", e.message);
                exit(4)
            }
        };
        cpu.epoch(&data);
        println!("epoch {:2}: loss {:.6} (cpu {:.6})", epoch + 1, loss, cpu.loss);
    }

    let enc = device.create_command_encoder();
    enc.copy_buffer_to_buffer(&b_params, 0, &b_read, 0, (NP * 4) as u64);
    queue.submit(&[enc.finish()]);
    let w = b_read.read_f32(0, NP).unwrap_or_else(|e| {
        eprintln!("map failed: {}", e.message);
        exit(4)
    });
    let err = w.iter().zip(cpu.p.iter()).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    if let Some(e) = device.take_uncaptured_error() {
        eprintln!("WebGPU error: {}", e.message);
        exit(4)
    }
    println!("trained: loss {:.6}, max |w_gpu - w_cpu| = {:.3e}", loss, err);
    if !(err <= TOLERANCE) {
        eprintln!("weights differ from the CPU reference by {err:e} > {TOLERANCE:e}");
        exit(5)
    }
}
