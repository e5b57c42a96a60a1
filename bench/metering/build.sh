#!/usr/bin/env bash
# Builds the metering bench kernels (C → wasm32, no libc) with Debian clang + lld:
#   apt-get install clang lld        then: bench/metering/build.sh
set -euo pipefail
cd "$(dirname "$0")/kernels"
CC="${CC:-clang}"
for src in *.c; do
  out="${src%.c}.wasm"
  "$CC" --target=wasm32 -O2 -nostdlib -fno-builtin -Wl,--no-entry -Wl,--export-dynamic \
    -Wl,-z,stack-size=1048576 -Wl,--initial-memory=4194304 -o "$out" "$src"
  echo "$out $(wc -c <"$out") bytes"
done
