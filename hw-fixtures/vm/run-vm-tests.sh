#!/usr/bin/env bash
# Runs the compiled `test/vm` suite (dist/test/vm/**/*.test.js) against real vcan (`make test-vm`).
#  - natively when vcan0 exists or can be created here (a Pi, a Linux laptop, as root);
#  - otherwise in one qemu guest (vm-run.sh: Debian kernel, vcan + can-isotp, host root over 9p),
#    with the real `socketcan` package and can-utils of the host, returning the guest's exit code.
# A missing rig (no qemu, kernel or busybox) fails when CI=true and is a visible skip otherwise.
# SP_TIMEOUT_SCALE multiplies every timeout of the vm tests (default 1 natively, 20 in the guest,
# where code runs 15-20x slower under TCG: reference/bus-protocols.md §7).
# SP_VM_ONLY=<regex> runs only the test files whose path matches (e.g. SP_VM_ONLY=isotp-backends).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
mapfile -t tests < <(find dist/test/vm -name '*.test.js' | sort | grep -E -- "${SP_VM_ONLY:-.}")
[ ${#tests[@]} -gt 0 ] || { echo "test-vm: no vm tests"; exit 0; }
flags=(--test --test-concurrency=1 --test-timeout="${SP_VM_TEST_TIMEOUT_MS:-600000}")
start=$(date +%s)

if ip link show vcan0 >/dev/null 2>&1 || { [ "$(id -u)" = 0 ] && bash hw-fixtures/can/setup-vcan.sh vcan0 >/dev/null 2>&1; }; then
  echo "test-vm: running natively on vcan0"
  export SP_TIMEOUT_SCALE="${SP_TIMEOUT_SCALE:-1}"
  set +e; node "${flags[@]}" "${tests[@]}"; rc=$?; set -e
  echo "test-vm: native run took $(( $(date +%s) - start )) s, exit $rc"
  exit $rc
fi

echo "test-vm: no vcan on this kernel; booting the qemu guest"
set +e
# dummy_hcd + gadgetfs: the USB DFU gadget of test/vm/usb-*.test.ts (issue 5).
bash hw-fixtures/vm/vm-run.sh --modules "vcan can-raw can-isotp dummy_hcd gadgetfs" --cwd "$root" --timeout "${SP_VM_TIMEOUT_S:-1500}" \
  --env "SP_TIMEOUT_SCALE=${SP_TIMEOUT_SCALE:-20}" --env "CI=${CI:-}" \
  -- sh -c 'bash hw-fixtures/can/setup-vcan.sh vcan0 && exec node "$@"' sh "${flags[@]}" "${tests[@]}"
rc=$?
set -e
echo "test-vm: guest run took $(( $(date +%s) - start )) s, exit $rc"
if [ $rc = 77 ]; then
  if [ "${CI:-}" = true ]; then echo "test-vm: FAILED: the vm rig is missing in CI (run scripts/install-system-deps.sh)" >&2; exit 1; fi
  echo "test-vm: SKIPPED: no vcan here and the vm rig is missing (install with scripts/install-system-deps.sh as root)" >&2
  exit 0
fi
exit $rc
