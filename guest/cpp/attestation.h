/*
 * attestation.h - C bindings for the `wasmtime_attestation` host module (wasmvm-tee, docs/host.md).
 *
 * ABI (compatible with the original wasmtime:attestation guest bindings):
 *   int32_t attest_vm(void);               -> pointer to [u32 LE length][UTF-8 JSON]
 *   int32_t attest_gpu(uint32_t index);    -> same
 *   int32_t verify_token(const char *, int32_t len);   -> 1 valid, 0 invalid
 *   void    clear_cache(void);
 *   int32_t detect_tee(void);              -> pointer to [len][{"tee_type":..,"supports_attestation":..}]
 * Extensions: attest_vm_with_data, attest_gpu_with_data, attest_vm_into, attest_gpu_into,
 *   attest_vm_with_data_into (no allocator needed), detect_tee_code.
 *
 * The host allocates result blocks through the guest's exported allocator: cabi_realloc, else malloc,
 * else alloc. Define WASMTIME_ATTESTATION_IMPLEMENTATION in exactly one .c file before including this
 * header to export `cabi_realloc` (backed by malloc/realloc). Blocks are yours to free().
 */
#ifndef WASMTIME_ATTESTATION_H
#define WASMTIME_ATTESTATION_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WA_IMPORT(n) __attribute__((import_module("wasmtime_attestation"), import_name(n)))

WA_IMPORT("attest_vm") int32_t wa_attest_vm(void);
WA_IMPORT("attest_gpu") int32_t wa_attest_gpu(uint32_t gpu_index);
WA_IMPORT("verify_token") int32_t wa_verify_token(const char *token, int32_t len);
WA_IMPORT("clear_cache") void wa_clear_cache(void);
WA_IMPORT("detect_tee") int32_t wa_detect_tee(void);
WA_IMPORT("detect_tee_code") int32_t wa_detect_tee_code(void);
WA_IMPORT("attest_vm_with_data") int32_t wa_attest_vm_with_data(const void *data, int32_t len);
WA_IMPORT("attest_gpu_with_data") int32_t wa_attest_gpu_with_data(uint32_t gpu_index, const void *data, int32_t len);
WA_IMPORT("attest_vm_into") int32_t wa_attest_vm_into(void *out, int32_t cap);
WA_IMPORT("attest_gpu_into") int32_t wa_attest_gpu_into(uint32_t gpu_index, void *out, int32_t cap);

/* detect_tee_code() values */
#define WA_TEE_NONE 0
#define WA_TEE_SEV_SNP 1
#define WA_TEE_TDX 2
#define WA_TEE_AZURE_SEV_SNP 3
#define WA_TEE_AZURE_TDX 4
#define WA_TEE_SIMULATED_FLAG 0x100

/* A result block: NUL-terminated JSON copy (malloc'ed), or NULL. */
static inline char *wa_take_json(int32_t ptr) {
  if (ptr == 0) return NULL;
  uint32_t len;
  memcpy(&len, (const void *)(uintptr_t)ptr, 4);
  char *s = (char *)malloc((size_t)len + 1);
  if (!s) return NULL;
  memcpy(s, (const char *)(uintptr_t)ptr + 4, len);
  s[len] = 0;
  free((void *)(uintptr_t)ptr);
  return s;
}

/* Find "key": in a flat JSON object; returns a pointer to the value or NULL. */
static inline const char *wa_json_find(const char *json, const char *key) {
  size_t kl = strlen(key);
  for (const char *p = json; p && *p; p++) {
    if (*p == '"' && strncmp(p + 1, key, kl) == 0 && p[1 + kl] == '"') {
      const char *q = p + 2 + kl;
      while (*q == ' ') q++;
      if (*q == ':') {
        q++;
        while (*q == ' ') q++;
        return q;
      }
    }
  }
  return NULL;
}

/* 1 if "key" is true, 0 otherwise. */
static inline int wa_json_bool(const char *json, const char *key) {
  const char *v = wa_json_find(json, key);
  return v && strncmp(v, "true", 4) == 0;
}

/* Copy a string value (JSON escapes decoded; \uXXXX beyond ASCII become '?'). Returns 1 if found. */
static inline int wa_json_string(const char *json, const char *key, char *out, size_t cap) {
  const char *v = wa_json_find(json, key);
  if (!v || *v != '"' || cap == 0) return 0;
  size_t n = 0;
  for (v++; *v && *v != '"'; v++) {
    char c = *v;
    if (c == '\\' && v[1]) {
      v++;
      switch (*v) {
        case 'n': c = '\n'; break;
        case 't': c = '\t'; break;
        case 'r': c = '\r'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'u': {
          unsigned x = 0;
          for (int i = 1; i <= 4 && v[i]; i++) {
            char h = v[i];
            x = x * 16 + (unsigned)(h >= 'a' ? h - 'a' + 10 : h >= 'A' ? h - 'A' + 10 : h - '0');
          }
          c = x < 0x80 ? (char)x : '?';
          v += 4;
          break;
        }
        default: c = *v;
      }
    }
    if (n + 1 < cap) out[n++] = c;
  }
  out[n] = 0;
  return 1;
}

#ifdef WASMTIME_ATTESTATION_IMPLEMENTATION
/* The allocator the host uses for result blocks (canonical ABI signature). */
__attribute__((export_name("cabi_realloc"))) void *cabi_realloc(void *old, size_t old_size, size_t align,
                                                                   size_t new_size) {
  (void)old_size;
  (void)align; /* malloc is 16-aligned on wasm32 wasi-libc */
  if (new_size == 0) {
    free(old);
    return (void *)align;
  }
  return old ? realloc(old, new_size) : malloc(new_size);
}
#endif

#ifdef __cplusplus
}
#endif
#endif /* WASMTIME_ATTESTATION_H */
