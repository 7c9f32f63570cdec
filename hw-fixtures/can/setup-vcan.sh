#!/usr/bin/env bash
# Creates CAN FD capable virtual CAN interfaces (reference/bus-protocols.md §1.6): `make vcan`, and the
# vm runner inside the guest. Usage: setup-vcan.sh [IFACE...] (default vcan0). Idempotent.
# Exit 0 when every interface is up; 1 when the kernel has no vcan (or we are not root).
set -euo pipefail
ifaces=("$@"); [ ${#ifaces[@]} -gt 0 ] || ifaces=(vcan0)
if ! ip link show "${ifaces[0]}" >/dev/null 2>&1; then
  modprobe vcan 2>/dev/null || true
  modprobe can-raw 2>/dev/null || true
  modprobe can-isotp 2>/dev/null || true
fi
for i in "${ifaces[@]}"; do
  if ! ip link show "$i" >/dev/null 2>&1; then
    ip link add dev "$i" type vcan 2>/dev/null || { echo "setup-vcan: cannot create $i (kernel without vcan, or not root)" >&2; exit 1; }
  fi
  # MTU 72 = CANFD_MTU: the interface carries CAN FD frames (Linux 6.1 vcan default, set explicitly).
  ip link set "$i" mtu 72 2>/dev/null || echo "setup-vcan: $i stays classic-only (mtu change refused)" >&2
  ip link set up "$i"
  echo "setup-vcan: $i up ($(cat /sys/class/net/$i/mtu 2>/dev/null || echo '?') byte MTU)"
done
