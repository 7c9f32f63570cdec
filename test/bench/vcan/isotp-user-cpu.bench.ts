/**
 * Issue 16 (figures only, no assertions; `make bench` runs it in the qemu guest, or natively on vcan0):
 * CPU cost per CAN frame of the user-space ISO-TP backend (IsoTpChannel on SocketCanBus, the real
 * `socketcan` addon) against the kernel's ISO-TP in another process (hw-fixtures/can/uds_kernel_peer.py),
 * so only our side is in process.cpuUsage():
 *  - send: MESSAGES × 4095 B into a kernel receiver (`sink`, FC BS 0 STmin 0), as a flash does;
 *  - receive: MESSAGES × 4095 B from a kernel sender (`source`), our FC BS 16 STmin 0.
 * Figures: CPU µs per frame = CPU time / (frames our channel sent + received) in the guest; the same
 * in host CPU µs (guest figure / TCG slowdown, measured with calibration.ts on the host by
 * run-vm-bench.sh and here); and a Raspberry Pi 3 estimate (host figure × SP_BENCH_PI3_FACTOR, see
 * README "Performance"). Budget of a saturated 1 Mbit/s classic bus: ~8,000-8,800 frames/s with
 * 8-byte payloads, i.e. ~115 µs per frame for everything.
 * SP_BENCH_ROUNDS rounds (default 1), medians. SP_BENCH_ISOTP_BASELINE=<dist folder> (an older build of
 * drivers/can, hw-fixtures/vm/build-isotp-baseline.sh) measures that build too, interleaved with this one
 * in every round (order alternating), and prints this/baseline per round and the median of those ratios.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { IsoTpChannel } from '../../../drivers/can/isotp/channel.js';
import { kernelIsoTpAvailability } from '../../../drivers/can/kernel-isotp/availability.js';
import { SocketCanBus } from '../../../drivers/can/socketcan-bus.js';
import { KERNEL_PEER_SCRIPT, startKernelPeer } from '../../../hw-fixtures/can/kernel-peer.js';
import { calibrationCpuMs } from './calibration.js';
import { recordFigure } from '../summary.js';

const IFACE = process.env['SP_VCAN'] ?? 'vcan0';
const MESSAGES = Math.max(1, Number(process.env['SP_BENCH_MESSAGES'] ?? '64') || 64);
const SIZE = 4095;
const ROUNDS = Math.max(1, Number(process.env['SP_BENCH_ROUNDS'] ?? '1') || 1);
const BASELINE_DIR = process.env['SP_BENCH_ISOTP_BASELINE'];
const SCALE = Math.max(1, Number(process.env['SP_TIMEOUT_SCALE'] ?? '1') || 1);
/** Budget per frame of a saturated 1 Mbit/s classic bus (~8,700 frames/s of 8 data bytes). */
const BUDGET_US = 115;
/**
 * Raspberry Pi 3 (Cortex-A53, 1.2 GHz, in-order) versus one core of the x86-64 build host for this
 * kind of JavaScript: an assumption (README "Performance"), overridable.
 */
const PI3_FACTOR = Number(process.env['SP_BENCH_PI3_FACTOR'] ?? '12') || 12;

function skip(why: string): never {
  console.log(`isotp-user-cpu bench skipped: ${why}`);
  process.exit(0);
}
if (!existsSync(`/sys/class/net/${IFACE}`)) skip(`${IFACE} does not exist (make bench boots the qemu guest for it)`);
const avail = kernelIsoTpAvailability(IFACE);
if (!avail.available) skip(`kernel ISO-TP peer unavailable: ${avail.reason}`);

const timeouts = { nAsMs: 1000 * SCALE, nBsMs: 1000 * SCALE, nCrMs: 1000 * SCALE };

/** One build of the user-space backend: this tree's, or an older one loaded from a dist folder. */
interface Build {
  label: string;
  Channel: typeof IsoTpChannel;
  Bus: typeof SocketCanBus;
}

async function loadBuild(dir: string): Promise<Build> {
  const load = async (rel: string) => (await import(pathToFileURL(join(resolve(dir), rel)).href)) as unknown;
  const ch = (await load('drivers/can/isotp/channel.js')) as { IsoTpChannel: typeof IsoTpChannel };
  const bus = (await load('drivers/can/socketcan-bus.js')) as { SocketCanBus: typeof SocketCanBus };
  return { label: 'baseline', Channel: ch.IsoTpChannel, Bus: bus.SocketCanBus };
}

interface Cost {
  frames: number;
  cpuUs: number;
  wallS: number;
}

async function sendCost(b: Build): Promise<Cost> {
  const sink = await startKernelPeer('sink', ['--iface', IFACE], 10_000 * SCALE);
  const bus = await b.Bus.open({ iface: IFACE, txTimeoutMs: 1000 * SCALE });
  const ch = new b.Channel(bus, { txId: 0x7e0, rxId: 0x7e8, timeouts });
  try {
    const msg = new Uint8Array(SIZE).fill(0x5a);
    for (let i = 0; i < 4; i++) await ch.send(msg); // warm-up
    const f0 = ch.stats.framesSent + ch.stats.framesReceived;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < MESSAGES; i++) await ch.send(msg);
    const c = process.cpuUsage(c0);
    return {
      frames: ch.stats.framesSent + ch.stats.framesReceived - f0,
      cpuUs: c.user + c.system,
      wallS: (performance.now() - t0) / 1000,
    };
  } finally {
    ch.close();
    await bus.close();
    await sink.stop();
  }
}

async function receiveCost(b: Build): Promise<Cost> {
  const bus = await b.Bus.open({ iface: IFACE, txTimeoutMs: 1000 * SCALE });
  const ch = new b.Channel(bus, { txId: 0x7e0, rxId: 0x7e8, blockSize: 16, timeouts });
  const warm = 4;
  const source = spawn(
    'python3',
    ['-u', KERNEL_PEER_SCRIPT, 'source', '--iface', IFACE, '--count', String(MESSAGES + warm), '--size', String(SIZE)],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  try {
    for (let i = 0; i < warm; i++) await ch.receive(30_000 * SCALE);
    const f0 = ch.stats.framesSent + ch.stats.framesReceived;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < MESSAGES; i++) {
      const m = await ch.receive(30_000 * SCALE);
      if (m.length !== SIZE) throw new Error(`received ${m.length} bytes, expected ${SIZE}`);
    }
    const c = process.cpuUsage(c0);
    return {
      frames: ch.stats.framesSent + ch.stats.framesReceived - f0,
      cpuUs: c.user + c.system,
      wallS: (performance.now() - t0) / 1000,
    };
  } finally {
    if (source.exitCode === null) source.kill('SIGTERM');
    ch.close();
    await bus.close();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// The guest's speed drifts with the host's load: the slowdown is measured around each figure.
const hostCal = Number(process.env['SP_BENCH_HOST_CALIBRATION_MS'] ?? '');
const builds: Build[] = [{ label: 'this', Channel: IsoTpChannel, Bus: SocketCanBus }];
if (BASELINE_DIR) builds.push(await loadBuild(BASELINE_DIR));
console.log(
  `isotp user backend on ${IFACE}: ${MESSAGES} × ${SIZE} B per figure, ${ROUNDS} round(s)` +
    (BASELINE_DIR ? `, this build and the baseline ${BASELINE_DIR} interleaved` : '') +
    '; ' +
    (hostCal > 0
      ? `host calibration ${hostCal.toFixed(1)} CPU-ms`
      : "no host calibration: figures stay in this machine's µs"),
);
const directions = [
  ['send', sendCost],
  ['receive', receiveCost],
] as const;
/** µs per frame, in host µs where calibrated: [direction][build label] → one value per round. */
const perFrame = new Map<string, number[]>();
const key = (dir: string, build: string) => `${dir}/${build}`;
for (let round = 1; round <= ROUNDS; round++) {
  const order = round % 2 ? builds : [...builds].reverse();
  for (const [dir, measure] of directions) {
    for (const b of order) {
      const before = calibrationCpuMs();
      const cost = await measure(b);
      const slowdown = hostCal > 0 ? (before + calibrationCpuMs()) / 2 / hostCal : undefined;
      const us = cost.cpuUs / cost.frames;
      const value = slowdown ? us / slowdown : us;
      perFrame.set(key(dir, b.label), [...(perFrame.get(key(dir, b.label)) ?? []), value]);
      console.log(
        `  round ${round} ${dir.padEnd(7)} ${b.label.padEnd(8)}: ${cost.frames} frames, ${us.toFixed(1)} CPU µs per frame here` +
          ` (${Math.round(cost.frames / cost.wallS).toLocaleString('en')} frames/s wall)` +
          (slowdown ? `; here ${slowdown.toFixed(1)}x slower than the host → host ${value.toFixed(1)} µs` : ''),
      );
    }
  }
}
const unit = hostCal > 0 ? 'host µs' : 'µs here';
for (const [dir] of directions) {
  for (const b of builds) {
    const vs = perFrame.get(key(dir, b.label))!;
    const m = median(vs);
    let line = `  ${dir.padEnd(7)} ${b.label.padEnd(8)}: median ${m.toFixed(1)} ${unit} per frame (rounds ${vs.map((v) => v.toFixed(1)).join(', ')})`;
    if (hostCal > 0) {
      const pi3 = m * PI3_FACTOR;
      line += `; Pi 3 estimate ${pi3.toFixed(0)} µs (x${PI3_FACTOR}) = ${((pi3 / BUDGET_US) * 100).toFixed(0)} % of the ${BUDGET_US} µs budget of a 1 Mbit/s bus`;
      if (b.label === 'this')
        recordFigure({
          name: `isotp user ${dir}: Pi 3 estimate CPU µs per frame`,
          value: pi3,
          goal: BUDGET_US,
          better: 'lower',
          unit: 'µs',
        });
    }
    console.log(line);
  }
  if (BASELINE_DIR) {
    const mine = perFrame.get(key(dir, 'this'))!;
    const base = perFrame.get(key(dir, 'baseline'))!;
    const ratios = mine.map((v, i) => v / base[i]!);
    const r = median(ratios);
    console.log(
      `  ${dir.padEnd(7)} this/baseline CPU per frame: median ${r.toFixed(2)} (rounds ${ratios.map((x) => x.toFixed(2)).join(', ')})`,
    );
    recordFigure({
      name: `isotp user ${dir}: CPU per frame, this/baseline`,
      value: r,
      goal: 0.5,
      better: 'lower',
      unit: 'x',
    });
  }
}
