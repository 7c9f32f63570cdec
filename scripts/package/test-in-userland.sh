#!/usr/bin/env bash
# Installs build/package/sensor-proxy_<version>_<arch>.deb with dpkg -i into a fresh Debian bookworm
# userland of that arch (mmdebstrap, run under qemu-user/binfmt on an x86 machine; the tarball is
# cached, a fresh copy is unpacked every run), then as the sensor-proxy service user:
# --version (else help), doctor --json (where the command exists), flash of a microsoft/script:1
# update, list of a YMODEM bootloader simulator on a socat pty pair, and the agent idle (RSS).
# systemd does not run in a chroot: the agent is started directly as the service user.
# usage: test-in-userland.sh arm64|armhf|amd64     (make test-arm, make test-armhf)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
repo=$(cd "$here/../.." && pwd)
arch=${1:?usage: test-in-userland.sh arm64|armhf|amd64}
version=$(node -p "require('$repo/package.json').version")
deb="$repo/build/package/sensor-proxy_${version}_${arch}.deb"
[ -f "$deb" ] || { echo "$deb missing: run make package-$arch" >&2; exit 2; }
enable_binfmt "$arch"
# dpkg -i installs no dependencies: the image must already hold what Depends names beyond the base
# system. armhf's bundled node needs libatomic1 (the README's `apt install ./<deb>` fetches it).
case $arch in armhf) image_pkgs=socat,libatomic1 ;; *) image_pkgs=socat ;; esac
tarball=$(bash "$here/rootfs.sh" "$arch" "$image_pkgs")

t_start=$(date +%s)
work=$(mktemp -d /var/tmp/sp-userland-XXXXXX)
root="$work/root"
cleanup() {
  [ -n "${agent_pid:-}" ] && kill "$agent_pid" 2>/dev/null || true
  [ -n "${sim_pid:-}" ] && kill "$sim_pid" 2>/dev/null || true
  sleep 1
  for m in dev/pts dev proc; do umount -l "$root/$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$root" && tar -xf "$tarball" -C "$root"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
ms() { date +%s%3N; }
step() { printf '\n== %s\n' "$*"; }
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }
as_service() {
  chroot "$root" /usr/bin/setpriv --reuid=sensor-proxy --regid=sensor-proxy --init-groups \
    /usr/bin/env -i PATH=/usr/bin:/bin HOME=/var/lib/sensor-proxy "$@"
}

step "install $(basename "$deb") ($(du -k "$deb" | cut -f1) KB) into $DEBIAN_SUITE $arch"
echo "Depends: $(dpkg-deb -f "$deb" Depends)"
cp "$deb" "$root/tmp/"
t=$(ms)
in_root dpkg -i "/tmp/$(basename "$deb")"
echo "install time: $(( $(ms) - t )) ms"
in_root id sensor-proxy
in_root stat -c '%A %U:%G %n' /etc/sensor-proxy /etc/sensor-proxy/connection-string /var/lib/sensor-proxy
in_root id -nG sensor-proxy | grep -qw dialout
in_root id -nG sensor-proxy | grep -qw plugdev
[ "$(in_root stat -c %a:%U:%G /etc/sensor-proxy/connection-string)" = 640:root:sensor-proxy ]
[ "$(in_root stat -c %a:%U:%G /var/lib/sensor-proxy)" = 750:sensor-proxy:sensor-proxy ]

step "first start: sensor-proxy --version as the service user"
t=$(ms)
as_service sensor-proxy --version
echo "first start (--version): $(( $(ms) - t )) ms"

step "doctor --json (no buses in a chroot: failures expected, listed)"
as_service sensor-proxy doctor --json --config /etc/sensor-proxy/gateway.json > "$work/doctor.json" || true
cat "$work/doctor.json"
# Every check has id and status; the runtime and all native addons must pass (warn allowed for an
# end-of-life Node: armhf bundles 20.11); the bus checks fail here, as they must without buses.
node -e '
const t = require("fs").readFileSync(process.argv[1], "utf8").trim();
const a = t.startsWith("[") ? JSON.parse(t) : t.split("\n").map((l) => JSON.parse(l));
if (!a.length || !a.every((c) => c.id && c.status)) process.exit(1);
const bad = a.filter((c) => c.status !== "pass" && c.status !== "ok");
const runtime = a.filter((c) => c.id.startsWith("runtime."));
const broken = runtime.filter((c) => c.status === "fail");
if (!runtime.some((c) => c.id === "runtime.node") || runtime.length < 4 || broken.length) {
  console.error("doctor: runtime checks missing or failing: " + JSON.stringify(broken.length ? broken : runtime));
  process.exit(1);
}
console.log("doctor: " + a.length + " checks; runtime: " + runtime.map((c) => c.id + "=" + c.status).join(", "));
console.log("doctor: not passing (no buses in a chroot): " + bad.map((c) => c.id + "=" + c.status).join(", "));' "$work/doctor.json"

step "doctor --json with a CAN interface, a serial port and a USB sensor configured (none exist here)"
mkdir -p "$root/tmp/sp"
cat > "$root/tmp/sp/buses.json" <<'JSON'
{ "stateDir": "/var/lib/sensor-proxy",
  "enumerators": [
    { "type": "serial", "rules": [ { "match": { "path": "/dev/ttyAMA0" }, "protocol": "ymodem", "component": { "group": "displays" } } ] },
    { "type": "usb", "rules": [ { "match": { "vid": "1209", "pid": "0001", "dfuPid": "df11" }, "component": { "group": "usb-sensors" } } ] },
    { "type": "can", "interfaces": [ { "interface": "can0" } ] } ] }
JSON
as_service sensor-proxy doctor --json --config /tmp/sp/buses.json > "$work/doctor-buses.json" && {
  echo "doctor passed although no bus exists" >&2
  exit 1
}
# Each absent bus fails with a check that names it and says how to fix it.
node -e '
const a = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
for (const [bus, name] of [["can", "can0"], ["serial", "ttyAMA0"], ["usb", "1209"]]) {
  const f = a.filter((c) => c.id.split(".")[0] === bus && c.status === "fail");
  if (!f.some((c) => (c.id + " " + c.detail).includes(name) && c.remedy)) {
    console.error("doctor: no failing " + bus + " check naming " + name + ": " + JSON.stringify(a.filter((c) => c.id.startsWith(bus))));
    process.exit(1);
  }
  console.log("doctor: " + bus + " fails as expected: " + f.map((c) => c.id + ": " + c.detail).join(" | "));
}' "$work/doctor-buses.json"

step "kernel ISO-TP addon (native/isotp) loads on the bundled node"
# qemu-user passes CAN sockets to this machine's kernel, which has no CAN: probe() reports why, it must not crash.
as_service /usr/lib/sensor-proxy/node/bin/node --input-type=module -e "
const { loadIsoTpAddon } = await import('/usr/lib/sensor-proxy/dist/drivers/can/kernel-isotp/addon.js');
const r = loadIsoTpAddon();
if ('error' in r) { console.error(r.error); process.exit(1); }
const p = r.addon.probe();
console.log('isotp addon loads; CAN_ISOTP probe here: ' + (p ? p.code + ' (' + p.message + ')' : 'sockets open'));"

step "workflow lock under qemu-user: 4 processes each take, take again and release their own lock 20 times"
# qemu-user fakes /proc/<own pid>/stat with a start time that depends on the reading thread; the lock
# must not take its own process for another owner (a flaky WORKFLOW_BUSY in the flash below).
cat > "$root/tmp/lock-check.mjs" <<'JS'
const { acquireWorkflowLock, releaseWorkflowLock } = await import('/usr/lib/sensor-proxy/dist/src/workflow/workflow-lock.js');
const lock = `/tmp/lock-check/${process.argv[2]}/x.json.lock`;
for (let i = 0; i < 20; i++) {
  await acquireWorkflowLock(lock);
  await acquireWorkflowLock(lock);
  await releaseWorkflowLock(lock);
}
JS
lock_pids=()
for i in 1 2 3 4; do in_root /usr/lib/sensor-proxy/node/bin/node /tmp/lock-check.mjs "$i" & lock_pids+=($!); done
for p in "${lock_pids[@]}"; do wait "$p"; done
echo "workflow lock: 4 x 20 re-entrant takes and releases, no WORKFLOW_BUSY"

step "flash a microsoft/script:1 update as the service user"
# The seed update and the simulators come from the checkout's dist/ (they are not in the package).
mkdir -p "$root/opt/sp-test" "$root/tmp/sp"
cp -a "$repo/dist" "$root/opt/sp-test/"
echo '{"type":"module"}' > "$root/opt/sp-test/package.json"
ln -s /usr/lib/sensor-proxy/node_modules "$root/opt/sp-test/node_modules"
node --input-type=module -e "
const { writeSeedUpdates } = await import('$repo/dist/hw-fixtures/updates/seed-updates.js');
const s = await writeSeedUpdates('$root/tmp/sp/updates');
process.stdout.write(s.oneInline.slice('$root'.length));" > "$work/manifest-path"
in_root chown -R sensor-proxy:sensor-proxy /tmp/sp
as_service env SENSOR_PROXY_HOST_STATE=/tmp/sp/host SENSOR_PROXY_SCRIPT_LOG=/tmp/sp/script.log \
  sensor-proxy flash "$(cat "$work/manifest-path")" --config /etc/sensor-proxy/gateway.json --json > "$work/flash.ndjson" || {
  rc=$?; echo "flash exited $rc; its output:" >&2; tail -20 "$work/flash.ndjson" >&2
  [ -f "$root/tmp/sp/script.log" ] && { echo "script log:" >&2; tail -20 "$root/tmp/sp/script.log" >&2; }
  exit 1
}
tail -1 "$work/flash.ndjson" | node -e 'const r=JSON.parse(require("fs").readFileSync(0,"utf8"));if(r.type!=="result"||r.succeeded!==true||r.lastInstallResult.resultCode!==700){console.error(JSON.stringify(r));process.exit(1)}console.log("flash: succeeded, resultCode 700")'
grep -q -- '--action-install' "$root/tmp/sp/script.log"

step "list: a YMODEM bootloader simulator on a socat pty pair"
chroot "$root" /usr/bin/setpriv --reuid=sensor-proxy --regid=sensor-proxy --init-groups /usr/bin/env -i PATH=/usr/bin:/bin \
  /usr/lib/sensor-proxy/node/bin/node /opt/sp-test/dist/hw-fixtures/serial/ymodem-sim-cli.js --pty --version 1.2.3 \
  > "$work/sim.out" 2> "$work/sim.err" &
sim_pid=$!
for _ in $(seq 1 300); do grep -q 'host port:' "$work/sim.out" && break; sleep 0.2; done
port=$(sed -n 's/^host port: //p' "$work/sim.out")
[ -n "$port" ] || { cat "$work/sim.err" >&2; echo "simulator did not start" >&2; exit 1; }
cat > "$root/tmp/sp/serial.json" <<JSON
{ "stateDir": "/var/lib/sensor-proxy",
  "enumerators": [ { "type": "serial", "rules": [ { "match": { "path": "$port" }, "protocol": "ymodem",
    "component": { "group": "displays", "name": "sim" } } ] } ] }
JSON
as_service sensor-proxy list --config /tmp/sp/serial.json --json > "$work/list.json"
node -e 'const c=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).components;const s=c.find(x=>x.name==="sim");if(!s||s.version!=="1.2.3"){console.error(JSON.stringify(c));process.exit(1)}console.log("list: sim on '"$port"' version "+s.version)' "$work/list.json"
kill "$sim_pid" 2>/dev/null || true; sim_pid=

step "agent idle as the service user (hub unreachable: it keeps reconnecting), RSS after 20 s"
printf 'HostName=127.0.0.1;DeviceId=pi-1;SharedAccessKey=c2VjcmV0\n' > "$root/etc/sensor-proxy/connection-string"
t=$(ms)
as_service sensor-proxy agent --config /etc/sensor-proxy/gateway.json 2> "$work/agent.err" &
agent_pid=$!
for _ in $(seq 1 600); do [ -s "$work/agent.err" ] && break; sleep 0.1; done
echo "agent first log line after $(( $(ms) - t )) ms: $(head -c 200 "$work/agent.err")"
sleep 20
apid=$(pgrep -f -n 'sensor-proxy/dist/src/cli/main.js agent' || true)
[ -n "$apid" ] && echo "agent RSS (qemu-user process, includes the emulator): $(awk '/VmRSS/{print $2" "$3}' /proc/$apid/status)"
kill -TERM "$apid" 2>/dev/null || true
wait "$agent_pid" && echo "agent stopped on SIGTERM with exit 0"
agent_pid=

step "upgrade (reinstall) keeps config, secrets and state"
echo '{"stateDir":"/var/lib/sensor-proxy","logLevel":"debug"}' > "$root/etc/sensor-proxy/gateway.json"
in_root install -o sensor-proxy -g sensor-proxy -m 0640 /dev/null /var/lib/sensor-proxy/keep-me
in_root dpkg -i --force-confold "/tmp/$(basename "$deb")" >/dev/null
grep -q '"debug"' "$root/etc/sensor-proxy/gateway.json"
grep -q 'SharedAccessKey' "$root/etc/sensor-proxy/connection-string"
in_root test -e /var/lib/sensor-proxy/keep-me
[ "$(in_root stat -c %a:%U:%G /etc/sensor-proxy/connection-string)" = 640:root:sensor-proxy ]
echo "kept: gateway.json (edited), connection-string, state"

step "purge removes config, secrets, state, user"
in_root dpkg --purge sensor-proxy
! in_root test -e /etc/sensor-proxy
! in_root test -e /var/lib/sensor-proxy
! in_root getent passwd sensor-proxy
echo "test-in-userland $arch: all steps passed ($(( $(date +%s) - t_start )) s after the rootfs was ready)"
