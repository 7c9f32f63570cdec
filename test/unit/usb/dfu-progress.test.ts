import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferImageSource } from '../../../drivers/shared/image-source.js';
import { DfuHost } from '../../../drivers/usb/dfu/dfu-host.js';
import { dfuDownload, type DfuProgress } from '../../../drivers/usb/dfu/dfu-download.js';
import {
  PROGRESS_INTERVAL_MS,
  PROGRESS_MIN_BYTES,
  ProgressThrottle,
} from '../../../drivers/usb/dfu/progress-throttle.js';
import { waitForDevice } from '../../../drivers/usb/find-device.js';
import { createMemoryDfuRig, testImage } from '../../../hw-fixtures/usb/memory-rig.js';

describe('DFU progress in steps, not per block', () => {
  it('reports the first block, then every 1 % of the image (at least 4 KiB), and always the last', () => {
    const total = 1024 * 1024;
    const seen: DfuProgress[] = [];
    const p = new ProgressThrottle(
      (x) => seen.push(x),
      'download',
      total,
      () => 0,
    ); // a clock that stands still
    for (let done = 256; done <= total; done += 256) p.update(done);
    assert.equal(seen[0]!.bytesDone, 256);
    assert.deepEqual(seen.at(-1), { phase: 'download', bytesDone: total, bytesTotal: total });
    const step = Math.ceil(total / 100);
    for (let i = 1; i < seen.length - 1; i++)
      assert.ok(seen[i]!.bytesDone - seen[i - 1]!.bytesDone >= step, `step ${i}: ${seen[i]!.bytesDone}`);
    assert.ok(seen.length >= 100 && seen.length <= 102, `${seen.length} reports for 4096 blocks`);

    // A small image: steps of 4 KiB, not 1 %.
    const small: number[] = [];
    const q = new ProgressThrottle(
      (x) => small.push(x.bytesDone),
      'verify',
      64 * 1024,
      () => 0,
    );
    for (let done = 64; done <= 64 * 1024; done += 64) q.update(done);
    assert.deepEqual(small, [
      64,
      ...Array.from({ length: 15 }, (_, i) => 64 + (i + 1) * PROGRESS_MIN_BYTES),
      64 * 1024,
    ]);
  });

  it('reports at least every PROGRESS_INTERVAL_MS when blocks are slow', () => {
    let t = 0;
    const seen: number[] = [];
    const p = new ProgressThrottle(
      (x) => seen.push(x.bytesDone),
      'download',
      1024 * 1024,
      () => t,
    );
    for (let done = 256; done <= 2048; done += 256) {
      p.update(done);
      t += PROGRESS_INTERVAL_MS / 2;
    }
    assert.deepEqual(seen, [256, 768, 1280, 1792]);
  });

  it('a 256 KiB download at 256-byte blocks reports every 4 KiB (65 times, plus one per 200 ms it runs) and ends at the image size; GETSTATUS polls sleep exactly bwPollTimeout', async () => {
    const rig = createMemoryDfuRig({ serialNumber: 'SN-P', startInDfuMode: true, transferSize: 256, pollTimeoutMs: 3 });
    const dev = await waitForDevice(rig.bus, async (d) => d.info.serialNumber === 'SN-P', 'dfu', {
      timeoutMs: 1000,
      intervalMs: 10,
      sleep: rig.hostOptions.sleep!,
    });
    const host = await DfuHost.open(dev, {}, rig.hostOptions);
    const img = testImage(256 * 1024);
    const seen: DfuProgress[] = [];
    const t0 = performance.now();
    const r = await dfuDownload(host, new BufferImageSource(img), { onProgress: (p) => seen.push(p) });
    const byTime = Math.ceil((performance.now() - t0) / PROGRESS_INTERVAL_MS);
    await host.close();
    assert.equal(r.blocks, 1024);
    assert.equal(rig.device.model.stats.blocks, 1024);
    assert.ok(seen.length >= 65 && seen.length <= 65 + byTime, `${seen.length} progress reports (${byTime} by time)`);
    assert.deepEqual(seen.at(-1), { phase: 'download', bytesDone: img.length, bytesTotal: img.length });
    // dfu-util's loop: one bwPollTimeout sleep per dfuDNBUSY answer, nothing else (the fake clock stands still otherwise).
    const blockSleeps = rig.clock.sleeps.filter((s) => s === 3).length;
    assert.ok(blockSleeps >= 1024, `${blockSleeps} sleeps of bwPollTimeout`);
    assert.equal(rig.device.model.stats.earlyPolls, 0, 'no GETSTATUS before bwPollTimeout elapsed');
  });
});
