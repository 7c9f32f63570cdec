#!/usr/bin/env bash
# A Debian bookworm root filesystem tarball for <arch> with the given extra packages, made with
# mmdebstrap under qemu-user and cached (/var/cache/sensor-proxy-ci/rootfs, key: arch + package list).
# A cache miss rebuilds it; nothing depends on the cache being there. Prints the tarball's path.
# usage: rootfs.sh <arch> <comma-separated packages>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
arch=$1 pkgs=$2
dir=${SENSOR_PROXY_ROOTFS_CACHE:-/var/cache/sensor-proxy-ci/rootfs}
key=$(printf '%s %s %s' "$DEBIAN_SUITE" "$arch" "$pkgs" | sha256sum | cut -c1-16)
tar="$dir/$DEBIAN_SUITE-$arch-$key.tar"
if [ ! -f "$tar" ]; then
  enable_binfmt "$arch"
  mkdir -p "$dir"
  echo "creating the $DEBIAN_SUITE $arch userland ($pkgs) with mmdebstrap (cold: many minutes under qemu)..." >&2
  rm -rf "$tar.tmp"
  nice mmdebstrap --quiet --variant=apt --format=tar --architectures="$arch" --include="$pkgs" \
    "$DEBIAN_SUITE" "$tar.tmp" "$DEBIAN_MIRROR" >&2
  mv "$tar.tmp" "$tar"
fi
echo "$tar"
