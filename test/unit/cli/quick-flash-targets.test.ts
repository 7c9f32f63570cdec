import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  isQuickFlash,
  parseCanId,
  parseQuickFlashFlags,
  parseVidPid,
} from '../../../src/cli/quick-flash/target-flags.js';
import { resolveTargets, type TargetEnvironment } from '../../../src/cli/quick-flash/resolve-targets.js';
import { isSensorProxyError } from '../../../src/model/errors.js';
import type { Component } from '../../../src/model/component.js';

const code = (c: string, message?: RegExp) => (e: unknown) =>
  isSensorProxyError(e) && e.code === c && (message === undefined || message.test(e.message));

describe('quick flash flags', () => {
  it('a target or --protocol makes flash a quick flash', () => {
    assert.equal(isQuickFlash({ port: ['/dev/ttyACM0'] }), true);
    assert.equal(isQuickFlash({ protocol: 'smp' }), true);
    assert.equal(isQuickFlash({ files: 'x', json: true }), false);
  });

  it('serial: repeatable --port, --baud and --mtu into handlerProperties, --version as installedCriteria', () => {
    const r = parseQuickFlashFlags('/img', {
      protocol: 'smp',
      port: ['/dev/ttyACM0', '/dev/ttyACM1'],
      baud: '921600',
      mtu: '1024',
      version: ' 1.2.3 ',
    });
    assert.equal(r.protocol, 'smp');
    assert.deepEqual(r.targets, [
      { kind: 'serial', port: '/dev/ttyACM0' },
      { kind: 'serial', port: '/dev/ttyACM1' },
    ]);
    assert.deepEqual(r.handlerProperties, { baudRate: 921600, mtu: 1024, installedCriteria: '1.2.3' });
    assert.equal(r.force, false);
  });

  it('CAN: IFACE:TX:RX or --tx-id/--rx-id, hex as can-utils; uds implied; --address', () => {
    const r = parseQuickFlashFlags('/img', {
      can: ['can0:7E0:7E8', 'can1'],
      'tx-id': '0x7e1',
      'rx-id': '7E9',
      address: '0x08000000',
    });
    assert.equal(r.protocol, 'uds');
    assert.deepEqual(r.targets, [
      { kind: 'can', iface: 'can0', txId: 0x7e0, rxId: 0x7e8 },
      { kind: 'can', iface: 'can1', txId: 0x7e1, rxId: 0x7e9 },
    ]);
    assert.equal(r.handlerProperties.memoryAddress, 0x08000000);
    const mem = parseQuickFlashFlags('/img', { can: ['mem:bench:18DA10F1:18DAF110'] });
    assert.deepEqual(mem.targets[0], { kind: 'can', iface: 'mem:bench', txId: 0x18da10f1, rxId: 0x18daf110 });
    assert.equal(parseCanId('100', '--tx-id'), 0x100);
    assert.throws(() => parseQuickFlashFlags('/img', { can: ['can0'] }), code('CLI_USAGE', /ids are missing/));
    assert.throws(() => parseQuickFlashFlags('/img', { can: ['can0:7E0'] }), code('CLI_USAGE', /IFACE:TX:RX/));
    assert.throws(() => parseQuickFlashFlags('/img', { can: ['../x:1:2'] }), code('CLI_USAGE', /names no interface/));
    assert.throws(() => parseCanId('7G0', '--tx-id'), code('CLI_USAGE', /not a CAN id/));
  });

  it('USB: --device VID:PID as dfu-util, one target per --serial or --path; dfu implied; --alt, --dfuse-address', () => {
    assert.deepEqual(parseVidPid('0483:DF11'), { vid: 0x0483, pid: 0xdf11 });
    assert.throws(() => parseVidPid('0483-df11'), code('CLI_USAGE', /VID:PID/));
    const r = parseQuickFlashFlags('/img', {
      device: ['0483:df11'],
      serial: ['A1', 'B2'],
      alt: '1',
      'dfuse-address': '0x08000000',
    });
    assert.equal(r.protocol, 'dfu');
    assert.deepEqual(r.targets, [
      { kind: 'usb', vid: 0x483, pid: 0xdf11, serialNumber: 'A1' },
      { kind: 'usb', vid: 0x483, pid: 0xdf11, serialNumber: 'B2' },
    ]);
    assert.deepEqual(r.handlerProperties, { alt: 1, dfuseAddress: 0x08000000 });
    assert.throws(
      () => parseQuickFlashFlags('/img', { device: ['0483:df11'], serial: ['A'], path: ['1-1'] }),
      code('CLI_USAGE', /not both/),
    );
  });

  it('a protocol that does not fit the target is TARGET_INVALID naming the target', () => {
    assert.throws(
      () => parseQuickFlashFlags('/img', { protocol: 'uds', port: ['/dev/ttyACM0'] }),
      code('TARGET_INVALID', /--protocol uds does not fit target \/dev\/ttyACM0/),
    );
    assert.throws(
      () => parseQuickFlashFlags('/img', { protocol: 'smp', device: ['0483:df11'] }),
      code('TARGET_INVALID', /usb 0483:df11/),
    );
    assert.throws(
      () => parseQuickFlashFlags('/img', { protocol: 'ymodem', port: ['/dev/x'], mtu: '512' }),
      code('CLI_USAGE', /--mtu applies to smp/),
    );
    assert.throws(
      () => parseQuickFlashFlags('/img', { port: ['/dev/x'], can: ['can0:1:2'] }),
      code('CLI_USAGE', /one protocol/),
    );
    assert.throws(() => parseQuickFlashFlags('/img', { protocol: 'zmodem', port: ['/dev/x'] }), code('CLI_USAGE'));
    assert.throws(() => parseQuickFlashFlags('/img', { protocol: 'smp' }), code('CLI_USAGE', /needs a target/));
    assert.throws(
      () => parseQuickFlashFlags('/img', { port: ['/dev/x'], component: ['c'] }),
      code('CLI_USAGE', /--component is for a manifest flash/),
    );
  });
});

/** A fake host: which ports, interfaces, USB devices and configured sensors exist. */
function host(over: Partial<TargetEnvironment> = {}): TargetEnvironment & { asked: string[] } {
  const asked: string[] = [];
  const ports: Record<string, string> = {
    '/dev/ttyACM0': '/dev/ttyACM0',
    '/dev/sensor-a': '/dev/ttyACM0',
    '/dev/ttyACM1': '/dev/ttyACM1',
  };
  return {
    asked,
    async statPort(p) {
      asked.push(`stat ${p}`);
      return ports[p] ? { charDevice: true, realPath: ports[p] } : undefined;
    },
    async canInterfaceExists(i) {
      return i === 'can0';
    },
    async listUsb() {
      asked.push('usb');
      return [
        { vendorId: 0x483, productId: 0xdf11, serialNumber: 'A1', portPath: '1-1' },
        { vendorId: 0x483, productId: 0xdf11, serialNumber: 'B2', portPath: '1-2' },
        { vendorId: 0x1234, productId: 0x0001, serialNumber: undefined, portPath: '2-1' },
      ];
    },
    async components(): Promise<Component[]> {
      asked.push('inventory');
      return [
        {
          id: 'SN-1',
          name: 'left',
          group: 's',
          manufacturer: 'm',
          model: 'x',
          properties: { bus: 'serial', port: '/dev/ttyACM1', protocol: 'ymodem', baudRate: 57600 },
        },
      ];
    },
    ...over,
  };
}

describe('quick flash targets', () => {
  it('serial paths become components with the physical path of the real device', async () => {
    const r = await resolveTargets([{ kind: 'serial', port: '/dev/ttyACM0' }], 'smp', host());
    assert.equal(r.targets[0]!.component.id, 'ttyACM0');
    assert.deepEqual(r.targets[0]!.component.properties, {
      bus: 'serial',
      port: '/dev/ttyACM0',
      physicalPath: 'serial:/dev/ttyACM0',
    });
  });

  it('a configured sensor name gives its component and its protocol; a mismatching --protocol is refused', async () => {
    const h = host();
    const r = await resolveTargets([{ kind: 'serial', port: 'left' }], undefined, h);
    assert.equal(r.protocol, 'ymodem');
    assert.equal(r.targets[0]!.component.id, 'SN-1');
    await assert.rejects(
      resolveTargets([{ kind: 'serial', port: 'left' }], 'smp', host()),
      code('TARGET_INVALID', /configured for ymodem/),
    );
    await assert.rejects(
      resolveTargets([{ kind: 'serial', port: 'right' }], 'smp', host()),
      code('TARGET_NOT_FOUND', /"right"/),
    );
  });

  it('a serial path without --protocol asks which one', async () => {
    await assert.rejects(
      resolveTargets([{ kind: 'serial', port: '/dev/ttyACM0' }], undefined, host()),
      code('CLI_USAGE', /smp or ymodem/),
    );
  });

  it('targets that do not exist are named', async () => {
    await assert.rejects(
      resolveTargets([{ kind: 'serial', port: '/dev/ttyUSB9' }], 'smp', host()),
      code('TARGET_NOT_FOUND', /\/dev\/ttyUSB9 does not exist/),
    );
    await assert.rejects(
      resolveTargets([{ kind: 'can', iface: 'can3', txId: 1, rxId: 2 }], 'uds', host()),
      code('TARGET_NOT_FOUND', /CAN interface can3/),
    );
    await assert.rejects(
      resolveTargets([{ kind: 'usb', vid: 0xdead, pid: 0xbeef }], 'dfu', host()),
      code('TARGET_NOT_FOUND', /usb dead:beef/),
    );
  });

  it('several USB devices matching one --device are refused with their serials and paths', async () => {
    await assert.rejects(
      resolveTargets([{ kind: 'usb', vid: 0x483, pid: 0xdf11 }], 'dfu', host()),
      code('TARGET_INVALID', /2 USB devices match .*serial A1 at 1-1.*serial B2 at 1-2/),
    );
    const r = await resolveTargets(
      [
        { kind: 'usb', vid: 0x483, pid: 0xdf11, serialNumber: 'B2' },
        { kind: 'usb', portPath: '2-1' },
      ],
      'dfu',
      host(),
    );
    assert.deepEqual(
      r.targets.map((t) => t.component.properties.physicalPath),
      ['usb:1-2', 'usb:2-1'],
    );
  });

  it('two targets that are the same sensor are refused: a link to a port, one USB device twice, one ECU twice', async () => {
    await assert.rejects(
      resolveTargets(
        [
          { kind: 'serial', port: '/dev/ttyACM0' },
          { kind: 'serial', port: '/dev/sensor-a' },
        ],
        'smp',
        host(),
      ),
      code('TARGET_INVALID', /\/dev\/ttyACM0 and \/dev\/sensor-a are the same sensor/),
    );
    await assert.rejects(
      resolveTargets(
        [
          { kind: 'usb', serialNumber: 'A1' },
          { kind: 'usb', portPath: '1-1' },
        ],
        'dfu',
        host(),
      ),
      code('TARGET_INVALID', /same sensor/),
    );
    await assert.rejects(
      resolveTargets(
        [
          { kind: 'can', iface: 'can0', txId: 0x7e0, rxId: 0x7e8 },
          { kind: 'can', iface: 'can0', txId: 0x7e0, rxId: 0x7e9 },
        ],
        'uds',
        host(),
      ),
      code('TARGET_INVALID', /same sensor/),
    );
    await assert.rejects(
      resolveTargets(
        [
          { kind: 'can', iface: 'can0', txId: 0x7e0, rxId: 0x7e8 },
          { kind: 'can', iface: 'can0', txId: 0x7e1, rxId: 0x7e8 },
        ],
        'uds',
        host(),
      ),
      code('TARGET_INVALID', /can0 7e0\/7e8 and can0 7e1\/7e8 share the response id 7e8/),
    );
    const two = await resolveTargets(
      [
        { kind: 'can', iface: 'can0', txId: 0x7e0, rxId: 0x7e8 },
        { kind: 'can', iface: 'can0', txId: 0x7e1, rxId: 0x7e9 },
      ],
      'uds',
      host(),
    );
    assert.deepEqual(
      two.targets.map((t) => t.component.id),
      ['can0-7e0', 'can0-7e1'],
    );
  });

  it('the inventory is asked only when a --port value is a name', async () => {
    const h = host();
    await resolveTargets([{ kind: 'serial', port: '/dev/ttyACM0' }], 'smp', h);
    assert.ok(!h.asked.includes('inventory'));
  });
});
