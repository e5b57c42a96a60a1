/*
 * Example (C): attest the VM and GPU 0, verify the VM token, and only then train a tiny model
 * (linear regression by gradient descent on fixed data) and print it.
 *
 *   wasmvm-tee run --allow-simulated attest_train_c.wasm [-- --require-gpu]
 *
 * Without a GPU, attest_gpu fails: the example reports it and continues CPU-only, unless
 * --require-gpu is given (or WASMVM_REQUIRE_GPU=1 is set), in which case it exits 3.
 * Exit codes: 0 ok, 1 VM attestation failed, 2 token invalid, 3 GPU required but not attested.
 */
#define WASMTIME_ATTESTATION_IMPLEMENTATION
#include "../attestation.h"
#include <stdio.h>

static const double XS[8] = {0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0};
static const double YS[8] = {1.1, 2.9, 5.2, 6.8, 9.1, 11.0, 12.9, 15.2};

int main(int argc, char **argv) {
  int require_gpu = 0;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--require-gpu") == 0) require_gpu = 1;
  const char *env = getenv("WASMVM_REQUIRE_GPU");
  if (env && strcmp(env, "1") == 0) require_gpu = 1;

  char *tee = wa_take_json(wa_detect_tee());
  char tee_type[64] = "unknown";
  if (tee) wa_json_string(tee, "tee_type", tee_type, sizeof tee_type);
  printf("TEE: %s (code 0x%x)\n", tee_type, (unsigned)wa_detect_tee_code());
  free(tee);

  char *vm = wa_take_json(wa_attest_vm());
  if (!vm || !wa_json_bool(vm, "success")) {
    char err[512] = "no result";
    if (vm) wa_json_string(vm, "error", err, sizeof err);
    fprintf(stderr, "VM attestation failed: %s\n", err);
    free(vm);
    return 1;
  }
  static char token[16384];
  if (!wa_json_string(vm, "token", token, sizeof token) || wa_verify_token(token, (int32_t)strlen(token)) != 1) {
    fprintf(stderr, "VM attestation token did not verify\n");
    free(vm);
    return 2;
  }
  printf("VM attested: %s%s, token verified (%zu bytes)\n", tee_type, wa_json_bool(vm, "simulated") ? " [SIMULATED]" : "",
         strlen(token));
  free(vm);

  char *gpu = wa_take_json(wa_attest_gpu(0));
  if (gpu && wa_json_bool(gpu, "success")) {
    static char gtoken[16384];
    if (!wa_json_string(gpu, "token", gtoken, sizeof gtoken) || wa_verify_token(gtoken, (int32_t)strlen(gtoken)) != 1) {
      fprintf(stderr, "GPU attestation token did not verify\n");
      free(gpu);
      return 2;
    }
    printf("GPU 0 attested, token verified\n");
  } else {
    char err[512] = "no result";
    if (gpu) wa_json_string(gpu, "error", err, sizeof err);
    if (require_gpu) {
      fprintf(stderr, "GPU attestation required but failed: %s\n", err);
      free(gpu);
      return 3;
    }
    printf("GPU attestation unavailable (%s): continuing CPU-only\n", err);
  }
  free(gpu);

  double w = 0.0, b = 0.0;
  const double lr = 0.02;
  for (int epoch = 0; epoch < 2000; epoch++) {
    double gw = 0.0, gb = 0.0;
    for (int i = 0; i < 8; i++) {
      double e = w * XS[i] + b - YS[i];
      gw += e * XS[i];
      gb += e;
    }
    w -= lr * gw / 8.0;
    b -= lr * gb / 8.0;
  }
  double mse = 0.0;
  for (int i = 0; i < 8; i++) {
    double e = w * XS[i] + b - YS[i];
    mse += e * e / 8.0;
  }
  printf("model: y = %.4f * x + %.4f (mse %.4f)\n", w, b, mse);
  return 0;
}
