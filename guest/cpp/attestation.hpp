/**
 * @file attestation.hpp
 * C++ bindings for the `wasmtime_attestation` host module (wasmvm-tee), mirroring the original
 * `wasmtime_attestation::attest_vm()` / `attest_gpu()` / `verify_token()` / `attest_all()` API.
 * Header-only; built on attestation.h. Define WASMTIME_ATTESTATION_IMPLEMENTATION in exactly one
 * translation unit before including it (exports the `cabi_realloc` allocator the host uses).
 *
 *   auto vm = wasmtime_attestation::attest_vm();
 *   if (!vm.success) { std::fprintf(stderr, "VM attestation failed: %s\n", vm.error.c_str()); return 1; }
 */
#pragma once

#include <cstdio>
#include <string>

#include "attestation.h"

namespace wasmtime_attestation {

struct AttestationResult {
  bool success = false;
  bool simulated = false;
  std::string token;
  std::string evidence;
  std::string error;
  std::string tee_type;
  std::string nonce;
  std::string report_data;
  std::string json;  ///< the raw JSON from the host
};

struct TeeInfo {
  std::string tee_type;
  bool supports_attestation = false;
  bool simulated = false;
  int code = WA_TEE_NONE;
};

namespace detail {
inline std::string field(const std::string &json, const char *key) {
  const char *v = wa_json_find(json.c_str(), key);
  if (!v || *v != '"') return {};
  std::string buf(json.size() + 1, '\0');
  wa_json_string(json.c_str(), key, &buf[0], buf.size());
  buf.resize(std::char_traits<char>::length(buf.c_str()));
  return buf;
}

inline AttestationResult parse(int32_t ptr) {
  AttestationResult r;
  char *s = wa_take_json(ptr);
  if (!s) {
    r.error = "host returned no result";
    return r;
  }
  r.json = s;
  std::free(s);
  r.success = wa_json_bool(r.json.c_str(), "success");
  r.simulated = wa_json_bool(r.json.c_str(), "simulated");
  r.token = field(r.json, "token");
  r.evidence = field(r.json, "evidence");
  r.error = field(r.json, "error");
  r.tee_type = field(r.json, "tee_type");
  r.nonce = field(r.json, "nonce");
  r.report_data = field(r.json, "report_data");
  if (!r.success && r.error.empty()) r.error = "unknown error";
  return r;
}
}  // namespace detail

/// Attest the confidential VM (AMD SEV-SNP / Intel TDX); the token is an ES384 JWT from the host.
inline AttestationResult attest_vm() { return detail::parse(wa_attest_vm()); }

/// Attest the VM with guest data bound into REPORT_DATA (docs/host.md for the hash).
inline AttestationResult attest_vm_with_data(const void *data, size_t len) {
  return detail::parse(wa_attest_vm_with_data(data, static_cast<int32_t>(len)));
}

/// Attest NVIDIA GPU `gpu_index`.
inline AttestationResult attest_gpu(uint32_t gpu_index) { return detail::parse(wa_attest_gpu(gpu_index)); }

/// Verify a token's signature against the host's configured issuers.
inline bool verify_token(const std::string &token) {
  return wa_verify_token(token.data(), static_cast<int32_t>(token.size())) == 1;
}

inline void clear_cache() { wa_clear_cache(); }

inline TeeInfo detect_tee() {
  TeeInfo t;
  char *s = wa_take_json(wa_detect_tee());
  if (s) {
    std::string j = s;
    std::free(s);
    t.tee_type = detail::field(j, "tee_type");
    t.supports_attestation = wa_json_bool(j.c_str(), "supports_attestation");
    t.simulated = wa_json_bool(j.c_str(), "simulated");
  }
  t.code = wa_detect_tee_code();
  return t;
}

/// Attest the VM and GPU `gpu_index` and verify both tokens; prints the reason and returns false on failure.
inline bool attest_all(uint32_t gpu_index = 0) {
  auto vm = attest_vm();
  if (!vm.success) {
    std::fprintf(stderr, "VM attestation failed: %s\n", vm.error.c_str());
    return false;
  }
  if (!verify_token(vm.token)) {
    std::fprintf(stderr, "VM token did not verify\n");
    return false;
  }
  auto gpu = attest_gpu(gpu_index);
  if (!gpu.success) {
    std::fprintf(stderr, "GPU attestation failed: %s\n", gpu.error.c_str());
    return false;
  }
  if (!verify_token(gpu.token)) {
    std::fprintf(stderr, "GPU token did not verify\n");
    return false;
  }
  return true;
}

}  // namespace wasmtime_attestation
