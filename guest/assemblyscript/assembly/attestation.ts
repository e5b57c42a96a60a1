// AssemblyScript bindings for the `wasmtime_attestation` host module (wasmvm-tee, docs/host.md).
//
// AssemblyScript's managed heap is not a plain malloc, so this SDK uses the buffer variants
// (`attest_vm_into`, `attest_gpu_into`): the host writes [u32 LE length][JSON] into a buffer we own
// and returns the size it needs; a too-small buffer is grown and the call repeated (the host keeps
// the pending result, so no second attestation happens).

@external("wasmtime_attestation", "attest_vm_into")
declare function attest_vm_into(out: usize, cap: i32): i32;
@external("wasmtime_attestation", "attest_gpu_into")
declare function attest_gpu_into(index: u32, out: usize, cap: i32): i32;
@external("wasmtime_attestation", "attest_vm_with_data_into")
declare function attest_vm_with_data_into(data: usize, len: i32, out: usize, cap: i32): i32;
@external("wasmtime_attestation", "verify_token")
declare function verify_token_raw(ptr: usize, len: i32): i32;
@external("wasmtime_attestation", "clear_cache")
declare function clear_cache_raw(): void;
@external("wasmtime_attestation", "detect_tee_code")
declare function detect_tee_code_raw(): i32;

export const TEE_NONE: i32 = 0;
export const TEE_SEV_SNP: i32 = 1;
export const TEE_TDX: i32 = 2;
export const TEE_SIMULATED_FLAG: i32 = 0x100;

export class AttestationResult {
  success: bool = false;
  simulated: bool = false;
  token: string = '';
  error: string = '';
  teeType: string = '';
  nonce: string = '';
  reportData: string = '';
  json: string = '';
}

function findValue(json: string, key: string): i32 {
  const pat = '"' + key + '"';
  let from = 0;
  while (true) {
    const i = json.indexOf(pat, from);
    if (i < 0) return -1;
    let j = i + pat.length;
    while (j < json.length && json.charCodeAt(j) == 32) j++;
    if (j < json.length && json.charCodeAt(j) == 58) {
      j++;
      while (j < json.length && json.charCodeAt(j) == 32) j++;
      return j;
    }
    from = i + pat.length;
  }
}

export function jsonBool(json: string, key: string): bool {
  const v = findValue(json, key);
  return v >= 0 && json.substr(v, 4) == 'true';
}

export function jsonString(json: string, key: string): string {
  let v = findValue(json, key);
  if (v < 0 || json.charCodeAt(v) != 34) return '';
  let out = '';
  v++;
  while (v < json.length) {
    const c = json.charCodeAt(v);
    if (c == 34) break;
    if (c == 92 && v + 1 < json.length) {
      const e = json.charCodeAt(v + 1);
      if (e == 110) out += '\n';
      else if (e == 116) out += '\t';
      else if (e == 117) {
        out += String.fromCharCode(<i32>parseInt(json.substr(v + 2, 4), 16));
        v += 4;
      } else out += String.fromCharCode(e);
      v += 2;
      continue;
    }
    out += String.fromCharCode(c);
    v++;
  }
  return out;
}

function parse(json: string): AttestationResult {
  const r = new AttestationResult();
  r.json = json;
  r.success = jsonBool(json, 'success');
  r.simulated = jsonBool(json, 'simulated');
  r.token = jsonString(json, 'token');
  r.error = jsonString(json, 'error');
  r.teeType = jsonString(json, 'tee_type');
  r.nonce = jsonString(json, 'nonce');
  r.reportData = jsonString(json, 'report_data');
  if (!r.success && r.error.length == 0) r.error = 'unknown error';
  return r;
}

// kind: 0 = VM, 1 = GPU, 2 = VM with data
function call(kind: i32, index: u32, data: Uint8Array | null): string {
  let cap = 8192;
  while (true) {
    const buf = new Uint8Array(cap);
    const out = buf.dataStart;
    let needed: i32;
    if (kind == 0) needed = attest_vm_into(out, cap);
    else if (kind == 1) needed = attest_gpu_into(index, out, cap);
    else needed = attest_vm_with_data_into(data!.dataStart, data!.length, out, cap);
    if (needed <= cap) {
      const len = load<u32>(out);
      return String.UTF8.decodeUnsafe(out + 4, len);
    }
    cap = needed;
  }
}

/** Attest the confidential VM; success only when the host's verifier and policy accepted the evidence. */
export function attestVm(): AttestationResult {
  return parse(call(0, 0, null));
}

/** Attest the VM with `data` bound into REPORT_DATA. */
export function attestVmWithData(data: Uint8Array): AttestationResult {
  return parse(call(2, 0, data));
}

/** Attest NVIDIA GPU `index`. */
export function attestGpu(index: u32): AttestationResult {
  return parse(call(1, index, null));
}

/** Verify a token's signature against the host's configured issuers. */
export function verifyToken(token: string): bool {
  const b = String.UTF8.encode(token);
  return verify_token_raw(changetype<usize>(b), b.byteLength) == 1;
}

export function clearCache(): void {
  clear_cache_raw();
}

/** detect_tee_code(): 0 none, 1 SEV-SNP, 2 TDX, | 0x100 when simulated. */
export function detectTeeCode(): i32 {
  return detect_tee_code_raw();
}

/** Attest the VM and GPU `index` and verify both tokens; returns "" on success, else the reason. */
export function attestAll(index: u32): string {
  const vm = attestVm();
  if (!vm.success) return 'VM attestation failed: ' + vm.error;
  if (!verifyToken(vm.token)) return 'VM token did not verify';
  const gpu = attestGpu(index);
  if (!gpu.success) return 'GPU attestation failed: ' + gpu.error;
  if (!verifyToken(gpu.token)) return 'GPU token did not verify';
  return '';
}
