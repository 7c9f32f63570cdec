#!/usr/bin/env bash
# Builds the user-space ISO-TP backend (drivers/can/isotp/channel.ts, drivers/can/socketcan-bus.ts and
# what they import) of an older commit into a dist folder of this tree, for
# SP_BENCH_ISOTP_BASELINE=<that folder> (test/bench/vcan/isotp-user-cpu.bench.ts measures it interleaved
# with the current build in the same run). Default commit 4d75e6f: the tree before issue 16's
# user-space speed-ups (7e62d2c). Prints the folder.
#   build-isotp-baseline.sh [COMMIT] [OUTDIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
commit="${1:-4d75e6f}"
out="${2:-$root/dist/baseline-$commit}"
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
git -C "$root" archive "$commit" drivers src tsconfig.json package.json | tar -x -C "$src"
ln -s "$root/node_modules" "$src/node_modules"
cat >"$src/tsconfig.baseline.json" <<JSON
{ "extends": "./tsconfig.json", "include": [],
  "files": ["drivers/can/isotp/channel.ts", "drivers/can/socketcan-bus.ts"],
  "compilerOptions": { "outDir": "$out", "rootDir": ".", "sourceMap": false } }
JSON
rm -rf "$out"
"$root/node_modules/.bin/tsc" -p "$src/tsconfig.baseline.json"
echo "$out"
