//! Example (Rust): attest the VM and GPU 0, verify the tokens, and only then train a tiny model
//! (linear regression by gradient descent on fixed data) and print it.
//!
//!   wasmvm-tee run --allow-simulated attest_train_rust.wasm [-- --require-gpu]
//!
//! Without a GPU, attest_gpu fails: reported, and the example continues CPU-only unless
//! --require-gpu (or WASMVM_REQUIRE_GPU=1). Exit codes: 0 ok, 1 VM attestation failed,
//! 2 token invalid, 3 GPU required but not attested.
use std::process::exit;
use wasmtime_attestation::{attest_gpu_token, attest_vm_token, detect_tee_type, verify_attestation_token};

fn main() {
    let require_gpu = std::env::args().any(|a| a == "--require-gpu")
        || std::env::var("WASMVM_REQUIRE_GPU").map(|v| v == "1").unwrap_or(false);

    match detect_tee_type() {
        Ok(t) => println!("TEE: {} (code 0x{:x})", t.tee_type, t.code),
        Err(e) => println!("TEE: unknown ({})", e),
    }

    let vm = match attest_vm_token() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("VM attestation failed: {}", e);
            exit(1);
        }
    };
    let token = vm.token.clone().unwrap_or_default();
    if !verify_attestation_token(&token) {
        eprintln!("VM attestation token did not verify");
        exit(2);
    }
    println!(
        "VM attested: {}{}, token verified ({} bytes)",
        vm.tee_type.as_deref().unwrap_or("?"),
        if vm.simulated { " [SIMULATED]" } else { "" },
        token.len()
    );

    match attest_gpu_token(0) {
        Ok(g) => {
            if !verify_attestation_token(g.token.as_deref().unwrap_or("")) {
                eprintln!("GPU attestation token did not verify");
                exit(2);
            }
            println!("GPU 0 attested, token verified");
        }
        Err(e) if require_gpu => {
            eprintln!("GPU attestation required but failed: {}", e);
            exit(3);
        }
        Err(e) => println!("GPU attestation unavailable ({}): continuing CPU-only", e),
    }

    let xs = [0.0f64, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
    let ys = [1.1f64, 2.9, 5.2, 6.8, 9.1, 11.0, 12.9, 15.2];
    let n = xs.len() as f64;
    let (mut w, mut b) = (0.0f64, 0.0f64);
    let lr = 0.02;
    for _ in 0..2000 {
        let (mut gw, mut gb) = (0.0, 0.0);
        for i in 0..xs.len() {
            let e = w * xs[i] + b - ys[i];
            gw += e * xs[i];
            gb += e;
        }
        w -= lr * gw / n;
        b -= lr * gb / n;
    }
    let mse: f64 = xs.iter().zip(ys.iter()).map(|(x, y)| (w * x + b - y).powi(2) / n).sum();
    println!("model: y = {:.4} * x + {:.4} (mse {:.4})", w, b, mse);
}
