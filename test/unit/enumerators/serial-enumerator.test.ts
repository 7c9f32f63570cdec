import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { pino } from 'pino';
import type { SerialLinkOptions } from '../../../drivers/serial/link.js';
import { builtinEnumerators } from '../../../enumerators/builtin-enumerators.js';
import { createSerialEnumeratorWith } from '../../../enumerators/serial/serial-enumerator.js';
import { scanTtyPorts } from '../../../enumerators/serial/sysfs-tty.js';
import { isSensorProxyError } from '../../../src/model/errors.js';
import { createMemoryPort } from '../../../hw-fixtures/serial/ymodem-memory-link.js';
import { YmodemBootloaderSim } from '../../../hw-fixtures/serial/ymodem-bootloader-sim.js';

const log = pino({ level: 'silent' });
let root: string;
let sys: string;
let dev: string;
let proc: string;

/** Writes `attrs` as sysfs attribute files in `dir`. */
async function attrs(dir: string, values: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [k, v] of Object.entries(values)) await writeFile(join(dir, k), `${v}\n`);
}

/** A relative symlink at `at` pointing to `target`, as sysfs and udev make them. */
async function link(target: string, at: string): Promise<void> {
  await mkdir(dirname(at), { recursive: true });
  await symlink(relative(dirname(at), target), at);
}

/** A tty class entry whose `device` link points at `deviceDir`, plus its /dev node. */
async function tty(name: string, ttyDir: string, deviceDir: string | undefined): Promise<void> {
  await mkdir(ttyDir, { recursive: true });
  if (deviceDir) await link(deviceDir, join(ttyDir, 'device'));
  await link(ttyDir, join(sys, 'class', 'tty', name));
  await writeFile(join(dev, name), '');
}

/**
 * A fake /sys, /dev and /proc laid out as Linux does (reference/bus-protocols.md §4): a cdc_acm
 * sensor (ttyACM0, by-id link), an FTDI adapter (ttyUSB0 below a port device), a dual-port CDC
 * device with one serial number (ttyACM1/2), the console UART ttyS0, a virtual tty0.
 */
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fake-sysfs-'));
  sys = join(root, 'sys');
  dev = join(root, 'dev');
  proc = join(root, 'proc');
  await mkdir(dev, { recursive: true });
  const usb = join(sys, 'devices', 'pci0000:00', '0000:00:14.0', 'usb1');
  const drivers = join(sys, 'bus', 'usb', 'drivers');
  await mkdir(join(drivers, 'cdc_acm'), { recursive: true });
  await mkdir(join(drivers, 'ftdi_sio'), { recursive: true });

  await attrs(join(usb, '1-1'), {
    idVendor: '2FE3',
    idProduct: '0100',
    serial: 'SN-0001',
    manufacturer: 'Contoso',
    product: 'Sensor',
    busnum: '1',
    devnum: '4',
  });
  await attrs(join(usb, '1-1', '1-1:1.0'), { bInterfaceNumber: '00' });
  await link(join(drivers, 'cdc_acm'), join(usb, '1-1', '1-1:1.0', 'driver'));
  await tty('ttyACM0', join(usb, '1-1', '1-1:1.0', 'tty', 'ttyACM0'), join(usb, '1-1', '1-1:1.0'));
  await link(join(dev, 'ttyACM0'), join(dev, 'serial', 'by-id', 'usb-Contoso_Sensor_SN-0001-if00'));

  await attrs(join(usb, '1-2'), {
    idVendor: '0403',
    idProduct: '6001',
    serial: 'FT123',
    manufacturer: 'FTDI',
    product: 'FT232R USB UART',
  });
  await attrs(join(usb, '1-2', '1-2:1.0'), { bInterfaceNumber: '00' });
  await mkdir(join(usb, '1-2', '1-2:1.0', 'ttyUSB0'), { recursive: true });
  await link(join(drivers, 'ftdi_sio'), join(usb, '1-2', '1-2:1.0', 'ttyUSB0', 'driver'));
  await tty(
    'ttyUSB0',
    join(usb, '1-2', '1-2:1.0', 'ttyUSB0', 'tty', 'ttyUSB0'),
    join(usb, '1-2', '1-2:1.0', 'ttyUSB0'),
  );

  await attrs(join(usb, '1-3'), { idVendor: 'cafe', idProduct: '4001', serial: 'DUAL' });
  for (const [iface, name] of [
    ['00', 'ttyACM1'],
    ['02', 'ttyACM2'],
  ] as const) {
    const dir = join(usb, '1-3', `1-3:1.${Number(iface)}`);
    await attrs(dir, { bInterfaceNumber: iface });
    await tty(name, join(dir, 'tty', name), dir);
  }

  await mkdir(join(sys, 'devices', 'platform', 'serial8250'), { recursive: true });
  await tty(
    'ttyS0',
    join(sys, 'devices', 'platform', 'serial8250', 'tty', 'ttyS0'),
    join(sys, 'devices', 'platform', 'serial8250'),
  );
  await tty('tty0', join(sys, 'devices', 'virtual', 'tty', 'tty0'), undefined);

  await attrs(proc, {
    consoles: 'ttyS0                -W- (EC  p a)    4:64',
    cmdline: 'root=/dev/mmcblk0p2 console=ttyS0,115200 quiet',
  });
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

const roots = () => ({ sysfsRoot: sys, devRoot: dev, procRoot: proc });
const env = () => ({ log, baseDir: root });

/** A link opener that records every path and answers like a YMODEM-bootloader app on v2.4.6. */
function recordingOpener() {
  const opened: SerialLinkOptions[] = [];
  const port = createMemoryPort();
  const sim = new YmodemBootloaderSim({ port: port.device, version: '2.4.6' });
  return { opened, sim, open: async (o: SerialLinkOptions) => (opened.push(o), port.open()) };
}

test('sysfs scan: USB identity walked up from the interface or port device, by-id links, console flagged, virtual ttys skipped', async () => {
  const ports = await scanTtyPorts(roots());
  assert.deepEqual(
    ports.map((p) => p.name),
    ['ttyACM0', 'ttyACM1', 'ttyACM2', 'ttyS0', 'ttyUSB0'],
  );
  const acm0 = ports[0]!;
  assert.deepEqual(acm0.usb, {
    vid: '2fe3',
    pid: '0100',
    serialNumber: 'SN-0001',
    manufacturer: 'Contoso',
    product: 'Sensor',
    interfaceNumber: '00',
    busPath: '1-1',
    interfaceName: '1-1:1.0',
  });
  assert.equal(acm0.byId, join(dev, 'serial', 'by-id', 'usb-Contoso_Sensor_SN-0001-if00'));
  assert.equal(acm0.driver, 'cdc_acm');
  const ftdi = ports.find((p) => p.name === 'ttyUSB0')!;
  assert.equal(ftdi.usb?.vid, '0403');
  assert.equal(ftdi.driver, 'ftdi_sio');
  const s0 = ports.find((p) => p.name === 'ttyS0')!;
  assert.equal(s0.usb, undefined);
  assert.equal(s0.console, true);
});

test('protocol none: components in the ADU shape, and no port is opened', async () => {
  const spy = recordingOpener();
  try {
    const e = createSerialEnumeratorWith(
      {
        sysfsRoot: sys,
        devRoot: dev,
        procRoot: proc,
        rules: [{ match: { vid: '0x2FE3', pid: '0100' }, protocol: 'none', component: { group: 'sensors' } }],
      },
      env(),
      spy.open,
    );
    const components = await e.getAllComponents();
    assert.deepEqual(components, [
      {
        id: 'SN-0001',
        name: 'SN-0001',
        group: 'sensors',
        manufacturer: 'Contoso',
        model: 'Sensor',
        properties: {
          bus: 'serial',
          port: join(dev, 'serial', 'by-id', 'usb-Contoso_Sensor_SN-0001-if00'),
          physicalPath: `serial:${join(dev, 'ttyACM0')}`,
          baudRate: 115200,
          protocol: 'none',
          vid: '2fe3',
          pid: '0100',
          serialNumber: 'SN-0001',
          version: null,
          status: 'not-opened',
          assertControlLines: false,
        },
        status: 'present',
      },
    ]);
    assert.deepEqual(spy.opened, []);
  } finally {
    await spy.sim.close();
  }
});

test(
  'ymodem: only the allowed port is opened, without DTR/RTS, and its version is read',
  { timeout: 10_000 },
  async () => {
    const spy = recordingOpener();
    try {
      const e = createSerialEnumeratorWith(
        {
          sysfsRoot: sys,
          devRoot: dev,
          procRoot: proc,
          rules: [
            {
              match: { serialPattern: '^SN-' },
              protocol: 'ymodem',
              baudRate: 57600,
              component: { group: 'sensors', name: 'left', manufacturer: 'contoso', model: 'y1' },
              versionQuery: { timeoutMs: 500 },
            },
          ],
        },
        env(),
        spy.open,
      );
      const [c, ...rest] = await e.getAllComponents();
      assert.equal(rest.length, 0);
      assert.deepEqual(
        spy.opened.map((o) => [o.path, o.baudRate, o.assertControlLinesOnOpen]),
        [[join(dev, 'serial', 'by-id', 'usb-Contoso_Sensor_SN-0001-if00'), 57600, false]],
      );
      assert.equal(c!.version, '2.4.6');
      assert.equal(c!.name, 'left');
      assert.equal(c!.manufacturer, 'contoso');
      assert.equal(c!.properties.status, 'ok');
      assert.deepEqual(c!.properties.versionQuery, {
        request: 'VERSION?\r',
        responsePattern: 'v(\\d+\\.\\d+\\.\\d+)',
        timeoutMs: 500,
      });
      assert.equal(spy.sim.stats.versionQueries, 1);
    } finally {
      await spy.sim.close();
    }
  },
);

test('a device that does not answer is listed with status no-answer and no version', { timeout: 10_000 }, async () => {
  const spy = recordingOpener();
  spy.sim.enterBootloader();
  try {
    const e = createSerialEnumeratorWith(
      {
        sysfsRoot: sys,
        devRoot: dev,
        procRoot: proc,
        identifyTimeoutMs: 200,
        rules: [{ match: { vid: '2fe3' }, protocol: 'ymodem', component: { group: 'sensors' } }],
      },
      env(),
      spy.open,
    );
    const [c] = await e.getAllComponents();
    assert.equal(c!.properties.status, 'no-answer');
    assert.equal(c!.version, undefined);
    assert.equal(c!.properties.version, null);
  } finally {
    await spy.sim.close();
  }
});

test('the console UART is never opened, even when a path rule names it', async () => {
  const spy = recordingOpener();
  try {
    const e = createSerialEnumeratorWith(
      {
        sysfsRoot: sys,
        devRoot: dev,
        procRoot: proc,
        rules: [{ match: { path: join(dev, 'ttyS0') }, protocol: 'ymodem', component: { group: 'uart' } }],
      },
      env(),
      spy.open,
    );
    assert.deepEqual(await e.getAllComponents(), []);
    assert.deepEqual(spy.opened, []);
  } finally {
    await spy.sim.close();
  }
});

test('first matching rule wins; one serial number on two interfaces gives two ids; non-matching ports are ignored', async () => {
  const e = createSerialEnumeratorWith(
    {
      sysfsRoot: sys,
      devRoot: dev,
      procRoot: proc,
      rules: [
        { match: { vid: 'cafe', pid: '4001' }, protocol: 'none', component: { group: 'dual' } },
        { match: { vid: 'cafe' }, protocol: 'none', component: { group: 'never' }, optional: true },
        {
          match: { vid: '0403', serialPattern: '^XX' },
          protocol: 'none',
          component: { group: 'never' },
          optional: true,
        },
        {
          match: { path: join(dev, 'serial', 'by-id', 'usb-Contoso_Sensor_SN-0001-if00') },
          protocol: 'none',
          component: { group: 'by-path' },
        },
      ],
    },
    env(),
  );
  const components = await e.getAllComponents();
  assert.deepEqual(
    components.map((c) => [c.id, c.group, c.properties.port]),
    [
      ['SN-0001', 'by-path', join(dev, 'serial', 'by-id', 'usb-Contoso_Sensor_SN-0001-if00')],
      ['DUAL', 'dual', join(dev, 'ttyACM1')],
      ['DUAL-if02', 'dual', join(dev, 'ttyACM2')],
    ],
  );
});

test('a declared sensor that is not there is listed as absent, with what to check; optional rules give nothing', async () => {
  const rules = [
    { match: { path: join(dev, 'ttyNOPE') }, protocol: 'none', component: { group: 'x', name: 'left' } },
    { match: { vid: '1234', pid: '5678' }, protocol: 'smp', component: { group: 'y' } },
    { match: { vid: '1234', pid: '9999' }, protocol: 'smp', component: { group: 'z' }, optional: true },
  ];
  const e = createSerialEnumeratorWith({ sysfsRoot: sys, devRoot: dev, procRoot: proc, rules }, env());
  const components = await e.getAllComponents();
  assert.deepEqual(
    components.map((c) => [c.id, c.name, c.group, c.status, c.properties.statusDetail]),
    [
      [join(dev, 'ttyNOPE'), 'left', 'x', 'absent', `${join(dev, 'ttyNOPE')} does not exist`],
      ['serial:1234:5678', 'serial:1234:5678', 'y', 'absent', 'no USB serial adapter 1234:5678 is attached'],
    ],
  );
  assert.match(String(components[0]!.properties.remedy), /rules\[0\]\.match\.path/);
  assert.match(String(components[1]!.properties.remedy), /lsusb -d 1234:5678/);
});

test('registered as "serial"; bad settings are CONFIG_INVALID naming the field', () => {
  const factory = builtinEnumerators['serial']!;
  assert.equal(factory({ rules: [] }, env()).type, 'serial');
  const cases: [Record<string, unknown>, string][] = [
    [{}, 'rules'],
    [{ rules: [{ match: {}, protocol: 'none', component: { group: 'g' } }] }, 'rules[0].match'],
    [{ rules: [{ match: { vid: '12345' }, protocol: 'none', component: { group: 'g' } }] }, 'rules[0].match.vid'],
    [
      { rules: [{ match: { path: '/dev/x', vid: '1234' }, protocol: 'none', component: { group: 'g' } }] },
      'rules[0].match.path',
    ],
    [
      { rules: [{ match: { serialPattern: '(' }, protocol: 'none', component: { group: 'g' } }] },
      'rules[0].match.serialPattern',
    ],
    [{ rules: [{ match: { vid: '1234' }, protocol: 'xmodem', component: { group: 'g' } }] }, 'rules[0].protocol'],
    [{ rules: [{ match: { vid: '1234' }, protocol: 'none', component: {} }] }, 'rules[0].component.group'],
    [
      { rules: [{ match: { vid: '1234' }, protocol: 'none', baudRate: 0, component: { group: 'g' } }] },
      'rules[0].baudRate',
    ],
    [
      {
        rules: [
          { match: { vid: '1234' }, protocol: 'ymodem', component: { group: 'g' }, versionQuery: { timeoutMs: -1 } },
        ],
      },
      'rules[0].versionQuery.timeoutMs',
    ],
    [{ identifyTimeoutMs: 'x', rules: [] }, 'identifyTimeoutMs'],
  ];
  for (const [settings, field] of cases) {
    assert.throws(
      () => factory(settings, env()),
      (e) => isSensorProxyError(e, 'CONFIG_INVALID') && e.details['field'] === field,
      field,
    );
  }
});
