import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BufferImageSource, FileImageSource } from '../../../drivers/shared/image-source.js';
import { checkSuffixMatches, readDfuSuffix, withDfuSuffix } from '../../../drivers/usb/dfu/dfu-suffix.js';
import { flashDfu } from '../../../drivers/usb/dfu/dfu-flasher.js';
import { createMemoryDfuRig, testImage } from '../../../hw-fixtures/usb/memory-rig.js';

const hasDfuSuffix = (() => {
  try {
    execFileSync('dfu-suffix', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('.dfu suffix', { timeout: 30_000 }, () => {
  it('reads IDs and checks the CRC (no final XOR) of a suffix we wrote', async () => {
    const file = withDfuSuffix(testImage(1000), { vendorId: 0x1209, productId: 0x0001, bcdDevice: 0x0200 });
    const s = await readDfuSuffix(new BufferImageSource(file));
    assert.deepEqual(
      { v: s?.idVendor, p: s?.idProduct, d: s?.bcdDevice, len: s?.length, size: s?.payloadSize },
      { v: 0x1209, p: 1, d: 0x0200, len: 16, size: 1000 },
    );
  });

  it(
    "accepts a file suffixed by dfu-util's dfu-suffix (independent implementation)",
    { skip: hasDfuSuffix ? false : 'dfu-suffix (Debian dfu-util) not installed' },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'dfu-suffix-'));
      const path = join(dir, 'fw.dfu');
      writeFileSync(path, testImage(70_000));
      execFileSync('dfu-suffix', ['-v', '1209', '-p', 'abcd', '-d', '0102', '-a', path], { stdio: 'ignore' });
      const img = await FileImageSource.open(path);
      try {
        const s = await readDfuSuffix(img);
        assert.equal(s?.idProduct, 0xabcd);
        assert.equal(s?.bcdDevice, 0x0102);
        assert.equal(s?.payloadSize, 70_000);
        const ours = withDfuSuffix(testImage(70_000), { vendorId: 0x1209, productId: 0xabcd, bcdDevice: 0x0102 });
        assert.deepEqual(
          new Uint8Array(readFileSync(path)).subarray(-4),
          ours.subarray(-4),
          'same dwCRC as dfu-suffix',
        );
      } finally {
        await img.close();
      }
    },
  );

  it('rejects a wrong CRC with DFU_FILE_CRC', async () => {
    const file = withDfuSuffix(testImage(1000), { vendorId: 0x1209, productId: 0x0001 });
    file[10] ^= 0xff;
    await assert.rejects(readDfuSuffix(new BufferImageSource(file)), { code: 'DFU_FILE_CRC' });
  });

  it('returns undefined without a UFD signature; matches wildcard IDs; rejects foreign VID/PID', async () => {
    assert.equal(await readDfuSuffix(new BufferImageSource(testImage(100))), undefined);
    const s = (await readDfuSuffix(
      new BufferImageSource(withDfuSuffix(testImage(10), { vendorId: 0xffff, productId: 0xffff })),
    ))!;
    checkSuffixMatches(s, [{ vendorId: 1, productId: 2 }]);
    const t = (await readDfuSuffix(
      new BufferImageSource(withDfuSuffix(testImage(10), { vendorId: 0x0483, productId: 0xdf11 })),
    ))!;
    assert.throws(() => checkSuffixMatches(t, [{ vendorId: 0x1209, productId: 1 }]), { code: 'DFU_FILE_MISMATCH' });
  });

  it('flashDfu strips the suffix, and refuses a wrong CRC or VID/PID before touching the device', async () => {
    const rig = createMemoryDfuRig({ serialNumber: 'SN-SUF' });
    const payload = testImage(3000, 0x0500);
    const r = await flashDfu(
      rig.bus,
      {
        target: { serialNumber: 'SN-SUF' },
        image: new BufferImageSource(withDfuSuffix(payload, { vendorId: 0x1209, productId: 0x0001 })),
      },
      rig.hostOptions,
    );
    assert.equal(r.bytes, 3000);
    assert.equal(rig.device.model.image.length, 3000);
    const bad = withDfuSuffix(payload, { vendorId: 0x1209, productId: 0x0001 });
    bad[100] ^= 1;
    const rig2 = createMemoryDfuRig({ serialNumber: 'SN-SUF2' });
    await assert.rejects(
      flashDfu(rig2.bus, { target: { serialNumber: 'SN-SUF2' }, image: new BufferImageSource(bad) }, rig2.hostOptions),
      { code: 'DFU_FILE_CRC' },
    );
    await assert.rejects(
      flashDfu(
        rig2.bus,
        {
          target: { serialNumber: 'SN-SUF2' },
          image: new BufferImageSource(withDfuSuffix(payload, { vendorId: 0x0483, productId: 0xdf11 })),
        },
        rig2.hostOptions,
      ),
      { code: 'DFU_FILE_MISMATCH' },
    );
    assert.equal(rig2.device.model.stats.requests.DETACH, undefined, 'nothing sent to the device');
    assert.equal(rig2.device.model.stats.blocks, 0);
  });
});
