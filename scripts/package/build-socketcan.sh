#!/usr/bin/env bash
# Builds the socketcan addon for a foreign arch (arm64, armhf) in a Debian bookworm chroot under
# qemu-user, with the bundled node and its headers (nodedir: Debian's node-gyp setup cannot find
# headers on its own; bus-protocols.md §7). The result is cached per socketcan version and arch.
# usage: build-socketcan.sh <arch> <production node_modules dir (has socketcan, node-gyp, node-addon-api)> <out dir>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
arch=$1 nm=$2 out=$3
ver=$(node -p "require('$nm/socketcan/package.json').version")
cached="$CACHE_DIR/socketcan/$ver-$arch"
if [ ! -f "$cached/can.node" ]; then
  enable_binfmt "$arch"
  nodedir=$(fetch_node "$arch")
  rootfs_tar=$(bash "$here/rootfs.sh" "$arch" make,g++,python3)
  work=$(mktemp -d /var/tmp/sp-socketcan-XXXXXX)
  trap 'umount "$work/root/proc" 2>/dev/null || true; rm -rf "$work"' EXIT
  mkdir -p "$work/root/opt/app" && tar -xf "$rootfs_tar" -C "$work/root"
  cp -a "$nodedir" "$work/root/opt/node"
  cp -a "$nm" "$work/root/opt/app/node_modules"
  rm -rf "$work/root/opt/app/node_modules/socketcan/build"
  mount -t proc proc "$work/root/proc"
  echo "building socketcan $ver for $arch under qemu-user (minutes)..." >&2
  chroot "$work/root" /usr/bin/env HOME=/tmp PATH=/opt/node/bin:/usr/bin:/bin /bin/sh -c \
    'cd /opt/app/node_modules/socketcan && node /opt/app/node_modules/node-gyp/bin/node-gyp.js rebuild --nodedir=/opt/node -j 2' >&2
  mkdir -p "$cached"
  cp "$work/root/opt/app/node_modules/socketcan/build/Release/"*.node "$cached/"
fi
mkdir -p "$out"
cp "$cached/"*.node "$out/"
