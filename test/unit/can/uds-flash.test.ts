import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferImageSource } from '../../../drivers/shared/image-source.js';
import { flashUds, type UdsFlashProgress } from '../../../drivers/can/uds/flash-session.js';
import { crc32 } from '../../../drivers/can/uds/crc32.js';
import { makeFirmwareImage } from '../../../hw-fixtures/can/firmware-image.js';
import { makeUdsRig, xorKey } from '../../../hw-fixtures/can/uds-rig.js';

const ADDRESS = 0x0800_0000;

test(
  'flashes an image through session, security, erase, download, check, reset and reads the new version',
  { timeout: 60_000 },
  async () => {
    const rig = makeUdsRig({ sim: { identity: { version: '1.0.0' } } });
    try {
      const img = makeFirmwareImage(64 * 1024, '2.0.0');
      const progress: UdsFlashProgress[] = [];
      const r = await flashUds({
        client: rig.client,
        image: new BufferImageSource(img),
        memory: { address: ADDRESS },
        security: { level: 1, keyFunction: xorKey() },
        expectedVersion: '2.0.0',
        clock: rig.clock,
        onProgress: (p) => progress.push(p),
      });
      assert.equal(r.version, '2.0.0');
      assert.equal(r.crc32, crc32(img));
      assert.equal(r.blocks, Math.ceil(img.length / 4093), 'maxNumberOfBlockLength 4095 → 4093 data bytes per block');
      assert.deepEqual(Buffer.from(rig.sim.flash.read(ADDRESS, img.length)), Buffer.from(img), 'flash holds the image');
      const sids = rig.sim.requests.map((q) => q[0]);
      assert.deepEqual(
        [...new Set(sids)],
        [0x10, 0x27, 0x31, 0x34, 0x36, 0x37, 0x11, 0x3e, 0x22],
        'services in the programming order',
      );
      assert.equal(progress.at(-1)!.phase, 'verify');
      const dl = progress.filter((p) => p.phase === 'download');
      assert.equal(dl.at(-1)!.bytesDone, img.length);
      assert.ok(
        dl.every((p, i) => i === 0 || p.bytesDone > dl[i - 1]!.bytesDone),
        'download progress grows',
      );
      assert.ok(rig.sim.faultCounters.pendingSent > 0, 'the erase was answered with NRC 0x78 first');
    } finally {
      await rig.close();
    }
  },
);
