#!/usr/bin/env bash
# Generic qemu guest runner (reference/bus-protocols.md §7): boots Debian's kernel under
# qemu-system-x86_64 with the host root shared read-only over 9p, loads the given kernel modules,
# runs one command chrooted into the host root, streams its output and exits with its exit code.
#
#   vm-run.sh [--modules "vcan can-isotp"] [--cwd DIR] [--env NAME=VALUE]... [--timeout SEC]
#             [--mem MB] [--smp N] -- COMMAND [ARG...]
#
# Exit codes: the command's own exit code; 124 when the guest ran past --timeout; 125 when the guest
# ended without reporting an exit code (kernel panic, init failure); 77 when the rig is missing
# (no qemu, no kernel image or modules, no busybox): callers decide whether that is a skip or a failure.
#
# Environment: SP_VM_KERNEL (vmlinuz path; default the newest /boot/vmlinuz-*), SP_VM_ACCEL
# (tcg|kvm, default tcg: KVM hung in early boot on these hosts, §7), SP_VM_CACHE (initramfs cache
# folder, default ${XDG_CACHE_HOME:-$HOME/.cache}/sensor-proxy-vm), SP_VM_VERBOSE=1 (kernel log).
# Inside the guest: /tmp is a fresh tmpfs, the host root is read-only, $SP_VM_OUT is a writable
# host folder (shared back over 9p) and SP_IN_VM=1 is set.
# NODE_V8_COVERAGE (a host folder, as `make coverage` sets it): the guest's Node processes write their
# coverage into the run folder (world-writable, for tests running as an unprivileged uid) and the
# files are copied into that folder after the run; their file:// paths are the host's (same cwd).
set -euo pipefail

modules="" cwd="$PWD" timeout_s=900 mem=1024 smp=2
envs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --modules) modules="$2"; shift 2 ;;
    --cwd) cwd="$2"; shift 2 ;;
    --env) envs+=("$2"); shift 2 ;;
    --timeout) timeout_s="$2"; shift 2 ;;
    --mem) mem="$2"; shift 2 ;;
    --smp) smp="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "vm-run: unknown option $1" >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || { echo "vm-run: no command given (use -- COMMAND)" >&2; exit 2; }

missing() { echo "vm-run: rig missing: $*" >&2; exit 77; }
qemu=$(command -v qemu-system-x86_64 || true)
[ -n "$qemu" ] || missing "qemu-system-x86_64 (Debian package qemu-system-x86)"
kernel="${SP_VM_KERNEL:-$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1 || true)}"
[ -n "$kernel" ] && [ -r "$kernel" ] || missing "a kernel image in /boot (Debian package linux-image-amd64)"
kver="${kernel##*/vmlinuz-}"
moddir="/lib/modules/$kver"
[ -f "$moddir/modules.dep" ] || missing "$moddir/modules.dep for kernel $kver"
busybox=/bin/busybox   # busybox-static's binary: no shared libraries needed in the initramfs
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "install ok installed" || [ -n "${SP_VM_BUSYBOX:-}" ] \
  || missing "busybox-static (Debian package busybox-static)"
busybox="${SP_VM_BUSYBOX:-$busybox}"
[ -x "$busybox" ] || missing "busybox at $busybox"
command -v cpio >/dev/null || missing "cpio"

# --- initramfs: static busybox + the virtio/9p modules needed to mount the host root -----------
# Everything else (vcan, can-isotp, ...) is loaded later by the host's own modprobe inside the chroot.
boot_modules="virtio_pci 9pnet_virtio 9p"
cache="${SP_VM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/sensor-proxy-vm}"
here="$(cd "$(dirname "$0")" && pwd)"
stamp=$(cat "$0" "$here/guest-init.sh" | sha256sum | cut -c1-16)
initrd="$cache/initramfs-$kver-$stamp.cpio.gz"

# Prints the module files of $1 and its dependencies, dependencies first (from modules.dep).
declare -A seen=()
resolve() {
  local name="${1//-/_}" line path deps d
  line=$(awk -v n="$name" -F: '{ b=$1; sub(/.*\//, "", b); sub(/\.ko(\.[a-z]+)?$/, "", b); gsub(/-/, "_", b); if (b == n) { print; exit } }' "$moddir/modules.dep")
  if [ -z "$line" ]; then
    grep -qE "/${name//_/[_-]}\.ko" "$moddir/modules.builtin" 2>/dev/null && return 0
    echo "vm-run: module $1 not found for kernel $kver" >&2; return 1
  fi
  path="${line%%:*}"; deps="${line#*:}"
  [ -n "${seen[$path]:-}" ] && return 0
  seen[$path]=1
  for d in $deps; do
    local dn="${d##*/}"; dn="${dn%%.ko*}"
    resolve "$dn"
  done
  echo "$path"
}

if [ ! -f "$initrd" ]; then
  mkdir -p "$cache"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work"/{bin,dev,proc,sys,mnt,lib/modules}
  cp "$busybox" "$work/bin/busybox"
  : > "$work/lib/modules/load-order"
  declare -A copied=()
  for m in $boot_modules; do
    for p in $(resolve "$m"); do
      [ -n "${copied[$p]:-}" ] && continue
      copied[$p]=1
      case "$p" in *.xz|*.zst|*.gz) missing "compressed module $p (busybox insmod needs plain .ko)";; esac
      cp "$moddir/$p" "$work/lib/modules/"
      echo "${p##*/}" >> "$work/lib/modules/load-order"
    done
  done
  cp "$here/guest-init.sh" "$work/init"
  chmod +x "$work/init"
  (cd "$work" && find . | cpio -o -H newc --quiet | gzip -1) > "$initrd.tmp"
  mv "$initrd.tmp" "$initrd"
  rm -rf "$work"; trap - EXIT
fi

# --- the run folder, shared writable into the guest ------------------------------------------
out=$(mktemp -d "${TMPDIR:-/tmp}/sp-vm.XXXXXX")
trap 'rm -rf "$out"' EXIT
{
  echo "#!/bin/sh"
  echo "export SP_IN_VM=1 SP_VM_OUT=/run/sp-vm-out HOME=/tmp PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  for e in "${envs[@]+"${envs[@]}"}"; do printf 'export %q\n' "$e"; done
  if [ -n "${NODE_V8_COVERAGE:-}" ]; then
    echo "mkdir -p -m 1777 /run/sp-vm-out/v8-coverage && export NODE_V8_COVERAGE=/run/sp-vm-out/v8-coverage"
  fi
  printf 'cd %q || exit 126\n' "$cwd"
  printf '%q ' "$@"; echo
} > "$out/cmd.sh"
echo "$modules" > "$out/modules"
# The guest mounts tmpfs on /tmp and /run: a checkout there (CI clones anywhere) would be hidden,
# so the working folder is also shared on its own and mounted back at its path.
echo "$cwd" > "$out/cwd"

accel="${SP_VM_ACCEL:-tcg}"
cpu="${SP_VM_CPU:-max}"; [ "$accel" = kvm ] && cpu="${SP_VM_CPU:-kvm64}"
quiet="quiet loglevel=1"; [ "${SP_VM_VERBOSE:-0}" = 1 ] && quiet="loglevel=7"
echo "vm-run: kernel $kver, accel $accel, modules: ${modules:-none}, timeout ${timeout_s}s" >&2
set +e
timeout --foreground -k 10 "$timeout_s" "$qemu" -accel "$accel" -cpu "$cpu" -m "$mem" -smp "$smp" \
  -nographic -no-reboot -nic none \
  -kernel "$kernel" -initrd "$initrd" \
  -append "console=ttyS0 panic=-1 oops=panic $quiet" \
  -virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap \
  -virtfs local,path="$out",mount_tag=out,security_model=none \
  -virtfs local,path="$cwd",mount_tag=cwd,security_model=none,readonly=on,multidevs=remap \
  </dev/null | sed -u 's/\r$//'
qrc=${PIPESTATUS[0]}
set -e
if [ -n "${NODE_V8_COVERAGE:-}" ] && [ -d "$out/v8-coverage" ]; then
  mkdir -p "$NODE_V8_COVERAGE"
  find "$out/v8-coverage" -name '*.json' -exec cp -t "$NODE_V8_COVERAGE" {} +
fi
[ "$qrc" = 124 ] && { echo "vm-run: guest exceeded ${timeout_s}s" >&2; exit 124; }
if [ -f "$out/rc" ]; then exit "$(cat "$out/rc")"; fi
echo "vm-run: guest ended without an exit code (qemu rc $qrc)" >&2
exit 125
