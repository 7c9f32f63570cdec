/**
 * Issue 16 (figures only, no assertions; `make bench` runs it in the qemu guest, or natively on vcan0):
 * 256 KiB into the independent UDS ECU (hw-fixtures/can/uds_kernel_peer.py: Python's own CAN_ISOTP
 * sockets, no sensor-proxy code) on vcan, in one run, against one ECU process, with the ECU's
 * maxNumberOfBlockLength (4095: 4093 data bytes per TransferData) for everyone:
 *  - the Python tester of the same script (kernel ISO-TP sockets, a plain blocking request loop);
 *  - sensor-proxy with the kernel backend (KernelIsoTpChannel → UdsClient → flashUds, as the uds handler);
 *  - sensor-proxy with the user-space backend (IsoTpChannel on SocketCanBus).
 * Throughput is the download phase (first TransferData to the last response) of each, best of
 * SP_BENCH_ROUNDS (default 3) alternating rounds (each run printed), and the ratio product / tester
 * of the best runs (the recorded figure), of the medians and of each round.
 * For the user-space backend it also prints CPU µs per CAN frame over the download (process.cpuUsage
 * / frames our channel sent + received); see isotp-user-cpu.bench.ts for the pure ISO-TP figure.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IsoTpChannel } from '../../../drivers/can/isotp/channel.js';
import type { IsoTpOptions } from '../../../drivers/can/isotp/options.js';
import type { IsoTpTransport } from '../../../drivers/can/isotp/transport.js';
import { kernelIsoTpAvailability } from '../../../drivers/can/kernel-isotp/availability.js';
import { KernelIsoTpChannel } from '../../../drivers/can/kernel-isotp/kernel-channel.js';
import { SocketCanBus } from '../../../drivers/can/socketcan-bus.js';
import { UdsClient } from '../../../drivers/can/uds/client.js';
import { flashUds } from '../../../drivers/can/uds/flash-session.js';
import { FileImageSource } from '../../../drivers/shared/image-source.js';
import { writeFirmwareImage } from '../../../hw-fixtures/can/firmware-image.js';
import { KERNEL_PEER_SCRIPT, startKernelEcu } from '../../../hw-fixtures/can/kernel-peer.js';
import { xorKey } from '../../../hw-fixtures/can/uds-rig.js';
import { recordFigure } from '../summary.js';
import { calibrationCpuMs } from './calibration.js';

const IFACE = process.env['SP_VCAN'] ?? 'vcan0';
const SIZE = 256 * 1024;
const ROUNDS = Math.max(1, Number(process.env['SP_BENCH_ROUNDS'] ?? '3') || 3);
/** Generous protocol timeouts: under TCG everything is 15-20x slower (reference/bus-protocols.md §7). */
const SCALE = Math.max(1, Number(process.env['SP_TIMEOUT_SCALE'] ?? '1') || 1);

function skip(why: string): never {
  console.log(`uds-kernel-ecu bench skipped: ${why}`);
  process.exit(0);
}
if (!existsSync(`/sys/class/net/${IFACE}`)) skip(`${IFACE} does not exist (make bench boots the qemu guest for it)`);
const avail = kernelIsoTpAvailability(IFACE);
if (!avail.available) skip(`kernel ISO-TP unavailable: ${avail.reason}`);
if (spawnSync('python3', ['-c', 'import socket; socket.CAN_ISOTP']).status !== 0)
  skip('python3 with socket.CAN_ISOTP missing');

interface Run {
  seconds: number;
  cpuUsPerFrame?: number;
  frames?: number;
}

function pythonTester(image: string): Run {
  const r = spawnSync('python3', ['-u', KERNEL_PEER_SCRIPT, 'tester', '--iface', IFACE, '--image', image], {
    encoding: 'utf8',
  });
  const m = /tester (\d+) bytes in ([\d.]+) s download/.exec(r.stdout);
  if (r.status !== 0 || !m) throw new Error(`python tester failed (${r.status}): ${r.stdout} ${r.stderr}`);
  return { seconds: Number(m[2]) };
}

const isoTp: IsoTpOptions = {
  txId: 0x7e0,
  rxId: 0x7e8,
  timeouts: { nAsMs: 1000 * SCALE, nBsMs: 1000 * SCALE, nCrMs: 1000 * SCALE },
};

async function product(image: string, backend: 'kernel' | 'user'): Promise<Run> {
  let transport: IsoTpTransport;
  let bus: SocketCanBus | undefined;
  let user: IsoTpChannel | undefined;
  if (backend === 'kernel') transport = KernelIsoTpChannel.open(IFACE, isoTp);
  else {
    bus = await SocketCanBus.open({ iface: IFACE, txTimeoutMs: 1000 * SCALE });
    transport = user = new IsoTpChannel(bus, isoTp);
  }
  const client = new UdsClient({ transport, timeouts: { p2Ms: 1000 * SCALE, p2StarMs: 5000 * SCALE } });
  const source = await FileImageSource.open(image);
  let t0 = 0;
  let t1 = 0;
  let cpu0: NodeJS.CpuUsage = { user: 0, system: 0 };
  let cpu: NodeJS.CpuUsage = { user: 0, system: 0 };
  let frames0 = 0;
  const frames = () => (user ? user.stats.framesSent + user.stats.framesReceived : 0);
  try {
    await flashUds({
      client,
      image: source,
      memory: { address: 0x0800_0000 },
      security: { level: 1, keyFunction: xorKey() },
      resetTimeoutMs: 5000 * SCALE,
      onProgress: (p) => {
        if (p.phase !== 'download') return;
        if (p.bytesDone === 0) {
          t0 = performance.now();
          cpu0 = process.cpuUsage();
          frames0 = frames();
        } else if (p.bytesDone === p.bytesTotal) {
          t1 = performance.now();
          cpu = process.cpuUsage(cpu0);
        }
      },
    });
  } finally {
    await source.close();
    transport.close();
    await bus?.close();
  }
  const run: Run = { seconds: (t1 - t0) / 1000 };
  if (user) {
    run.frames = frames() - frames0;
    run.cpuUsPerFrame = (cpu.user + cpu.system) / run.frames;
  }
  return run;
}

const kBs = (s: number) => SIZE / 1000 / s;
const best = (runs: Run[]) => runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
const median = (runs: Run[]) => {
  const s = runs.map((r) => r.seconds).sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const dir = await mkdtemp(join(tmpdir(), 'uds-kecu-bench-'));
const ecu = await startKernelEcu(['--iface', IFACE], 10_000 * SCALE);
try {
  const image = join(dir, 'ecu.bin');
  await writeFirmwareImage(image, SIZE, '2.0.0');
  const tester: Run[] = [];
  const kernel: Run[] = [];
  await product(image, 'kernel'); // warm-up (JIT, addon load)
  for (let i = 0; i < ROUNDS; i++) {
    tester.push(pythonTester(image));
    kernel.push(await product(image, 'kernel'));
  }
  const cal0 = calibrationCpuMs();
  const userRun = await product(image, 'user');
  const hostCal = Number(process.env['SP_BENCH_HOST_CALIBRATION_MS'] ?? '');
  const slowdown = hostCal > 0 ? (cal0 + calibrationCpuMs()) / 2 / hostCal : undefined;
  const flashed = ecu.lines.filter((l) => l === `flashed 2.0.0 ${SIZE}`).length;
  const t = best(tester);
  const k = best(kernel);
  const fmt = (r: Run[]) => r.map((x) => x.seconds.toFixed(3)).join(' ');
  console.log(`uds 256 KiB into the Python kernel-ISO-TP ECU on ${IFACE} (${flashed} good checks by the ECU)`);
  console.log(
    `  python kernel-ISO-TP tester: ${t.seconds.toFixed(3)} s download, ${kBs(t.seconds).toFixed(1)} kB/s (runs: ${fmt(tester)} s)`,
  );
  console.log(
    `  sensor-proxy kernel backend: ${k.seconds.toFixed(3)} s download, ${kBs(k.seconds).toFixed(1)} kB/s (runs: ${fmt(kernel)} s)`,
  );
  console.log(
    `  ratio kernel backend / tester: ${(t.seconds / k.seconds).toFixed(2)}x best of ${ROUNDS} each (goal >= 0.8x); median ${(median(tester) / median(kernel)).toFixed(2)}x; per round ${tester.map((x, i) => (x.seconds / kernel[i]!.seconds).toFixed(2)).join(' ')}`,
  );
  recordFigure({
    name: 'uds 256 KiB on vcan: kernel backend / kernel tester throughput',
    value: t.seconds / k.seconds,
    goal: 0.8,
    better: 'higher',
    unit: 'x',
  });
  console.log(
    `  sensor-proxy user backend:   ${userRun.seconds.toFixed(3)} s download, ${kBs(userRun.seconds).toFixed(1)} kB/s, ${(t.seconds / userRun.seconds).toFixed(2)}x the tester; ${userRun.cpuUsPerFrame!.toFixed(1)} µs CPU per frame over ${userRun.frames} frames (incl. UDS)` +
      (slowdown
        ? `, ${(userRun.cpuUsPerFrame! / slowdown).toFixed(1)} host µs (here ${slowdown.toFixed(1)}x slower)`
        : ''),
  );
} finally {
  await ecu.stop();
  await rm(dir, { recursive: true, force: true });
}
