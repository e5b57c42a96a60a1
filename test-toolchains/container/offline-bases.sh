#!/usr/bin/env bash
# Makes the two base images the Containerfile names as arguments, offline, from this host's Node.js
# (the sandbox and CI reach no container registry):
#   localhost/wasmvm-tee-build-base:test    node + npm + sh + the coreutils the build stage runs
#   localhost/wasmvm-tee-runtime-base:test  node only at /nodejs/bin/node, user 65532 (like distroless)
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node_bin=$(readlink -f "$(command -v node)")
libs() { # root binary: the binary's shared libraries, at their paths
  for l in $(ldd "$2" 2>/dev/null | grep -o '/[^ ]*' || true); do
    mkdir -p "$1$(dirname "$l")"; cp -nL "$l" "$1$l"
  done
}
copy_with_libs() { # root file...
  local root=$1; shift
  for f in "$@"; do
    mkdir -p "$root$(dirname "$f")"; cp -L "$(readlink -f "$f")" "$root$f"; libs "$root" "$(readlink -f "$f")"
  done
}
passwd() { # root
  mkdir -p "$1/etc" "$1/tmp" "$1/root" "$1/home/nonroot"; chmod 1777 "$1/tmp"
  printf 'root:x:0:0::/root:/bin/sh\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n' > "$1/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' > "$1/etc/group"
}
b="$work/build"; passwd "$b"
copy_with_libs "$b" /bin/sh /bin/rm /bin/cat /usr/bin/find /usr/bin/env /bin/mkdir /bin/ls
mkdir -p "$b/usr/local/bin" "$b/usr/local/lib/node_modules"
cp "$node_bin" "$b/usr/local/bin/node"
cp -r "$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")" "$b/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$b/usr/local/bin/npm"
libs "$b" "$node_bin"
tar -C "$b" -c . | podman import --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' - localhost/wasmvm-tee-build-base:test >/dev/null
r="$work/runtime"; passwd "$r"
mkdir -p "$r/nodejs/bin"; cp "$node_bin" "$r/nodejs/bin/node"
libs "$r" "$node_bin"
tar -C "$r" -c . | podman import --change 'USER 65532' - localhost/wasmvm-tee-runtime-base:test >/dev/null
echo "bases: localhost/wasmvm-tee-build-base:test localhost/wasmvm-tee-runtime-base:test"
