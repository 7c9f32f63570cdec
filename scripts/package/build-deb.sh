#!/usr/bin/env bash
# Builds build/package/sensor-proxy_<version>_<arch>.deb (arch: arm64 | armhf | amd64) with dpkg-deb from
# the checkout's dist/ (make build first). Everything lives under /usr/lib/sensor-proxy: product code
# (dist/src, dist/drivers, dist/enumerators; no tests, no hw-fixtures), production node_modules for the
# target arch, and a bundled Node runtime; /usr/bin/sensor-proxy starts it. Network is needed here
# (npm registry, Debian mirror for the build chroot), never on the gateway.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
repo=$(cd "$here/../.." && pwd)
arch=${1:?usage: build-deb.sh arm64|armhf|amd64}
cpu=$(npm_cpu_of "$arch") || { echo "unknown arch $arch (arm64, armhf, amd64)" >&2; exit 2; }
version=$(node -p "require('$repo/package.json').version")
out=${OUT_DIR:-$repo/build/package}
stage="$out/stage-$arch"
lib="$stage/usr/lib/sensor-proxy"
[ -f "$repo/dist/src/cli/main.js" ] || { echo "dist/ missing: run make build first" >&2; exit 2; }

rm -rf "$stage" && mkdir -p "$lib" "$out"
t0=$(date +%s)

# 1. Product code only (no tests, fixtures or source maps).
for d in src drivers enumerators; do
  (cd "$repo/dist" && find "$d" -name '*.js' -print0 | cpio -0 -pdm --quiet "$lib/dist")
done
mkdir -p "$lib/docs" && cp "$repo/docs/gateway-config.schema.json" "$lib/docs/"
node -e '
const p = require(process.argv[1]);
const keep = { name: p.name, version: p.version, type: p.type, license: p.license, dependencies: p.dependencies };
require("fs").writeFileSync(process.argv[2], JSON.stringify(keep, null, 2) + "\n");' "$repo/package.json" "$lib/package.json"
cp "$repo/package-lock.json" "$lib/"

# 2. Production dependencies for the target cpu (optional per-platform packages such as @node-usb/*
#    are chosen by --cpu/--os/--libc); install scripts off: native addons are handled below.
(cd "$lib" && npm ci --omit=dev --omit=peer --ignore-scripts --os=linux --cpu="$cpu" --libc=glibc \
  --prefer-offline --no-audit --no-fund --loglevel=error)
nm="$lib/node_modules"
# serialport: keep only this arch's prebuild (linux-arm64, linux-arm, linux-x64).
pre="$nm/@serialport/bindings-cpp/prebuilds"
[ -d "$pre/linux-$cpu" ] || { echo "serialport has no prebuild for linux-$cpu" >&2; exit 1; }
find "$pre" -mindepth 1 -maxdepth 1 ! -name "linux-$cpu" -exec rm -rf {} +
# usb (napi-rs): exactly this arch's gnu binary package must be there.
usbpkg=$(ls -d "$nm/@node-usb/"usb-linux-* 2>/dev/null | xargs -n1 basename | tr '\n' ' ')
case $arch in arm64) want=usb-linux-arm64-gnu ;; amd64) want=usb-linux-x64-gnu ;; armhf) want=usb-linux-arm-gnueabihf ;; esac
[ "$usbpkg" = "$want " ] || { echo "usb: expected @node-usb/$want only, found: $usbpkg" >&2; exit 1; }

# 3. socketcan: compiled for the target (amd64: on this machine; arm: in a bookworm chroot under qemu-user).
rel="$nm/socketcan/build/Release"
if [ "$arch" = amd64 ]; then
  [ "$(uname -m)" = x86_64 ] || { echo "amd64 addon must be built on x86_64" >&2; exit 1; }
  (cd "$nm/socketcan" && PATH="$(dirname "$(fetch_node amd64)/bin/node"):$PATH" \
    node ../node-gyp/bin/node-gyp.js rebuild --nodedir="$(fetch_node amd64)" -j 2 >/dev/null 2>&1)
else
  rm -rf "$out/socketcan-$arch"
  bash "$here/build-socketcan.sh" "$arch" "$nm" "$out/socketcan-$arch"
  rm -rf "$nm/socketcan/build" && mkdir -p "$rel" && mv "$out/socketcan-$arch"/*.node "$rel/" && rm -rf "$out/socketcan-$arch"
fi
find "$nm/socketcan/build" -mindepth 1 ! -path "*/Release" ! -name '*.node' -prune -exec rm -rf {} + 2>/dev/null || true
# node-gyp (and what only it needs) is a build-only dependency of socketcan, never loaded at run time.
node "$here/prune-build-deps.mjs" "$lib" 'socketcan>node-gyp' >&2
rm -f "$lib/package-lock.json" "$nm/.package-lock.json"
file "$rel/can.node" | grep -q "$(case $arch in arm64) echo aarch64;; amd64) echo x86-64;; armhf) echo 'ARM, EABI5';; esac)" \
  || { echo "socketcan addon is not for $arch: $(file "$rel/can.node")" >&2; exit 1; }

# 4. Node runtime (binary and license only).
nodepkg=$(fetch_node "$arch")
mkdir -p "$lib/node/bin" && cp "$nodepkg/bin/node" "$lib/node/bin/" && cp "$nodepkg/LICENSE" "$lib/node/"

# 5. Launcher, service, udev rules, config, docs.
install -D -m 0755 /dev/stdin "$stage/usr/bin/sensor-proxy" <<'SH'
#!/bin/sh
# sensor-proxy with its bundled Node runtime (/usr/lib/sensor-proxy/node).
exec /usr/lib/sensor-proxy/node/bin/node /usr/lib/sensor-proxy/dist/src/cli/main.js "$@"
SH
install -D -m 0644 "$repo/packaging/systemd/sensor-proxy.service" "$stage/lib/systemd/system/sensor-proxy.service"
mkdir -p "$stage/lib/udev/rules.d"
node "$repo/dist/src/cli/main.js" udev-rules --config "$repo/packaging/etc/gateway.json" \
  | sed 's|^# Install:.*|# Config-specific rules: sensor-proxy udev-rules > /etc/udev/rules.d/61-sensor-proxy.rules (overrides this file)|' \
  > "$stage/lib/udev/rules.d/61-sensor-proxy.rules"
install -D -m 0644 "$repo/packaging/etc/gateway.json" "$stage/etc/sensor-proxy/gateway.json"
install -D -m 0644 "$repo/packaging/etc/gateway.example.jsonc" "$stage/etc/sensor-proxy/gateway.example.jsonc"
doc="$stage/usr/share/doc/sensor-proxy"
install -D -m 0644 "$repo/packaging/networkd/80-can0.network" "$doc/examples/80-can0.network"
install -D -m 0644 "$repo/README.md" "$doc/README.md"

# 6. Control files. Depends: only what the bundled node and addons link against, plus useradd.
mkdir -p "$stage/DEBIAN"
installed_kb=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CTL
Package: sensor-proxy
Version: $version
Architecture: $arch
Maintainer: sensor-proxy maintainers <sensor-proxy@example.invalid>
Installed-Size: $installed_kb
Depends: libc6 (>= 2.28), libstdc++6, passwd
Recommends: udev
Suggests: can-utils, systemd
Section: admin
Priority: optional
Homepage: https://github.com/sensor-proxy/sensor-proxy
Description: ADU-compatible proxy-update gateway agent for sensors
 Flashes sensors on USB (DFU), serial (SMP, YMODEM) and CAN (UDS over ISO-TP)
 following the Azure Device Update proxy-update model, with deployments from
 Azure IoT Hub (sensor-proxy agent, a systemd service) or the command line.
 Bundles its Node.js runtime under /usr/lib/sensor-proxy.
CTL
printf '/etc/sensor-proxy/gateway.json\n/etc/sensor-proxy/gateway.example.jsonc\n' > "$stage/DEBIAN/conffiles"
install -m 0755 "$repo/packaging/debian/postinst" "$repo/packaging/debian/prerm" "$repo/packaging/debian/postrm" "$stage/DEBIAN/"

deb="$out/sensor-proxy_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb: $(du -k "$deb" | cut -f1) KB (installed $installed_kb KB), built in $(( $(date +%s) - t0 )) s"
