#!/usr/bin/env bash
# Installs the Debian packages the rigs need (pty loopback, lrzsz interop, qemu VM rig).
# Skips what is already there; needs root (CI runs as root) for apt-get.
set -euo pipefail
need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
# CAN rig (issue 3): qemu guest with Debian's kernel (vcan, can-isotp), busybox initramfs, can-utils peers,
# cpio to pack the initramfs, kmod/xz for module handling, iproute2 for vcan where the host kernel has it.
for p in socat lrzsz qemu-system-x86 linux-image-amd64 busybox-static can-utils cpio kmod xz-utils iproute2; do have "$p" || need+=("$p"); done
# USB rig (issue 5): dfu-util (dfu-util, dfu-suffix: the reference DFU host), udev (systemd-udevd in the guest sees
# re-enumeration), util-linux (taskset/chrt for the gadget process) in the same qemu guest.
for p in dfu-util udev util-linux; do have "$p" || need+=("$p"); done
# Kernel ISO-TP addon (issue 16, `make native`): C++ compiler, make, python3 for node-gyp, the kernel uapi headers
# (linux/can/isotp.h). Node's own headers come with Debian's nodejs (/usr/include/node).
for p in g++ make python3 linux-libc-dev; do have "$p" || need+=("$p"); done
# Packaging (issue 11): dpkg-deb (dpkg), file (addon arch check), readelf (binutils: Depends from the
# libraries the bundled binaries need), systemd-analyze (unit check); the Pi userland under qemu-user:
# mmdebstrap (+arch-test for foreign arches), qemu-user-static, binfmt-support.
for p in file binutils systemd mmdebstrap arch-test qemu-user-static binfmt-support; do have "$p" || need+=("$p"); done
# microsoft/apt:1 rig (issue 14): a throwaway bookworm root (mmdebstrap, cached under ~/.cache/sensor-proxy-apt)
# and a local repository built in the test (dpkg-deb, dpkg-scanpackages from dpkg-dev).
for p in dpkg-dev; do have "$p" || need+=("$p"); done
# Evidence bundle (issue 12): headless Chromium opens report.html (screenshot, console); the terminal view is
# tested as a person sees it, in tmux.
for p in chromium tmux; do have "$p" || need+=("$p"); done
if [ ${#need[@]} -eq 0 ]; then echo "system deps: all present"; exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system deps missing: ${need[*]}; run as root: apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "system deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}"
