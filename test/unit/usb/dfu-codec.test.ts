import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BufferImageSource, type ImageSource } from '../../../drivers/shared/image-source.js';
import {
  decodeStringDescriptor,
  formatBcd,
  parseConfigDescriptor,
  parseDeviceDescriptor,
} from '../../../drivers/usb/descriptors.js';
import { dfuStateName, dfuStatusName, DfuStatus } from '../../../drivers/usb/dfu/constants.js';
import { resolveDfuHostOptions } from '../../../drivers/usb/dfu/dfu-options.js';
import { dfuSetup, parseStatus } from '../../../drivers/usb/dfu/dfu-requests.js';
import {
  encodeFunctionalDescriptor,
  findDfuInterfaces,
  parseFunctionalDescriptor,
} from '../../../drivers/usb/dfu/functional-descriptor.js';
import { ReadAheadSource } from '../../../drivers/usb/dfu/read-ahead.js';
import { configDescriptor, deviceDescriptor, stringDescriptor } from '../../../hw-fixtures/usb/dfu-sim-descriptors.js';
import { resolveDfuSimOptions } from '../../../hw-fixtures/usb/dfu-sim-options.js';

describe('DFU codecs', () => {
  it('decodes GETSTATUS (bwPollTimeout 24-bit LE) and names states and statuses', () => {
    const r = parseStatus(Uint8Array.of(0x03, 0x10, 0x27, 0x01, 0x0a, 0x00))!;
    assert.deepEqual(r, {
      status: 3,
      statusName: 'errWRITE',
      pollTimeoutMs: 0x012710,
      state: 10,
      stateName: 'dfuERROR',
      iString: 0,
    });
    assert.equal(parseStatus(Uint8Array.of(0, 0, 0)), undefined);
    assert.equal(dfuStatusName(DfuStatus.errSTALLEDPKT), 'errSTALLEDPKT');
    assert.equal(dfuStateName(0x42), 'state(0x42)');
    assert.deepEqual(dfuSetup(1, 2, 7), {
      requestType: 'class',
      recipient: 'interface',
      request: 1,
      value: 7,
      index: 2,
    });
  });

  it('functional descriptor round trip; the reference dump from the guest parses (bus-protocols §3.4)', () => {
    const f = {
      canDownload: true,
      canUpload: false,
      manifestationTolerant: true,
      willDetach: true,
      detachTimeoutMs: 255,
      transferSize: 2048,
      bcdDfuVersion: 0x011a,
    };
    assert.deepEqual(parseFunctionalDescriptor(encodeFunctionalDescriptor(f)), f);
    // "…0904000000fe010204 09210bff0000081a01": interface fe/01/02 + functional descriptor
    const cfg = Uint8Array.from(Buffer.from('09021b000101008032' + '0904000000fe010204' + '09210bff0000081a01', 'hex'));
    const ifs = findDfuInterfaces(parseConfigDescriptor(cfg)!.interfaces);
    assert.equal(ifs.length, 1);
    assert.equal(ifs[0]!.mode, 'dfu');
    assert.deepEqual(ifs[0]!.functional, {
      canDownload: true,
      canUpload: true,
      manifestationTolerant: false,
      willDetach: true,
      detachTimeoutMs: 255,
      transferSize: 2048,
      bcdDfuVersion: 0x011a,
    });
  });

  it('device/config/string descriptors of the simulator parse back; a truncated config does not loop', () => {
    const o = resolveDfuSimOptions({ vid: 0x1209, pid: 0x0001, dfuse: { base: 0x08000000, pageSize: 2048, pages: 4 } });
    const d = parseDeviceDescriptor(deviceDescriptor(o, 'dfu', 0x0123))!;
    assert.deepEqual([d.idVendor, d.idProduct, d.bcdDevice, d.iSerialNumber], [0x1209, 0xdf11, 0x0123, 3]);
    const c = parseConfigDescriptor(configDescriptor(o, 'dfu'))!;
    assert.deepEqual(
      c.interfaces.map((i) => [i.bAlternateSetting, i.bInterfaceProtocol]),
      [
        [0, 2],
        [1, 2],
      ],
    );
    assert.equal(parseConfigDescriptor(configDescriptor(o, 'dfu').subarray(0, 14))!.interfaces.length, 0);
    assert.equal(decodeStringDescriptor(stringDescriptor('SN-ü', 3)!), 'SN-ü');
    assert.equal(formatBcd(0x0210), '2.10');
  });

  it('host options: defaults merge, out-of-range values are DFU_INVALID_OPTIONS naming the field', () => {
    assert.equal(resolveDfuHostOptions({ timeouts: { busyMs: 5 } }).timeouts.controlMs, 5000);
    assert.throws(() => resolveDfuHostOptions({ timeouts: { controlMs: 0 } }), {
      code: 'DFU_INVALID_OPTIONS',
      details: { field: 'timeouts.controlMs' },
    });
    assert.throws(() => resolveDfuHostOptions({ transferSize: 70000 }), {
      code: 'DFU_INVALID_OPTIONS',
      details: { field: 'transferSize' },
    });
    assert.throws(() => resolveDfuHostOptions({ attempts: { restarts: -1 } }), { code: 'DFU_INVALID_OPTIONS' });
  });

  it('read-ahead serves small reads from one window per 64 KiB', async () => {
    const data = Uint8Array.from({ length: 200_000 }, (_, i) => i & 0xff);
    const reads: number[] = [];
    const inner: ImageSource = {
      size: data.length,
      readAt: async (o, l) => (reads.push(o), new BufferImageSource(data).readAt(o, l)),
      close: async () => undefined,
    };
    const ra = new ReadAheadSource(inner);
    const out: number[] = [];
    for (let o = 0; o < data.length; o += 256) out.push(...(await ra.readAt(o, 256)));
    assert.deepEqual(Uint8Array.from(out), data);
    assert.deepEqual(reads, [0, 65536, 131072, 196608]);
  });
});
