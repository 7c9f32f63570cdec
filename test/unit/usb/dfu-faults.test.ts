import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { BufferImageSource } from '../../../drivers/shared/image-source.js';
import { DfuStatus, type DfuStatusName } from '../../../drivers/usb/dfu/constants.js';
import { flashDfu } from '../../../drivers/usb/dfu/dfu-flasher.js';
import { createMemoryDfuRig, testImage } from '../../../hw-fixtures/usb/memory-rig.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const STATUSES = (Object.keys(DfuStatus) as DfuStatusName[]).filter((s) => s !== 'OK');

describe('DFU faults on the in-process device: recovery or a clear error, never a hang', { timeout: 60_000 }, () => {
  for (const status of STATUSES) {
    it(`recovers from a one-off dfuERROR/${status} by CLRSTATUS and a restart from block 0`, async () => {
      const rig = createMemoryDfuRig({ serialNumber: 'SN-F', faults: { errorAfterBlock: { block: 3, status } } });
      const img = testImage(256 * 8);
      const r = await flashDfu(
        rig.bus,
        { target: { serialNumber: 'SN-F' }, image: new BufferImageSource(img) },
        rig.hostOptions,
      );
      assert.equal(r.restarts, 1);
      assert.equal(rig.device.model.stats.requests.CLRSTATUS, 1);
      assert.equal(rig.device.model.imageSha256(), sha(img));
    });

    it(`fails with DFU_STATUS_ERROR naming ${status} when the error persists`, async () => {
      const rig = createMemoryDfuRig({
        serialNumber: 'SN-G',
        faults: { errorAfterBlock: { block: 1, status, times: 99 } },
      });
      await assert.rejects(
        flashDfu(
          rig.bus,
          { target: { serialNumber: 'SN-G' }, image: new BufferImageSource(testImage(256 * 4)) },
          rig.hostOptions,
        ),
        (e: Error & { code?: string; details?: Record<string, unknown> }) => {
          assert.equal(e.code, 'DFU_STATUS_ERROR');
          assert.equal(e.details?.statusName, status);
          assert.equal(e.details?.stateName, 'dfuERROR');
          assert.equal(e.details?.block, 1);
          return true;
        },
      );
      assert.equal(rig.device.model.stats.requests.CLRSTATUS, 3, 'initial attempt + 2 restarts, each cleared');
    });
  }

  it('recovers from a stalled GETSTATUS (errSTALLEDPKT) once, fails after attempts.restarts when it keeps stalling', async () => {
    const ok = createMemoryDfuRig({ serialNumber: 'SN-S', faults: { stallAfterBlock: { block: 2 } } });
    const img = testImage(256 * 5);
    const r = await flashDfu(
      ok.bus,
      { target: { serialNumber: 'SN-S' }, image: new BufferImageSource(img) },
      ok.hostOptions,
    );
    assert.equal(r.restarts, 1);
    assert.equal(ok.device.model.imageSha256(), sha(img));
    const bad = createMemoryDfuRig({ serialNumber: 'SN-T', faults: { stallAfterBlock: { block: 0, times: 99 } } });
    await assert.rejects(
      flashDfu(
        bad.bus,
        { target: { serialNumber: 'SN-T' }, image: new BufferImageSource(img) },
        { ...bad.hostOptions, attempts: { restarts: 1 } },
      ),
      { code: 'USB_STALL' },
    );
  });

  it('reports USB_DISCONNECTED when the device vanishes mid-download', async () => {
    const rig = createMemoryDfuRig({ serialNumber: 'SN-V', faults: { disconnectAfterBlock: 5 } });
    await assert.rejects(
      flashDfu(
        rig.bus,
        { target: { serialNumber: 'SN-V' }, image: new BufferImageSource(testImage(256 * 20)) },
        rig.hostOptions,
      ),
      { code: 'USB_DISCONNECTED' },
    );
    assert.equal(rig.device.model.stats.blocks, 6);
    assert.equal(rig.device.model.stats.manifests, 0);
  });

  it('on abort stops between blocks, sends DFU_ABORT and rejects with CANCELLED', async () => {
    const rig = createMemoryDfuRig({ serialNumber: 'SN-X', pollTimeoutMs: 2 });
    const ac = new AbortController();
    const p = flashDfu(
      rig.bus,
      {
        target: { serialNumber: 'SN-X' },
        image: new BufferImageSource(testImage(256 * 40)),
        signal: ac.signal,
        onProgress: (pr) => {
          if (pr.bytesDone >= 256 * 10) ac.abort(new Error('user cancel'));
        },
      },
      rig.hostOptions,
    );
    await assert.rejects(p, { code: 'CANCELLED' });
    const m = rig.device.model;
    assert.equal(m.stats.requests.ABORT, 1);
    assert.ok(m.stats.blocks < 40);
    assert.equal(m.describe(), 'dfu dfuIDLE');
    assert.equal(m.stats.manifests, 0);
  });

  it('reports DFU_BUSY_TIMEOUT when a block stays dfuDNBUSY past timeouts.busyMs', async () => {
    const rig = createMemoryDfuRig({ serialNumber: 'SN-Y', pollTimeoutMs: 10, writeTimeMs: 1_000_000 });
    await assert.rejects(
      flashDfu(
        rig.bus,
        { target: { serialNumber: 'SN-Y' }, image: new BufferImageSource(testImage(512)) },
        { ...rig.hostOptions, timeouts: { busyMs: 500 } },
      ),
      { code: 'DFU_BUSY_TIMEOUT' },
    );
  });
});
