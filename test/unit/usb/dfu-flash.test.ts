import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { BufferImageSource } from '../../../drivers/shared/image-source.js';
import { flashDfu } from '../../../drivers/usb/dfu/dfu-flasher.js';
import { createMemoryDfuRig, testImage } from '../../../hw-fixtures/usb/memory-rig.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('flashDfu on the in-process DFU device', { timeout: 30_000 }, () => {
  it('detaches, re-enumerates by serial, downloads, verifies by UPLOAD, resets and reports the new bcdDevice', async () => {
    const rig = createMemoryDfuRig({
      serialNumber: 'SN-A',
      manifestationTolerant: true,
      pollTimeoutMs: 3,
      transferSize: 1024,
    });
    const img = testImage(100_000, 0x0203);
    const phases: string[] = [];
    const r = await flashDfu(
      rig.bus,
      { target: { serialNumber: 'SN-A' }, image: new BufferImageSource(img), onPhase: (p) => phases.push(p) },
      rig.hostOptions,
    );
    const m = rig.device.model;
    assert.equal(m.imageSha256(), sha(img));
    assert.equal(r.before.productId, 0x0001);
    assert.equal(r.after?.bcdDevice, 0x0203);
    assert.equal(r.after?.productId, 0x0001);
    assert.equal(r.detached, true);
    assert.equal(r.verified, true);
    assert.deepEqual(phases, ['find', 'detach', 'reenumerate', 'download', 'verify', 'reset', 'reenumerate']);
    assert.equal(m.stats.blocks, Math.ceil(img.length / 1024));
    assert.equal(m.stats.requests.DETACH, 1);
    assert.ok((m.stats.requests.UPLOAD ?? 0) >= Math.ceil(img.length / 1024));
    assert.equal(m.stats.earlyPolls, 0, 'never polls before bwPollTimeout');
    assert.ok(
      rig.clock.sleeps.filter((s) => s === 3).length >= m.stats.blocks,
      'sleeps bwPollTimeout after each block',
    );
    assert.equal(m.mode, 'runtime');
  });

  it('stops in MANIFEST-WAIT-RESET on a non-tolerant device, skips UPLOAD and resets it into the new firmware', async () => {
    const rig = createMemoryDfuRig({ serialNumber: 'SN-B', manifestationTolerant: false });
    const img = testImage(5000, 0x0300);
    const r = await flashDfu(
      rig.bus,
      { target: { serialNumber: 'SN-B' }, image: new BufferImageSource(img) },
      rig.hostOptions,
    );
    assert.equal(r.verified, false);
    assert.equal(r.after?.bcdDevice, 0x0300);
    assert.equal(rig.device.model.stats.requests.UPLOAD, undefined);
  });

  it('honours a transfer size override below wTransferSize', async () => {
    const rig = createMemoryDfuRig({ serialNumber: 'SN-C', transferSize: 256 });
    const img = testImage(1000);
    await flashDfu(
      rig.bus,
      { target: { serialNumber: 'SN-C' }, image: new BufferImageSource(img) },
      { ...rig.hostOptions, transferSize: 100 },
    );
    assert.equal(rig.device.model.stats.blocks, 10);
    assert.equal(rig.device.model.imageSha256(), sha(img));
  });

  it('flashes a device already in DFU mode without detaching', async () => {
    const rig = createMemoryDfuRig({ serialNumber: 'SN-D', startInDfuMode: true });
    const r = await flashDfu(
      rig.bus,
      { target: { serialNumber: 'SN-D' }, image: new BufferImageSource(testImage(3000, 0x0102)) },
      rig.hostOptions,
    );
    assert.equal(r.detached, false);
    assert.equal(rig.device.model.stats.requests.DETACH, undefined);
    assert.equal(r.after?.bcdDevice, 0x0102);
  });

  it('waits for a device that re-enumerates late (wDetachTimeOut-like delay) and fails clearly when it never comes back', async () => {
    const rig = createMemoryDfuRig({ serialNumber: 'SN-E', reenumerateDelayMs: 30 });
    const r = await flashDfu(
      rig.bus,
      { target: { serialNumber: 'SN-E' }, image: new BufferImageSource(testImage(600)) },
      {
        ...rig.hostOptions,
        // fake time for the protocol, plus a real 2 ms per wait so the simulator's 30 ms re-enumeration timer can fire
        sleep: async (ms, signal) => {
          await rig.clock.sleep(ms, signal);
          await new Promise((res) => setTimeout(res, 2));
        },
      },
    );
    assert.equal(r.detached, true);
    const gone = createMemoryDfuRig({ serialNumber: 'SN-F' });
    gone.device.model.onBusAction = () => gone.device.unplug();
    await assert.rejects(
      flashDfu(
        gone.bus,
        { target: { serialNumber: 'SN-F' }, image: new BufferImageSource(testImage(600)) },
        gone.hostOptions,
      ),
      { code: 'DFU_NO_REENUMERATION' },
    );
  });
});
