//! Guest bindings for the `wasmtime_attestation` host module (wasmvm-tee, docs/host.md).
//!
//! Mirrors the original `wasm_ml::attestation` API: [`attest_vm_token`], [`attest_gpu_token`],
//! [`verify_attestation_token`] (alias [`verify_token`]), [`clear_attestation_cache`],
//! [`detect_tee_type`], plus [`attest_all`] and [`attest_vm_with_data`]. No dependencies.
//!
//! The host allocates each result block (`[u32 LE length][UTF-8 JSON]`) through the guest's exported
//! `cabi_realloc`, which this crate defines (backed by Rust's global allocator). Build the final
//! module with `-C link-arg=--export=cabi_realloc` so the host can see it.

use std::alloc::{alloc, dealloc, realloc, Layout};

#[link(wasm_import_module = "wasmtime_attestation")]
extern "C" {
    fn attest_vm() -> i32;
    fn attest_gpu(gpu_index: u32) -> i32;
    fn verify_token(token_ptr: *const u8, token_len: i32) -> i32;
    fn clear_cache();
    fn detect_tee() -> i32;
    fn detect_tee_code() -> i32;
    #[link_name = "attest_vm_with_data"]
    fn attest_vm_with_data_raw(ptr: *const u8, len: i32) -> i32;
}

/// `detect_tee_code()` values.
pub const TEE_NONE: i32 = 0;
pub const TEE_SEV_SNP: i32 = 1;
pub const TEE_TDX: i32 = 2;
pub const TEE_AZURE_SEV_SNP: i32 = 3;
pub const TEE_AZURE_TDX: i32 = 4;
pub const TEE_SIMULATED_FLAG: i32 = 0x100;

/// The allocator the host calls for result blocks (canonical ABI signature).
#[no_mangle]
pub unsafe extern "C" fn cabi_realloc(old: *mut u8, old_size: usize, align: usize, new_size: usize) -> *mut u8 {
    let align = if align == 0 { 1 } else { align };
    if new_size == 0 {
        if !old.is_null() && old_size != 0 {
            dealloc(old, Layout::from_size_align_unchecked(old_size, align));
        }
        return align as *mut u8;
    }
    if old.is_null() || old_size == 0 {
        alloc(Layout::from_size_align_unchecked(new_size, align))
    } else {
        realloc(old, Layout::from_size_align_unchecked(old_size, align), new_size)
    }
}

/// The JSON every attestation call returns.
#[derive(Debug, Clone, Default)]
pub struct AttestationResult {
    pub success: bool,
    pub token: Option<String>,
    pub evidence: Option<String>,
    pub error: Option<String>,
    pub timestamp: i64,
    pub tee_type: Option<String>,
    pub simulated: bool,
    pub nonce: Option<String>,
    pub report_data: Option<String>,
    /// The raw JSON from the host.
    pub json: String,
}

#[derive(Debug, Clone, Default)]
pub struct TeeDetectionResult {
    pub tee_type: String,
    pub supports_attestation: bool,
    pub simulated: bool,
    pub code: i32,
}

/// Minimal JSON field access for the host's flat objects.
pub mod json {
    fn find<'a>(json: &'a str, key: &str) -> Option<&'a str> {
        let pat = format!("\"{}\"", key);
        let mut start = 0;
        while let Some(i) = json[start..].find(&pat) {
            let after = json[start + i + pat.len()..].trim_start();
            if let Some(rest) = after.strip_prefix(':') {
                return Some(rest.trim_start());
            }
            start += i + pat.len();
        }
        None
    }

    pub fn bool(json: &str, key: &str) -> bool {
        find(json, key).map_or(false, |v| v.starts_with("true"))
    }

    pub fn int(json: &str, key: &str) -> Option<i64> {
        let v = find(json, key)?;
        let end = v.find(|c: char| !(c == '-' || c.is_ascii_digit())).unwrap_or(v.len());
        v[..end].parse().ok()
    }

    pub fn string(json: &str, key: &str) -> Option<String> {
        let v = find(json, key)?;
        let mut chars = v.strip_prefix('"')?.chars();
        let mut out = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => return Some(out),
                '\\' => match chars.next()? {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'u' => {
                        let hex: String = (0..4).filter_map(|_| chars.next()).collect();
                        let cp = u32::from_str_radix(&hex, 16).ok()?;
                        out.push(char::from_u32(cp).unwrap_or('?'));
                    }
                    other => out.push(other),
                },
                c => out.push(c),
            }
        }
        None
    }
}

/// Read (and free) a `[u32 LE length][JSON]` block returned by the host.
unsafe fn take_json(ptr: i32) -> Result<String, String> {
    if ptr == 0 {
        return Err("host returned a null pointer".to_string());
    }
    let p = ptr as usize as *mut u8;
    let mut len = [0u8; 4];
    std::ptr::copy_nonoverlapping(p, len.as_mut_ptr(), 4);
    let len = u32::from_le_bytes(len) as usize;
    let data = std::slice::from_raw_parts(p.add(4), len).to_vec();
    cabi_realloc(p, len + 4, 4, 0);
    String::from_utf8(data).map_err(|e| format!("invalid UTF-8 from host: {}", e))
}

fn parse(json: String) -> AttestationResult {
    AttestationResult {
        success: json::bool(&json, "success"),
        token: json::string(&json, "token"),
        evidence: json::string(&json, "evidence"),
        error: json::string(&json, "error"),
        timestamp: json::int(&json, "timestamp").unwrap_or(0),
        tee_type: json::string(&json, "tee_type"),
        simulated: json::bool(&json, "simulated"),
        nonce: json::string(&json, "nonce"),
        report_data: json::string(&json, "report_data"),
        json,
    }
}

fn into_result(r: AttestationResult) -> Result<AttestationResult, String> {
    if r.success {
        Ok(r)
    } else {
        Err(r.error.clone().unwrap_or_else(|| "unknown error".to_string()))
    }
}

/// Detect the TEE without attesting.
pub fn detect_tee_type() -> Result<TeeDetectionResult, String> {
    let j = unsafe { take_json(detect_tee())? };
    Ok(TeeDetectionResult {
        tee_type: json::string(&j, "tee_type").unwrap_or_default(),
        supports_attestation: json::bool(&j, "supports_attestation"),
        simulated: json::bool(&j, "simulated"),
        code: unsafe { detect_tee_code() },
    })
}

/// Attest the VM (AMD SEV-SNP / Intel TDX); `Ok` only when the host's verifier and policy accepted it.
pub fn attest_vm_token() -> Result<AttestationResult, String> {
    into_result(parse(unsafe { take_json(attest_vm())? }))
}

/// Attest the VM with `data` bound into REPORT_DATA (SHA-512 of a domain tag, the host nonce and data).
pub fn attest_vm_with_data(data: &[u8]) -> Result<AttestationResult, String> {
    into_result(parse(unsafe { take_json(attest_vm_with_data_raw(data.as_ptr(), data.len() as i32))? }))
}

/// Attest NVIDIA GPU `gpu_index`.
pub fn attest_gpu_token(gpu_index: u32) -> Result<AttestationResult, String> {
    into_result(parse(unsafe { take_json(attest_gpu(gpu_index))? }))
}

/// Verify a token's signature against the host's configured issuers.
pub fn verify_attestation_token(token: &str) -> bool {
    unsafe { verify_token(token.as_ptr(), token.len() as i32) == 1 }
}

/// Alias of [`verify_attestation_token`].
pub fn verify_token_str(token: &str) -> bool {
    verify_attestation_token(token)
}

pub use verify_token_str as verify;

/// Clear the host's attestation cache.
pub fn clear_attestation_cache() {
    unsafe { clear_cache() }
}

/// Attest the VM and GPU `gpu_index` and verify both tokens.
pub fn attest_all(gpu_index: u32) -> Result<(AttestationResult, AttestationResult), String> {
    let vm = attest_vm_token().map_err(|e| format!("VM attestation failed: {}", e))?;
    if !verify_attestation_token(vm.token.as_deref().unwrap_or("")) {
        return Err("VM token did not verify".to_string());
    }
    let gpu = attest_gpu_token(gpu_index).map_err(|e| format!("GPU attestation failed: {}", e))?;
    if !verify_attestation_token(gpu.token.as_deref().unwrap_or("")) {
        return Err("GPU token did not verify".to_string());
    }
    Ok((vm, gpu))
}
