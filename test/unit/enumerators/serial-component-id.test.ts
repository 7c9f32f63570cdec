/**
 * Serial component ids stable across re-plugging (component-id.ts), on fake /sys and /dev trees
 * laid out as Linux does (reference/bus-protocols.md §4): the enumerator reads them through its
 * injectable roots, so re-plugging is a tree rebuilt with other tty names.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { pino } from 'pino';
import { serialComponentIds } from '../../../enumerators/serial/component-id.js';
import { createSerialEnumeratorWith } from '../../../enumerators/serial/serial-enumerator.js';
import type { TtyPort } from '../../../enumerators/serial/sysfs-tty.js';

const log = pino({ level: 'silent' });
const trees: string[] = [];
after(async () => {
  for (const t of trees) await rm(t, { recursive: true, force: true });
});

async function link(target: string, at: string): Promise<void> {
  await mkdir(dirname(at), { recursive: true });
  await symlink(relative(dirname(at), target), at);
}

interface Plugged {
  /** USB device name = where it is plugged in, e.g. "1-1.2". */
  port: string;
  tty: string;
  vid: string;
  pid: string;
  serial?: string;
  /** udev's /dev/serial/by-path link name, when udev runs. */
  byPath?: string;
}

/** A fake /sys, /dev, /proc with USB-serial adapters (usb-serial layout: tty below a port device). */
async function tree(devices: Plugged[]): Promise<{ sys: string; dev: string; proc: string }> {
  const root = await mkdtemp(join(tmpdir(), 'fake-sysfs-ids-'));
  trees.push(root);
  const sys = join(root, 'sys');
  const dev = join(root, 'dev');
  const proc = join(root, 'proc');
  await mkdir(dev, { recursive: true });
  await mkdir(proc, { recursive: true });
  const usb = join(sys, 'devices', 'platform', 'xhci-hcd.0', 'usb1');
  for (const d of devices) {
    const devDir = join(usb, d.port);
    await mkdir(devDir, { recursive: true });
    const attrs: Record<string, string> = { idVendor: d.vid, idProduct: d.pid };
    if (d.serial !== undefined) attrs.serial = d.serial;
    for (const [k, v] of Object.entries(attrs)) await writeFile(join(devDir, k), `${v}\n`);
    const ifDir = join(devDir, `${d.port}:1.0`);
    await mkdir(ifDir, { recursive: true });
    await writeFile(join(ifDir, 'bInterfaceNumber'), '00\n');
    const portDir = join(ifDir, d.tty);
    const ttyDir = join(portDir, 'tty', d.tty);
    await mkdir(ttyDir, { recursive: true });
    await link(portDir, join(ttyDir, 'device'));
    await link(ttyDir, join(sys, 'class', 'tty', d.tty));
    await writeFile(join(dev, d.tty), '');
    if (d.byPath) await link(join(dev, d.tty), join(dev, 'serial', 'by-path', d.byPath));
  }
  return { sys, dev, proc };
}

async function ids(t: { sys: string; dev: string; proc: string }, rules: unknown[]): Promise<[string, string][]> {
  const e = createSerialEnumeratorWith(
    { sysfsRoot: t.sys, devRoot: t.dev, procRoot: t.proc, rules },
    { log, baseDir: t.sys },
  );
  return (await e.getAllComponents()).map((c) => [c.id, String(c.properties.port)]);
}

const ch340 = { vid: '1a86', pid: '7523' };
const byVid = [{ match: { vid: '1a86' }, protocol: 'none', component: { group: 'sensors' }, optional: true }];

test('an adapter without a serial number keeps its id when it comes back as another ttyUSB in the same port', async () => {
  const first = await tree([{ port: '1-1.2', tty: 'ttyUSB0', ...ch340 }]);
  const pathRule = (dev: string, tty: string) => [
    { match: { path: join(dev, tty) }, protocol: 'none', component: { group: 'sensors' } },
  ];
  assert.deepEqual(await ids(first, pathRule(first.dev, 'ttyUSB0')), [['usb-1-1.2:1.0', join(first.dev, 'ttyUSB0')]]);
  // Re-plugged into the same port, the kernel named it ttyUSB3: same id, new path.
  const again = await tree([{ port: '1-1.2', tty: 'ttyUSB3', ...ch340 }]);
  assert.deepEqual(await ids(again, pathRule(again.dev, 'ttyUSB3')), [['usb-1-1.2:1.0', join(again.dev, 'ttyUSB3')]]);
  assert.deepEqual(await ids(again, byVid), [['usb-1-1.2:1.0', join(again.dev, 'ttyUSB3')]]);
  // Another port is another place: the id follows the location (documented).
  const moved = await tree([{ port: '1-1.4', tty: 'ttyUSB0', ...ch340 }]);
  assert.deepEqual(await ids(moved, byVid), [['usb-1-1.4:1.0', join(moved.dev, 'ttyUSB0')]]);
});

test("udev's by-path link name is the location when udev made one", async () => {
  const t = await tree([
    { port: '1-1.2', tty: 'ttyUSB1', ...ch340, byPath: 'platform-xhci-hcd.0-usb-0:1.2:1.0-port0' },
  ]);
  assert.deepEqual(await ids(t, byVid), [['platform-xhci-hcd.0-usb-0:1.2:1.0-port0', join(t.dev, 'ttyUSB1')]]);
});

test('a unique serial number is the id wherever the device is plugged; a shared one falls back to the location', async () => {
  const t = await tree([
    { port: '1-1.2', tty: 'ttyUSB0', ...ch340, serial: '0001' },
    { port: '1-1.3', tty: 'ttyUSB1', ...ch340, serial: '0001' },
    { port: '1-1.4', tty: 'ttyACM0', vid: '2fe3', pid: '0100', serial: 'SN-77' },
  ]);
  const rules = [{ match: { vid: '2fe3' }, protocol: 'none', component: { group: 'sensors' } }, ...byVid];
  assert.deepEqual(await ids(t, rules), [
    ['SN-77', join(t.dev, 'ttyACM0')],
    ['usb-1-1.2:1.0', join(t.dev, 'ttyUSB0')],
    ['usb-1-1.3:1.0', join(t.dev, 'ttyUSB1')],
  ]);
  const moved = await tree([{ port: '2-1', tty: 'ttyACM5', vid: '2fe3', pid: '0100', serial: 'SN-77' }]);
  assert.deepEqual(await ids(moved, rules), [['SN-77', join(moved.dev, 'ttyACM5')]]);
});

test('a path sysfs does not know (a pty) keeps the path as id', async () => {
  const t = await tree([]);
  const pty = join(t.dev, 'pts-7');
  await writeFile(pty, '');
  assert.deepEqual(await ids(t, [{ match: { path: pty }, protocol: 'none', component: { group: 'sensors' } }]), [
    [pty, pty],
  ]);
});

test('serialComponentIds: a platform UART keeps its path; repeated ids get a suffix', () => {
  const uart: TtyPort = {
    name: 'ttyAMA0',
    devPath: '/dev/ttyAMA0',
    byId: undefined,
    byPath: undefined,
    driver: 'uart-pl011',
    usb: undefined,
    console: false,
  };
  assert.deepEqual(
    serialComponentIds([
      { port: '/dev/ttyAMA0', tty: uart },
      { port: '/dev/ttyAMA0', tty: uart },
    ]),
    ['/dev/ttyAMA0', '/dev/ttyAMA0-1'],
  );
});
