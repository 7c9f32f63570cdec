import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferImageSource } from '../../../drivers/shared/image-source.js';
import { flashDfu } from '../../../drivers/usb/dfu/dfu-flasher.js';
import { DfuHost } from '../../../drivers/usb/dfu/dfu-host.js';
import { dfuseDownload, dfuseVerify, parseDfuseMemoryMap } from '../../../drivers/usb/dfu/dfuse.js';
import { DEFAULT_DFUSE_MEMORY } from '../../../hw-fixtures/usb/dfu-sim-options.js';
import { createMemoryDfuRig, testImage } from '../../../hw-fixtures/usb/memory-rig.js';

const BASE = DEFAULT_DFUSE_MEMORY.base;

describe('DfuSe', { timeout: 30_000 }, () => {
  it('parses memory maps (dfu-util dfuse_mem.c notation)', () => {
    const m = parseDfuseMemoryMap('@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg');
    assert.equal(m.length, 12);
    assert.deepEqual(m[0], {
      start: 0x08000000,
      end: 0x08004000,
      pageSize: 0x4000,
      readable: true,
      erasable: true,
      writable: true,
    });
    assert.equal(m[4]!.start, 0x08010000);
    assert.equal(m[4]!.pageSize, 0x10000);
    assert.equal(m[11]!.end, 0x08100000);
    const ro = parseDfuseMemoryMap('@Option Bytes  /0x1FFFF800/01*016 a');
    assert.deepEqual(ro, [
      { start: 0x1ffff800, end: 0x1ffff810, pageSize: 16, readable: true, erasable: false, writable: false },
    ]);
    assert.deepEqual(parseDfuseMemoryMap('Internal Flash'), []);
  });

  it('sets the address, erases the touched pages, writes at the address and reads it back', async () => {
    const rig = createMemoryDfuRig({
      serialNumber: 'SN-SE',
      startInDfuMode: true,
      dfuse: { ...DEFAULT_DFUSE_MEMORY },
      transferSize: 1024,
    });
    const host = await DfuHost.open(rig.device.current!, { alt: 0 }, rig.hostOptions);
    assert.equal(host.dfuse, true);
    const img = testImage(5000);
    const address = BASE + 3 * 2048 + 512; // mid-page start: pages 3..5 touched
    const r = await dfuseDownload(host, new BufferImageSource(img), { address, leave: false });
    const flash = rig.device.model.flash!;
    assert.equal(r.erasedPages, 3);
    assert.equal(flash.erases, 3);
    assert.deepEqual(flash.data.subarray(address - BASE, address - BASE + img.length), img);
    assert.equal(flash.data[address - BASE - 1], 0xff, 'erased, not written, before the image');
    assert.equal(flash.data[3 * 2048 - 1], 0x00, 'page 2 untouched');
    await dfuseVerify(host, new BufferImageSource(img), address);
    await host.close();
  });

  it('flashes a DfuSe device end to end: erase, write, verify, leave into the application', async () => {
    const rig = createMemoryDfuRig({ serialNumber: 'SN-SF', dfuse: { ...DEFAULT_DFUSE_MEMORY }, transferSize: 2048 });
    const img = testImage(20_000, 0x0410);
    const r = await flashDfu(
      rig.bus,
      { target: { serialNumber: 'SN-SF' }, image: new BufferImageSource(img), dfuseAddress: BASE },
      rig.hostOptions,
    );
    assert.equal(r.dfuse, true);
    assert.equal(r.verified, true);
    assert.equal(r.after?.bcdDevice, 0x0410);
    assert.equal(rig.device.model.mode, 'runtime');
  });

  it('refuses an address range outside the memory map', async () => {
    const rig = createMemoryDfuRig({ serialNumber: 'SN-SG', startInDfuMode: true, dfuse: { ...DEFAULT_DFUSE_MEMORY } });
    const host = await DfuHost.open(rig.device.current!, { alt: 0 }, rig.hostOptions);
    const end = BASE + DEFAULT_DFUSE_MEMORY.pages * DEFAULT_DFUSE_MEMORY.pageSize;
    await assert.rejects(dfuseDownload(host, new BufferImageSource(testImage(4096)), { address: end - 1024 }), {
      code: 'DFU_ADDRESS_RANGE',
    });
    const ro = await DfuHost.open(rig.device.current!, { alt: 1 }, rig.hostOptions);
    await assert.rejects(dfuseDownload(ro, new BufferImageSource(testImage(8)), { address: 0x1ffff800 }), {
      code: 'DFU_ADDRESS_RANGE',
    });
  });

  it('writing over programmed flash without erase is errCHECK_ERASED from the device', async () => {
    const rig = createMemoryDfuRig(
      { serialNumber: 'SN-SH', startInDfuMode: true, dfuse: { ...DEFAULT_DFUSE_MEMORY } },
      { attempts: { restarts: 0 } },
    );
    const host = await DfuHost.open(rig.device.current!, { alt: 0 }, rig.hostOptions);
    await host.dnload(0, Uint8Array.of(0x21, ...[BASE & 0xff, (BASE >>> 8) & 0xff, (BASE >>> 16) & 0xff, BASE >>> 24]));
    await host.pollUntil((s) => s.stateName === 'dfuDNLOAD_IDLE', 1000, 'set address');
    await host.dnload(2, new Uint8Array(16));
    await assert.rejects(
      host.pollUntil((s) => s.stateName === 'dfuDNLOAD_IDLE', 1000, 'write'),
      (e: Error & { details?: Record<string, unknown> }) => e.details?.statusName === 'errCHECK_ERASED',
    );
  });
});
