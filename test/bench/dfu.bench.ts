/**
 * DFU flash throughput: time to flash 1 MiB into the DFU simulator, our host against dfu-util on
 * the same device in the same run, and effective bytes/s against the wTransferSize/bwPollTimeout
 * ceiling (reference/bus-protocols.md §3.6: per block t ≥ bwPollTimeout, so the ceiling is
 * wTransferSize / bwPollTimeout; control transfer time comes on top). Prints figures; asserts
 * nothing about speed.
 *
 *  - With the gadget rig here (root, dummy_hcd, gadgetfs: the qemu guest): gadgetfs device through
 *    the real `usb` package, dfu-util 0.11 on the same gadget settings. Both start with the device
 *    already in DFU mode (dfu-util's fixed 5 s detach delay would otherwise dominate) and end after
 *    manifestation (no UPLOAD read-back for either).
 *  - Without it, when `hw-fixtures/vm/vm-run.sh` can boot the guest: this file re-runs itself there.
 *  - Otherwise (or with SP_BENCH_NO_VM=1): in-process device figures only.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BufferImageSource, FileImageSource } from '../../drivers/shared/image-source.js';
import { flashDfu } from '../../drivers/usb/dfu/dfu-flasher.js';
import { DfuHost } from '../../drivers/usb/dfu/dfu-host.js';
import { DfuState } from '../../drivers/usb/dfu/constants.js';
import { waitForDevice } from '../../drivers/usb/find-device.js';
import { delay } from '../../drivers/shared/deadline.js';
import { MemoryUsbBus } from '../../drivers/usb/memory-usb-bus.js';
import { WebUsbBackend } from '../../drivers/usb/webusb-backend.js';
import { ensureUdevd, gadgetRigMissing, GadgetProcess, pinToGadgetCpu } from '../../hw-fixtures/usb/gadget-rig.js';
import { MemoryDfuDevice } from '../../hw-fixtures/usb/memory-dfu-device.js';
import { testImage } from '../../hw-fixtures/usb/memory-rig.js';
import { recordFigure } from './summary.js';

const MIB = 1024 * 1024;
const run = promisify(execFile);
const kbps = (bytes: number, ms: number) => `${(((bytes / ms) * 1000) / 1024).toFixed(1)} KiB/s`;
const ceiling = (t: number, pollMs: number) => (pollMs > 0 ? kbps(t, pollMs) : 'unbounded (bwPollTimeout 0)');

async function inProcess(): Promise<void> {
  console.log('in-process device (real clock, flash write time = bwPollTimeout):');
  for (const [t, poll] of [
    [256, 1],
    [1024, 1],
    [4096, 2],
    [4096, 0],
  ] as const) {
    const bus = new MemoryUsbBus();
    new MemoryDfuDevice(bus, {
      serialNumber: 'BENCH',
      startInDfuMode: true,
      transferSize: t,
      pollTimeoutMs: poll,
      manifestTimeMs: 1,
      reenumerateDelayMs: 0,
    });
    const img = testImage(MIB);
    const t0 = performance.now();
    await flashDfu(bus, {
      target: { serialNumber: 'BENCH' },
      image: new BufferImageSource(img),
      reset: false,
      verify: 'never',
    });
    const ms = performance.now() - t0;
    console.log(
      `  wTransferSize ${String(t).padStart(4)}, bwPollTimeout ${poll} ms: 1 MiB in ${ms.toFixed(0)} ms = ${kbps(MIB, ms)} (ceiling ${ceiling(t, poll)})`,
    );
  }
}

async function gadget(): Promise<void> {
  ensureUdevd();
  // Host and gadget share CPU 0 (gadget-rig.ts): with the host on CPU 1 the OUT-data race of
  // reference §7 hit within seconds (GETSTATUS failed with EPROTO after an aborted setup).
  pinToGadgetCpu(0);
  const dir = mkdtempSync(join(tmpdir(), 'dfu-bench-'));
  const path = join(dir, 'fw.bin');
  writeFileSync(path, testImage(MIB, 0x0201));
  const T = 256; // Debian 6.1 gadgets cap control transfers at 256 bytes (reference §7)
  for (const poll of [1, 5]) {
    const sim = { startInDfuMode: true, transferSize: T, pollTimeoutMs: poll };
    let g = await GadgetProcess.start({ ...sim, serialNumber: 'BENCH-DU' }, { timeoutMs: 120_000 });
    await new Promise((r) => setTimeout(r, 3000)); // host enumeration (udev) before dfu-util looks
    let t0 = performance.now();
    const du = await run('taskset', ['-c', '0', 'dfu-util', '-d', '1209:df11', '-S', 'BENCH-DU', '-D', path], {
      timeout: 600_000,
    }).catch((e: { stdout?: string }) => e);
    const duMs = performance.now() - t0;
    const ok = /Done!/.test(String(du.stdout));
    await g.stop();
    g = await GadgetProcess.start({ ...sim, serialNumber: 'BENCH-H' }, { timeoutMs: 120_000 });
    const src = await FileImageSource.open(path);
    t0 = performance.now();
    await flashDfu(
      new WebUsbBackend(),
      { target: { serialNumber: 'BENCH-H' }, image: src, reset: false, verify: 'never' },
      { timeouts: { reenumerateMs: 60_000, scanIntervalMs: 200 } },
    ).catch((e: unknown) => {
      console.log(`our host failed; gadget events ${JSON.stringify(g.events.slice(-5))}; gadget stderr ${g.stderr}`);
      throw e;
    });
    const ourMs = performance.now() - t0;
    await src.close();
    const m = await g.waitFor((e) => e.event === 'manifested', 60_000, 'manifested');
    const lost =
      (m.stats as { lostBlocks: number }).lostBlocks + g.events.filter((e) => e.event === 'setup-aborted').length;
    await g.stop();
    // The floor of the usb package here: the same three control transfers per block with no DFU
    // logic around them (no polling budget, progress, read-ahead), 256 KiB.
    g = await GadgetProcess.start({ ...sim, serialNumber: 'BENCH-RAW' }, { timeoutMs: 120_000 });
    const dev = await waitForDevice(new WebUsbBackend(), async (d) => d.info.serialNumber === 'BENCH-RAW', 'raw', {
      timeoutMs: 60_000,
      intervalMs: 200,
      sleep: delay,
    });
    const host = await DfuHost.open(dev, {});
    const block = testImage(T);
    t0 = performance.now();
    for (let b = 0; b < 1024; b++) {
      await host.dnload(b, block);
      while ((await host.getStatus()).state !== DfuState.dfuDNLOAD_IDLE);
    }
    const rawMs = ((performance.now() - t0) * MIB) / (1024 * T);
    await host.close();
    await g.stop();
    console.log(`gadgetfs device, wTransferSize ${T}, bwPollTimeout ${poll} ms, 1 MiB:`);
    console.log(
      `  usb package floor: ${rawMs.toFixed(0)} ms = ${kbps(MIB, rawMs)} (bare DNLOAD + GETSTATUS loop, no sleeps, scaled from 256 KiB)`,
    );
    console.log(
      `  dfu-util 0.11: ${duMs.toFixed(0)} ms = ${kbps(MIB, duMs)}${ok ? '' : ' (did not report Done!)'} (process start to exit)`,
    );
    console.log(
      `  our host:      ${ourMs.toFixed(0)} ms = ${kbps(MIB, ourMs)} (find to manifestation; ${lost} blocks lost)`,
    );
    console.log(`  ratio ours/dfu-util: ${(ourMs / duMs).toFixed(2)}; ceiling ${ceiling(T, poll)}`);
    recordFigure({
      name: `dfu gadget 1 MiB: time ours/dfu-util`,
      value: ourMs / duMs,
      goal: 1,
      better: 'lower',
      unit: 'x',
    });
  }
}

const missing = gadgetRigMissing();
if (!missing) {
  await gadget();
} else if (!process.env['SP_IN_VM'] && !process.env['SP_BENCH_NO_VM']) {
  await inProcess();
  const root = fileURLToPath(new URL('../../..', import.meta.url));
  console.log(`gadget rig: ${missing}; booting the qemu guest for the gadget figures`);
  const r = spawnSync(
    'bash',
    [
      'hw-fixtures/vm/vm-run.sh',
      '--modules',
      'dummy_hcd gadgetfs',
      '--cwd',
      root,
      '--timeout',
      '900',
      '--env',
      'SP_BENCH_NO_VM=1',
      '--',
      process.execPath,
      fileURLToPath(import.meta.url),
    ],
    { cwd: root, stdio: 'inherit' },
  );
  if (r.status === 77) console.log('gadget figures skipped: the vm rig is missing (scripts/install-system-deps.sh)');
} else {
  await inProcess();
}
