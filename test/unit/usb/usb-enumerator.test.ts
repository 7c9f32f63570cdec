import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { getMemoryUsbBus, MemoryUsbBus } from '../../../drivers/usb/memory-usb-bus.js';
import { builtinEnumerators } from '../../../enumerators/builtin-enumerators.js';
import { resolveUsbEnumeratorConfig } from '../../../enumerators/usb/usb-config.js';
import { UsbEnumerator } from '../../../enumerators/usb/usb-enumerator.js';
import { MemoryDfuDevice } from '../../../hw-fixtures/usb/memory-dfu-device.js';

const log = pino({ level: 'silent' });
const RULES = [
  {
    match: { vid: '1209', pid: '0001', dfuPid: 'df11', serialPattern: '^SN-' },
    component: { group: 'dfu-sensors', model: 'dfu-1' },
  },
];

describe('usb enumerator', { timeout: 10_000 }, () => {
  it('maps matching devices to components with descriptor strings, DFU interfaces and bcdDevice as version', async () => {
    const bus = new MemoryUsbBus();
    new MemoryDfuDevice(
      bus,
      { serialNumber: 'SN-1', version: 0x0102, manufacturer: 'Contoso', product: 'Thermo' },
      { portPath: '1-1' },
    );
    new MemoryDfuDevice(bus, { serialNumber: 'OTHER-2' }, { portPath: '1-2' }); // serial pattern does not match
    new MemoryDfuDevice(bus, { serialNumber: 'SN-3', vid: 0x0483 }, { portPath: '1-3' }); // other VID
    const e = new UsbEnumerator(resolveUsbEnumeratorConfig({ rules: RULES }), log, bus);
    const list = await e.getAllComponents();
    assert.equal(list.length, 1);
    const c = list[0]!;
    assert.equal(c.id, 'usb:1209:SN-1');
    assert.equal(c.name, 'SN-1');
    assert.equal(c.group, 'dfu-sensors');
    assert.equal(c.manufacturer, 'Contoso');
    assert.equal(c.model, 'dfu-1');
    assert.equal(c.version, '1.02');
    assert.equal(c.properties.serialNumber, 'SN-1');
    assert.equal(c.properties.vid, 0x1209);
    assert.equal(c.properties.pid, 0x0001);
    assert.equal(c.properties.dfuMode, 'runtime');
    assert.equal(c.properties.portPath, '1-1');
    assert.deepEqual(c.properties.dfuInterfaces, [
      {
        interface: 0,
        alt: 0,
        mode: 'runtime',
        transferSize: 256,
        canDownload: true,
        canUpload: true,
        manifestationTolerant: false,
        willDetach: true,
        dfuse: false,
      },
    ]);
  });

  it('a device seen in run-time mode and in DFU mode is one component (keyed by serial)', async () => {
    const bus = new MemoryUsbBus();
    new MemoryDfuDevice(bus, { serialNumber: 'SN-9', version: 0x0200 }, { portPath: '1-1' });
    new MemoryDfuDevice(
      bus,
      { serialNumber: 'SN-9', startInDfuMode: true, dfuse: { base: 0x08000000, pageSize: 2048, pages: 8 } },
      { portPath: '1-1' },
    );
    const stuck = new MemoryDfuDevice(bus, { serialNumber: 'SN-7', startInDfuMode: true }, { portPath: '1-4' });
    const list = await new UsbEnumerator(resolveUsbEnumeratorConfig({ rules: RULES }), log, bus).getAllComponents();
    assert.equal(list.length, 2);
    const both = list.find((c) => c.properties.serialNumber === 'SN-9')!;
    assert.equal(both.properties.dfuMode, 'runtime');
    assert.equal(both.properties.dfuPid, 0xdf11);
    assert.equal(both.version, '2.00');
    assert.deepEqual(
      (both.properties.dfuInterfaces as { mode: string; alt: number }[]).map((i) => `${i.mode}/${i.alt}`),
      ['runtime/0', 'dfu/0', 'dfu/1'],
    );
    const dfuOnly = list.find((c) => c.properties.serialNumber === 'SN-7')!;
    assert.equal(dfuOnly.properties.dfuMode, 'dfu');
    assert.equal(dfuOnly.properties.pid, 0x0001, 'run-time PID from the rule while the device sits in DFU mode');
    assert.equal(dfuOnly.version, undefined);
    assert.equal(stuck.model.mode, 'dfu');
  });

  it('validates its config entry naming the field; registered as "usb" with backend "memory"', async () => {
    assert.throws(
      () => resolveUsbEnumeratorConfig({ rules: [{ match: { pid: '0001' }, component: { group: 'g' } }] }),
      /rules\[0\]\.match\.vid is required/,
    );
    assert.throws(
      () => resolveUsbEnumeratorConfig({ rules: [{ match: { vid: '12' }, component: { group: 'g' } }] }),
      /rules\[0\]\.match\.vid must be 4 hex digits/,
    );
    assert.throws(
      () => resolveUsbEnumeratorConfig({ rules: [{ match: { vid: '1209' }, component: {} }] }),
      /component\.group is required/,
    );
    assert.throws(
      () => resolveUsbEnumeratorConfig({ backend: 'x', rules: [] }),
      /backend must be one of auto, usbfs, usb, memory/,
    );
    assert.throws(() => resolveUsbEnumeratorConfig({}), /rules must be an array/);
    new MemoryDfuDevice(getMemoryUsbBus('unit-usb-enum'), { serialNumber: 'SN-R' });
    const e = builtinEnumerators['usb']!(
      { backend: 'memory', memoryBus: 'unit-usb-enum', rules: RULES },
      { log, baseDir: '.' },
    );
    assert.equal(e.type, 'usb');
    assert.deepEqual(
      (await e.getAllComponents()).map((c) => c.id),
      ['usb:1209:SN-R'],
    );
  });
});
