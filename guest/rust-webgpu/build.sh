#!/bin/sh
# Builds the wasmvm-tee-webgpu crate and its training example with Debian's rustc (no cargo, no network):
#   apt-get install rustc libstd-rust-dev-wasm32
set -eu
cd "$(dirname "$0")"
RUSTC="${RUSTC:-/usr/bin/rustc}"
TARGET="${TARGET:-wasm32-wasi}"
OUT="${OUT:-target}"
mkdir -p "$OUT"
"$RUSTC" --edition 2021 --target "$TARGET" -O --crate-type rlib --crate-name wasmtime_attestation \
  ../rust/src/lib.rs -o "$OUT/libwasmtime_attestation.rlib"
"$RUSTC" --edition 2021 --target "$TARGET" -O --crate-type rlib --crate-name wasmvm_tee_webgpu \
  src/lib.rs -o "$OUT/libwasmvm_tee_webgpu.rlib"
"$RUSTC" --edition 2021 --target "$TARGET" -O --crate-name webgpu_train examples/webgpu_train.rs \
  --extern wasmtime_attestation="$OUT/libwasmtime_attestation.rlib" \
  --extern wasmvm_tee_webgpu="$OUT/libwasmvm_tee_webgpu.rlib" -L "$OUT" \
  -C link-arg=--export=cabi_realloc -C strip=debuginfo -C opt-level=s -o "$OUT/webgpu_train_rust.wasm"
echo "$OUT/webgpu_train_rust.wasm"
