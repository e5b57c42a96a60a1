#!/bin/sh
# Builds every guest example into guest/prebuilt/ (committed, so `npm test` needs no compiler).
#   Debian: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32 libc++-14-dev-wasm32 \
#           libc++abi-14-dev-wasm32 rustc libstd-rust-dev-wasm32 ; npm: assemblyscript (devDependency)
# OUT=dir overrides the output folder (the toolchain tests build into a temporary one).
set -eu
cd "$(dirname "$0")"
OUT="${OUT:-prebuilt}"
mkdir -p "$OUT"
CC="${CC:-clang}"
CXX="${CXX:-clang++}"
"$CC" --target=wasm32-wasi -O2 -o "$OUT/attest_train_c.wasm" cpp/examples/attest_train.c
"$CXX" --target=wasm32-wasi -O2 -std=c++17 -fno-exceptions -o "$OUT/attest_train_cpp.wasm" cpp/examples/attest_train.cpp
"$CXX" --target=wasm32-wasi -O2 -std=c++17 -fno-exceptions -o "$OUT/webgpu_train_cpp.wasm" cpp/examples/webgpu_train.cpp
OUT_RUST="$(mktemp -d)"
OUT="$OUT_RUST" sh rust/build.sh >/dev/null
cp "$OUT_RUST/attest_train_rust.wasm" "$OUT/attest_train_rust.wasm"
OUT="$OUT_RUST" sh rust-webgpu/build.sh >/dev/null
cp "$OUT_RUST/webgpu_train_rust.wasm" "$OUT/webgpu_train_rust.wasm"
rm -rf "$OUT_RUST"
npx --no-install asc assemblyscript/assembly/example.ts --config assemblyscript/asconfig.json \
  --outFile "$OUT/attest_train_as.wasm" --textFile "$OUT/.attest_train_as.wat"
rm -f "$OUT/.attest_train_as.wat"
npx --no-install asc assemblyscript/assembly/webgpu_example.ts --config assemblyscript/asconfig.json \
  --outFile "$OUT/webgpu_example_as.wasm" --textFile "$OUT/.webgpu_example_as.wat"
rm -f "$OUT/.webgpu_example_as.wat"
ls -l "$OUT"
