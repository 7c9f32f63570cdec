import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferImageSource } from '../../../drivers/shared/image-source.js';
import { isBusError } from '../../../drivers/shared/errors.js';
import { flashUds, type UdsFlashProgress } from '../../../drivers/can/uds/flash-session.js';
import { CRC32_INIT, crc32, crc32Final, crc32Update, crc32UpdateTable } from '../../../drivers/can/uds/crc32.js';
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

test(
  'the image is read in 64 KiB windows from the start of the flash, not once per block (issue 16)',
  { timeout: 60_000 },
  async () => {
    const rig = makeUdsRig({ sim: { identity: { version: '1.0.0' } } });
    try {
      const img = makeFirmwareImage(256 * 1024, '2.0.0');
      const inner = new BufferImageSource(img);
      const reads: [number, number][] = [];
      let requestsBeforeFirstRead: number | undefined;
      const r = await flashUds({
        client: rig.client,
        image: {
          size: img.length,
          readAt: (o, l) => {
            requestsBeforeFirstRead ??= rig.sim.requests.length;
            reads.push([o, l]);
            return inner.readAt(o, l);
          },
          close: () => inner.close(),
        },
        memory: { address: ADDRESS },
        security: { level: 1, keyFunction: xorKey() },
        clock: rig.clock,
      });
      assert.equal(r.crc32, crc32(img));
      assert.deepEqual(Buffer.from(rig.sim.flash.read(ADDRESS, img.length)), Buffer.from(img));
      // 4 reads for 65 blocks of 4093 bytes (blocks that straddle two windows are assembled from both).
      assert.deepEqual(reads, [
        [0, 65_536],
        [65_536, 65_536],
        [131_072, 65_536],
        [196_608, 65_536],
      ]);
      assert.equal(requestsBeforeFirstRead, 0, 'the first window is read while the session is opened');
    } finally {
      await rig.close();
    }
  },
);

test('an image source that ends early fails the download with a named error', { timeout: 60_000 }, async () => {
  const rig = makeUdsRig({ sim: { identity: { version: '1.0.0' } } });
  try {
    const img = makeFirmwareImage(100 * 1024, '2.0.0');
    const short = new BufferImageSource(img.subarray(0, 70_000));
    await assert.rejects(
      flashUds({
        client: rig.client,
        image: { size: img.length, readAt: (o, l) => short.readAt(o, l), close: () => short.close() },
        memory: { address: ADDRESS },
        security: { level: 1, keyFunction: xorKey() },
        clock: rig.clock,
        attempts: 1,
      }),
      (e) => isBusError(e, 'UDS_INVALID_REQUEST') && /image ended at 70000 of 102400/.test(e.message),
    );
  } finally {
    await rig.close();
  }
});

test('CRC-32: zlib and the table path agree, incrementally too', () => {
  const data = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 31 + (i >> 7)) & 0xff);
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  let a = CRC32_INIT;
  let b = CRC32_INIT;
  for (let o = 0; o < data.length; o += 4093) {
    a = crc32Update(a, data.subarray(o, o + 4093));
    b = crc32UpdateTable(b, data.subarray(o, o + 4093));
  }
  assert.equal(a, b);
  assert.equal(crc32Final(a), crc32(data));
});
