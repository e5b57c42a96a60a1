// Example (C++): attest the VM and GPU 0, verify the tokens, and only then train a tiny model
// (linear regression by gradient descent on fixed data) and print it.
//
//   wasmvm-tee run --allow-simulated attest_train_cpp.wasm [-- --require-gpu]
//
// Without a GPU, attest_gpu fails: reported, and the example continues CPU-only unless --require-gpu
// (or WASMVM_REQUIRE_GPU=1). Exit codes: 0 ok, 1 VM attestation failed, 2 token invalid, 3 GPU required.
#define WASMTIME_ATTESTATION_IMPLEMENTATION
#include <cstring>
#include <vector>

#include "../attestation.hpp"

namespace wa = wasmtime_attestation;

int main(int argc, char **argv) {
  bool require_gpu = false;
  for (int i = 1; i < argc; i++)
    if (std::strcmp(argv[i], "--require-gpu") == 0) require_gpu = true;
  if (const char *e = std::getenv("WASMVM_REQUIRE_GPU"); e && std::strcmp(e, "1") == 0) require_gpu = true;

  auto tee = wa::detect_tee();
  std::printf("TEE: %s (code 0x%x)\n", tee.tee_type.c_str(), static_cast<unsigned>(tee.code));

  auto vm = wa::attest_vm();
  if (!vm.success) {
    std::fprintf(stderr, "VM attestation failed: %s\n", vm.error.c_str());
    return 1;
  }
  if (!wa::verify_token(vm.token)) {
    std::fprintf(stderr, "VM attestation token did not verify\n");
    return 2;
  }
  std::printf("VM attested: %s%s, token verified (%zu bytes)\n", vm.tee_type.c_str(),
              vm.simulated ? " [SIMULATED]" : "", vm.token.size());

  auto gpu = wa::attest_gpu(0);
  if (gpu.success) {
    if (!wa::verify_token(gpu.token)) {
      std::fprintf(stderr, "GPU attestation token did not verify\n");
      return 2;
    }
    std::printf("GPU 0 attested, token verified\n");
  } else if (require_gpu) {
    std::fprintf(stderr, "GPU attestation required but failed: %s\n", gpu.error.c_str());
    return 3;
  } else {
    std::printf("GPU attestation unavailable (%s): continuing CPU-only\n", gpu.error.c_str());
  }

  const std::vector<double> xs{0, 1, 2, 3, 4, 5, 6, 7};
  const std::vector<double> ys{1.1, 2.9, 5.2, 6.8, 9.1, 11.0, 12.9, 15.2};
  double w = 0, b = 0;
  const double lr = 0.02;
  for (int epoch = 0; epoch < 2000; epoch++) {
    double gw = 0, gb = 0;
    for (size_t i = 0; i < xs.size(); i++) {
      double e = w * xs[i] + b - ys[i];
      gw += e * xs[i];
      gb += e;
    }
    w -= lr * gw / xs.size();
    b -= lr * gb / xs.size();
  }
  double mse = 0;
  for (size_t i = 0; i < xs.size(); i++) {
    double e = w * xs[i] + b - ys[i];
    mse += e * e / xs.size();
  }
  std::printf("model: y = %.4f * x + %.4f (mse %.4f)\n", w, b, mse);
  return 0;
}
