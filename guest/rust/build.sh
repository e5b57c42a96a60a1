#!/bin/sh
# Builds the crate and the example with Debian's rustc (no cargo, no network):
#   apt-get install rustc libstd-rust-dev-wasm32
set -eu
cd "$(dirname "$0")"
RUSTC="${RUSTC:-/usr/bin/rustc}"
TARGET="${TARGET:-wasm32-wasi}"
OUT="${OUT:-target}"
mkdir -p "$OUT"
"$RUSTC" --edition 2021 --target "$TARGET" -O --crate-type rlib --crate-name wasmtime_attestation \
  src/lib.rs -o "$OUT/libwasmtime_attestation.rlib"
"$RUSTC" --edition 2021 --target "$TARGET" -O --crate-name attest_train examples/attest_train.rs \
  --extern wasmtime_attestation="$OUT/libwasmtime_attestation.rlib" -L "$OUT" \
  -C link-arg=--export=cabi_realloc -C strip=debuginfo -C opt-level=s -o "$OUT/attest_train_rust.wasm"
echo "$OUT/attest_train_rust.wasm"
