#!/usr/bin/env bash
# Runs a command of an image the way `podman run --read-only --user 65532 --tmpfs /tmp
# --tmpfs /var/lib/wasmvm-tee --network host` would, for sandboxes where podman can build (buildah,
# chroot isolation) but crun cannot start containers (e.g. cgroup v1/v2 hybrid hosts):
# the image's rootfs (buildah mount), bind-mounted READ-ONLY in a private mount namespace, with tmpfs
# for the two writable paths, entered with chroot as the unprivileged user.
#   run-image.sh ROOTFS UID:GID ENV_FILE -- argv...
set -euo pipefail
root=$1 user=$2 envfile=$3; shift 4
mkdir -p "$root/proc" "$root/dev" "$root/tmp" "$root/var/lib/wasmvm-tee"
exec unshare --mount --propagation private -- /bin/sh -c '
  set -e; r=$1; u=$2; e=$3; shift 3
  mount --bind "$r" "$r"
  mount -t tmpfs -o mode=1777,size=64m tmpfs "$r/tmp"
  mount -t tmpfs -o mode=0700,size=16m,uid=${u%%:*},gid=${u##*:} tmpfs "$r/var/lib/wasmvm-tee"
  mount -t proc proc "$r/proc"
  mount --rbind /dev "$r/dev"
  mount -o remount,bind,ro "$r"
  exec env -i $(cat "$e") "$(command -v chroot)" --userspec="$u" "$r" "$@"
' sh "$root" "$user" "$envfile" "$@"
