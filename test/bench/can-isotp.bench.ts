/**
 * CAN benchmarks (figures only, no assertions): `make bench` or `node --import tsx test/bench/can-isotp.bench.ts`.
 *  1. CPU cost of our ISO-TP on MemoryCanBus without timing: frames per CPU-second, CPU µs per frame.
 *  2. Flash throughput into the ECU simulator on the timed MemoryCanBus (classic 500k, 1M, FD 500k/2M),
 *     as a fraction of the ISO-TP payload ceiling for the same frames (the wire time of the frames that
 *     carry the image), on the virtual clock (protocol efficiency) and on the real clock (with CPU).
 *     The ISO-TP ceiling is the wire alone, so the goal figure is measured against an ECU that programs
 *     instantly; a TransferData is answered only after its block is programmed (ISO 14229-1 §14.5, the
 *     simulator's FlashMemory.write), so with the simulator's default 1 ms/KiB the wire idles for that
 *     time every block. That run is printed beside it, against a ceiling of wire + programming time.
 *  3. Memory while streaming an image from a file (heap growth for 1 MiB vs 8 MiB).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIT_TIMING_PRESETS, type BitTiming } from '../../drivers/can/bit-timing.js';
import { systemClock, type Clock } from '../../drivers/can/clock.js';
import { IsoTpChannel } from '../../drivers/can/isotp/channel.js';
import { MemoryCanNetwork } from '../../drivers/can/memory-bus.js';
import { flashUds } from '../../drivers/can/uds/flash-session.js';
import { FileImageSource } from '../../drivers/shared/image-source.js';
import { writeFirmwareImage } from '../../hw-fixtures/can/firmware-image.js';
import { makeUdsRig, xorKey } from '../../hw-fixtures/can/uds-rig.js';
import { VirtualClock } from '../../hw-fixtures/can/virtual-clock.js';
import { isoTpCeilingUs } from './isotp-ceiling.js';
import { recordFigure } from './summary.js';

async function cpuCost(): Promise<void> {
  const net = new MemoryCanNetwork('bench-cpu');
  const tx = new IsoTpChannel(net.join(), { txId: 0x7e0, rxId: 0x7e8 });
  const rx = new IsoTpChannel(net.join(), { txId: 0x7e8, rxId: 0x7e0 });
  const msg = new Uint8Array(4095).fill(0x5a);
  for (let i = 0; i < 20; i++) {
    const r = rx.receive(10_000);
    await tx.send(msg);
    await r;
  }
  const frames0 = tx.stats.framesSent + rx.stats.framesSent;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < 400; i++) {
    const r = rx.receive(10_000);
    await tx.send(msg);
    await r;
  }
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - t0) / 1000;
  const frames = tx.stats.framesSent + rx.stats.framesSent - frames0;
  const cpuS = (cpu.user + cpu.system) / 1e6;
  console.log(
    `isotp cpu: ${frames} frames (400 × 4095 B, sender + receiver) in ${cpuS.toFixed(3)} CPU-s / ${wall.toFixed(3)} s wall`,
  );
  console.log(
    `isotp cpu: ${Math.round(frames / cpuS).toLocaleString('en')} frames per CPU-second, ${((cpuS / frames) * 1e6).toFixed(2)} µs CPU per frame`,
  );
  console.log(
    `isotp cpu: a 1 Mbit/s bus (~9,000 frames/s) would cost ${(((9000 * cpuS) / frames) * 100).toFixed(1)} % of a core`,
  );
  tx.close();
  rx.close();
}

async function flashThroughput(
  label: string,
  timing: BitTiming,
  fd: boolean,
  clock: Clock,
  size: number,
  writeUsPerKiB: number,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'can-bench-'));
  const path = join(dir, 'img.bin');
  await writeFirmwareImage(path, size, '2.0.0');
  const rig = makeUdsRig({
    clock,
    fd,
    timing,
    isotp: fd ? { txDataLength: 64 } : {},
    sim: {
      isotp: fd ? { txDataLength: 64 } : {},
      flash: { size: 1 << 24, writeUsPerKiB },
      ...(fd ? { maxBlockLength: 4095 } : {}),
    },
  });
  const source = await FileImageSource.open(path);
  let dlStart = 0;
  let dlEnd = 0;
  try {
    const r = await flashUds({
      client: rig.client,
      image: source,
      memory: { address: 0x0800_0000 },
      security: { level: 1, keyFunction: xorKey() },
      clock,
      onProgress: (p) => {
        if (p.phase === 'download' && p.bytesDone === 0) dlStart = clock.now();
        if (p.phase === 'download' && p.bytesDone === p.bytesTotal) dlEnd = clock.now();
      },
    });
    const elapsedUs = dlEnd - dlStart;
    const wireUs = isoTpCeilingUs(size, 4093, timing, fd);
    // Programming time the ECU spends before each positive response: nothing else can use the wire meanwhile.
    const programUs = (size / 1024) * writeUsPerKiB;
    const ceil = wireUs + programUs;
    const kBs = size / 1000 / (elapsedUs / 1e6);
    const what = programUs > 0 ? 'ISO-TP payload ceiling + ECU programming time' : 'ISO-TP payload ceiling';
    recordFigure({
      name: `uds ${label}: fraction of the ${what}`,
      value: ceil / elapsedUs,
      ...(fd && programUs === 0 && { goal: 0.9 }),
      better: 'higher',
      unit: 'ratio',
    });
    console.log(
      `flash ${label}, ECU programs ${writeUsPerKiB / 1000} ms/KiB: ${size / 1024} KiB download in ${(elapsedUs / 1e6).toFixed(2)} s (${kBs.toFixed(1)} kB/s), ceiling ${(size / 1000 / (ceil / 1e6)).toFixed(1)} kB/s → ${((ceil / elapsedUs) * 100).toFixed(1)} % of the ${what}; ${((wireUs / elapsedUs) * 100).toFixed(1)} % of the wire-only ceiling (${r.blocks} blocks, wire ${rig.network!.stats.frames} frames)`,
    );
  } finally {
    await source.close();
    await rig.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function memory(): Promise<void> {
  for (const size of [1 << 20, 8 << 20]) {
    const dir = await mkdtemp(join(tmpdir(), 'can-mem-'));
    const path = join(dir, 'img.bin');
    await writeFirmwareImage(path, size, '2.0.0');
    global.gc?.();
    const before = process.memoryUsage();
    let peakHeap = before.heapUsed;
    let peakRss = before.rss;
    const rig = makeUdsRig({ sim: { flash: { size: 16 << 20 } } });
    const source = await FileImageSource.open(path);
    try {
      await flashUds({
        client: rig.client,
        image: source,
        memory: { address: 0x0800_0000 },
        security: { level: 1, keyFunction: xorKey() },
        clock: rig.clock,
        onProgress: () => {
          const m = process.memoryUsage();
          peakHeap = Math.max(peakHeap, m.heapUsed);
          peakRss = Math.max(peakRss, m.rss);
        },
      });
    } finally {
      await source.close();
      await rig.close();
      await rm(dir, { recursive: true, force: true });
    }
    console.log(
      `memory ${size >> 20} MiB image: peak heap +${((peakHeap - before.heapUsed) / 1048576).toFixed(1)} MiB, peak rss +${((peakRss - before.rss) / 1048576).toFixed(1)} MiB (includes the simulator's 16 MiB flash array)`,
    );
  }
}

await cpuCost();
for (const [label, timing, fd] of [
  ['classic 500k', BIT_TIMING_PRESETS.classic500k, false],
  ['classic 1M', BIT_TIMING_PRESETS.classic1M, false],
  ['FD 500k/2M', BIT_TIMING_PRESETS.fd500k2M, true],
] as const) {
  // 0: the protocol's own efficiency (the goal figure); 1000: the simulator's default programming time.
  for (const writeUsPerKiB of [0, 1000])
    await flashThroughput(`${label} (virtual clock)`, timing, fd, new VirtualClock(), 256 * 1024, writeUsPerKiB);
}
await flashThroughput('classic 500k (real clock)', BIT_TIMING_PRESETS.classic500k, false, systemClock, 64 * 1024, 1000);
await flashThroughput('classic 1M (real clock)', BIT_TIMING_PRESETS.classic1M, false, systemClock, 64 * 1024, 1000);
await memory();
