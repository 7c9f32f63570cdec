#!/usr/bin/env bash
# Builds the compiled native addons for a foreign arch (arm64, armhf) in a Debian bookworm chroot under
# qemu-user with the bundled node and its headers (nodedir: Debian's node-gyp setup cannot find headers
# on its own; bus-protocols.md §7):
#   - socketcan (npm; node-gyp rebuild in its folder)      -> <out>/socketcan/*.node
#   - our kernel ISO-TP addon (native/isotp), built by the same scripts/build-native.sh as `make native`,
#     run natively inside the target userland (no cross compiler needed) -> <out>/isotp/sp_isotp.node
# Results are cached per socketcan version / ISO-TP source hash and arch; a chroot is made only on a miss.
# usage: build-addons.sh <arch> <production node_modules dir (has socketcan, node-gyp, node-addon-api)> <out dir>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
repo=$(cd "$here/../.." && pwd)
arch=$1 nm=$2 out=$3
ver=$(node -p "require('$nm/socketcan/package.json').version")
sc_cache="$CACHE_DIR/socketcan/$ver-$arch"
isotp_key=$(cat "$repo/native/isotp/binding.gyp" "$repo/native/isotp/src/"* "$repo/scripts/build-native.sh" | sha256sum | cut -c1-16)
iso_cache="$CACHE_DIR/isotp/$isotp_key-$arch"
if [ ! -f "$sc_cache/can.node" ] || [ ! -f "$iso_cache/sp_isotp.node" ]; then
  enable_binfmt "$arch"
  nodedir=$(fetch_node "$arch")
  rootfs_tar=$(bash "$here/rootfs.sh" "$arch" make,g++,python3)
  work=$(mktemp -d /var/tmp/sp-addons-XXXXXX)
  trap 'umount "$work/root/proc" 2>/dev/null || true; rm -rf "$work"' EXIT
  mkdir -p "$work/root/opt/app" && tar -xf "$rootfs_tar" -C "$work/root"
  cp -a "$nodedir" "$work/root/opt/node"
  cp -a "$nm" "$work/root/opt/app/node_modules"
  rm -rf "$work/root/opt/app/node_modules/socketcan/build"
  mount -t proc proc "$work/root/proc"
  in_chroot() { chroot "$work/root" /usr/bin/env HOME=/tmp PATH=/opt/node/bin:/usr/bin:/bin /bin/sh -c "$1" >&2; }
  if [ ! -f "$sc_cache/can.node" ]; then
    echo "building socketcan $ver for $arch under qemu-user (minutes)..." >&2
    in_chroot 'cd /opt/app/node_modules/socketcan && node /opt/app/node_modules/node-gyp/bin/node-gyp.js rebuild --nodedir=/opt/node -j 2'
    mkdir -p "$sc_cache"
    cp "$work/root/opt/app/node_modules/socketcan/build/Release/"*.node "$sc_cache/"
  fi
  if [ ! -f "$iso_cache/sp_isotp.node" ]; then
    echo "building the kernel ISO-TP addon (native/isotp) for $arch under qemu-user..." >&2
    # The checkout's layout as build-native.sh expects it: scripts/, native/isotp/, node_modules/ (node-gyp,
    # node-addon-api: both production dependencies of socketcan).
    src="$work/root/opt/src"
    mkdir -p "$src/scripts" "$src/native/isotp"
    cp "$repo/scripts/build-native.sh" "$src/scripts/"
    cp -a "$repo/native/isotp/binding.gyp" "$repo/native/isotp/src" "$src/native/isotp/"
    ln -s /opt/app/node_modules "$src/node_modules"
    in_chroot 'cd /opt/src && NODE=/opt/node/bin/node NODEDIR=/opt/node bash scripts/build-native.sh'
    mkdir -p "$iso_cache"
    cp "$src/native/isotp/build/Release/sp_isotp.node" "$iso_cache/"
  fi
fi
mkdir -p "$out/socketcan" "$out/isotp"
cp "$sc_cache/"*.node "$out/socketcan/"
cp "$iso_cache/sp_isotp.node" "$out/isotp/"
