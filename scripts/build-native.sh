#!/usr/bin/env bash
# Builds sensor-proxy's own native addon, the kernel ISO-TP sockets (native/isotp -> sp_isotp.node), with
# node-gyp from this repository's devDependencies. It is never built by an npm install script (nothing to
# approve in allowScripts): `make native` (or `npm run native`) is the one entry point, also for packaging.
#
#   scripts/build-native.sh            # for this machine -> native/isotp/build/Release/sp_isotp.node
#   scripts/build-native.sh arm64      # cross-build for a 64-bit Pi OS (needs g++-aarch64-linux-gnu)
#   scripts/build-native.sh armhf      # cross-build for a 32-bit Pi OS (needs g++-arm-linux-gnueabihf)
#
# Needs: g++, make, python3 (node-gyp), linux-libc-dev (linux/can/isotp.h), and Node's headers: taken
# from the running node's prefix (Debian's nodejs: /usr/include/node; a nodejs.org tarball: <prefix>/include/node),
# override with NODEDIR=... . No network: node-gyp never downloads headers here.
# The result is an N-API (v8) module: one build per CPU architecture serves every Node >= 20.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
arch="${1:-${NATIVE_ARCH:-}}"
node_bin="${NODE:-node}"
nodedir="${NODEDIR:-$("$node_bin" -p "require('path').resolve(process.execPath, '../..')")}"
fail() { echo "make native: $*" >&2; exit 1; }

[ -f "$nodedir/include/node/node_api.h" ] ||
  fail "no Node headers under $nodedir/include/node (install Debian's nodejs/libnode-dev, or set NODEDIR to a Node prefix)"
[ -x "$root/node_modules/.bin/node-gyp" ] && [ -d "$root/node_modules/node-addon-api" ] ||
  fail "node-gyp/node-addon-api missing: run \`npm ci\` first"
command -v python3 >/dev/null || fail "python3 is needed by node-gyp (apt-get install python3)"
command -v make >/dev/null || fail "make is needed (apt-get install make)"

gyp_args=(rebuild --nodedir="$nodedir" --directory="$root/native/isotp")
case "$arch" in
  "" | native) arch=""; triple=""; cxx="${CXX:-g++}"; pkg=g++ ;;
  arm64 | aarch64) arch=arm64; triple=aarch64-linux-gnu; gyp_args+=(--arch=arm64) ;;
  armhf | arm) arch=armhf; triple=arm-linux-gnueabihf; gyp_args+=(--arch=arm) ;;
  *) fail "unknown arch '$arch' (use arm64 or armhf, or nothing for this machine)" ;;
esac
if [ -n "$triple" ]; then
  cxx="${CXX:-$triple-g++}"; pkg="g++-$triple"; export CC="${CC:-$triple-gcc}"
  # the cross compiler's own uapi headers (linux-libc-dev-<arch>-cross comes with g++-<triple>)
  [ -f "/usr/$triple/include/linux/can/isotp.h" ] || fail "/usr/$triple/include/linux/can/isotp.h missing: apt-get install $pkg"
fi
command -v "$cxx" >/dev/null || fail "C++ compiler $cxx not found (apt-get install $pkg)"
export CXX="$cxx"
[ -n "$triple" ] || [ -f /usr/include/linux/can/isotp.h ] ||
  fail "linux/can/isotp.h not found: apt-get install linux-libc-dev (the kernel uapi headers)"

cd "$root"
"$root/node_modules/.bin/node-gyp" "${gyp_args[@]}" >"$root/native/isotp/build.log" 2>&1 || {
  tail -40 "$root/native/isotp/build.log" >&2
  fail "node-gyp failed (full log: native/isotp/build.log)"
}
out="$root/native/isotp/build/Release/sp_isotp.node"
[ -f "$out" ] || fail "node-gyp reported success but $out is missing"
if [ -n "$arch" ]; then
  # A cross build goes to build/linux-<arch>/ so it never stands in for this machine's build/Release.
  mkdir -p "$root/native/isotp/build/linux-$arch"
  mv "$out" "$root/native/isotp/build/linux-$arch/sp_isotp.node"
  rm -rf "$root/native/isotp/build/Release"
  out="$root/native/isotp/build/linux-$arch/sp_isotp.node"
fi
echo "make native: built $out (${arch:-$(uname -m)})"
