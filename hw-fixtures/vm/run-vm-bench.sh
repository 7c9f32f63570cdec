#!/usr/bin/env bash
# Runs the vcan benchmarks (dist/test/bench/vcan/*.bench.js; figures only) for `make bench`:
#  - natively when vcan0 exists or can be created here (a Pi, a Linux laptop, as root);
#  - otherwise in one qemu guest (vm-run.sh, like run-vm-tests.sh), after measuring the host's CPU time
#    of the calibration workload (dist/test/bench/vcan/calibration.js), passed in as
#    SP_BENCH_HOST_CALIBRATION_MS so guest CPU µs can be turned into host CPU µs.
# A missing rig is a visible skip (benchmarks never fail a build for want of a rig).
# SP_BENCH_ONLY=<regex> runs only the matching files. The guest also loads dummy_hcd + gadgetfs: the
# cross-bus bench (cross-bus.bench.ts) flashes a DFU device on the USB gadget.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
mapfile -t benches < <(find dist/test/bench/vcan -name '*.bench.js' 2>/dev/null | sort | grep -E -- "${SP_BENCH_ONLY:-.}")
[ ${#benches[@]} -gt 0 ] || { echo "bench-vm: no vcan benches"; exit 0; }
# One shell loop, so the guest boots once.
loop='rc=0; for b in "$@"; do echo "== $b"; node "$b" || rc=1; done; exit $rc'

if ip link show vcan0 >/dev/null 2>&1 || { [ "$(id -u)" = 0 ] && bash hw-fixtures/can/setup-vcan.sh vcan0 >/dev/null 2>&1; }; then
  echo "bench-vm: running natively on vcan0"
  exec sh -c "$loop" sh "${benches[@]}"
fi

cal=$(nice node dist/test/bench/vcan/calibration.js)
echo "bench-vm: host calibration ${cal} CPU-ms; no vcan on this kernel; booting the qemu guest"
# Bench knobs that are set here reach the guest too (SP_BENCH_XBUS_*, cross-bus.bench.ts; SP_BENCH_ISOTP_*,
# isotp-user-cpu.bench.ts).
extra=()
while IFS= read -r name; do extra+=(--env "$name=${!name}"); done < <(compgen -e | grep -E '^SP_BENCH_(XBUS|ISOTP)_' || true)
set +e
bash hw-fixtures/vm/vm-run.sh "${extra[@]+"${extra[@]}"}" --modules "vcan can-raw can-isotp dummy_hcd gadgetfs" --cwd "$root" --timeout "${SP_VM_TIMEOUT_S:-1800}" \
  --env "SP_TIMEOUT_SCALE=${SP_TIMEOUT_SCALE:-20}" --env "SP_BENCH_HOST_CALIBRATION_MS=$cal" \
  --env "SP_BENCH_ROUNDS=${SP_BENCH_ROUNDS:-3}" --env "SP_BENCH_MESSAGES=${SP_BENCH_MESSAGES:-64}" \
  -- sh -c "bash hw-fixtures/can/setup-vcan.sh vcan0 && $loop" sh "${benches[@]}"
rc=$?
set -e
if [ $rc = 77 ]; then echo "bench-vm: SKIPPED: no vcan here and the vm rig is missing (scripts/install-system-deps.sh)" >&2; exit 0; fi
exit $rc
