import { readdir, readFile, readlink, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Read-only discovery of serial ports from sysfs and udev's by-id links: nothing is opened
 * (reference/bus-protocols.md §4 "Read-only identification"). Roots are parameters so tests run
 * on a fake tree.
 */

/** USB identity of the device behind a tty, from the ancestor that has `idVendor`. */
export interface UsbIdentity {
  /** 4 lowercase hex digits, e.g. "2fe3". */
  vid: string;
  pid: string;
  serialNumber: string | undefined;
  manufacturer: string | undefined;
  product: string | undefined;
  /** `bInterfaceNumber` of the interface the tty belongs to, e.g. "00". */
  interfaceNumber: string | undefined;
  /** sysfs name of the USB device, e.g. "1-1.2" (bus 1, hub port 1, port 2): where it is plugged in. */
  busPath: string;
  /**
   * sysfs name of the interface the tty belongs to, e.g. "1-1.2:1.0": the physical port and the
   * interface, the same after re-plugging into the same port. Undefined when not found.
   */
  interfaceName: string | undefined;
}

export interface TtyPort {
  /** Kernel name, e.g. "ttyACM0". */
  name: string;
  /** `<devRoot>/<name>`. */
  devPath: string;
  /** `/dev/serial/by-id/...` link naming this tty, when udev made one. */
  byId: string | undefined;
  /** `/dev/serial/by-path/...` link naming this tty (where it is plugged in), when udev made one. */
  byPath: string | undefined;
  /** Kernel driver of the tty's device (`cdc_acm`, `ftdi_sio`, `serial8250`...), when known. */
  driver: string | undefined;
  /** Undefined for platform UARTs (ttyS*, ttyAMA*): those are only used through explicit `path` rules. */
  usb: UsbIdentity | undefined;
  /** True when the kernel console runs on it (`/proc/consoles`, `console=`): never opened. */
  console: boolean;
}

export interface SysfsRoots {
  /** Default "/sys". */
  sysfsRoot: string;
  /** Default "/dev". */
  devRoot: string;
  /** Default "/proc". */
  procRoot: string;
}

async function readAttr(dir: string, name: string): Promise<string | undefined> {
  try {
    return (await readFile(join(dir, name), 'utf8')).trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** Walks up from the tty's device directory to the USB device (the first ancestor with `idVendor`). */
async function usbIdentity(deviceDir: string, sysfsRoot: string): Promise<UsbIdentity | undefined> {
  let interfaceNumber: string | undefined;
  let interfaceName: string | undefined;
  for (let dir = deviceDir; dir.startsWith(sysfsRoot) && dir !== sysfsRoot; dir = dirname(dir)) {
    if (interfaceNumber === undefined) {
      interfaceNumber = await readAttr(dir, 'bInterfaceNumber');
      if (interfaceNumber !== undefined) interfaceName = basename(dir);
    }
    const vid = await readAttr(dir, 'idVendor');
    if (vid === undefined) continue;
    return {
      vid: vid.toLowerCase(),
      pid: ((await readAttr(dir, 'idProduct')) ?? '').toLowerCase(),
      serialNumber: await readAttr(dir, 'serial'),
      manufacturer: await readAttr(dir, 'manufacturer'),
      product: await readAttr(dir, 'product'),
      interfaceNumber,
      busPath: basename(dir),
      interfaceName,
    };
  }
  return undefined;
}

/** tty name → link path, from `<devRoot>/serial/by-id` or `by-path` (absent without udev: fine). */
async function udevLinks(devRoot: string, kind: 'by-id' | 'by-path'): Promise<Map<string, string>> {
  const dir = join(devRoot, 'serial', kind);
  const out = new Map<string, string>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw e;
  }
  for (const n of names.sort()) {
    const link = join(dir, n);
    const target = await readlink(link).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EINVAL') return undefined; // not a symlink: not udev's
      throw e;
    });
    if (target !== undefined) out.set(basename(resolve(dir, target)), link);
  }
  return out;
}

/** Names of ttys the kernel console uses: `/proc/consoles` and `console=` in `/proc/cmdline` (§4 item 4). */
async function consoleNames(procRoot: string): Promise<Set<string>> {
  const names = new Set<string>();
  for (const line of ((await readAttr(procRoot, 'consoles')) ?? '').split('\n')) {
    const n = line.trim().split(/\s+/)[0];
    if (n) names.add(n);
  }
  for (const m of ((await readAttr(procRoot, 'cmdline')) ?? '').matchAll(/(?:^|\s)console=([^,\s]+)/g))
    names.add(m[1]!);
  return names;
}

/**
 * Lists the ttys under `<sysfsRoot>/class/tty` that have a `device` link (virtual consoles and
 * ptys have none), with their USB identity, driver and by-id / by-path links. Sorted by name.
 */
export async function scanTtyPorts(roots: SysfsRoots): Promise<TtyPort[]> {
  const classDir = join(roots.sysfsRoot, 'class', 'tty');
  let names: string[];
  try {
    names = await readdir(classDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const sysfsReal = await realpath(roots.sysfsRoot);
  const [byId, byPath, consoles] = await Promise.all([
    udevLinks(roots.devRoot, 'by-id'),
    udevLinks(roots.devRoot, 'by-path'),
    consoleNames(roots.procRoot),
  ]);
  const ports: TtyPort[] = [];
  for (const name of names.sort()) {
    const deviceLink = join(classDir, name, 'device');
    if (!(await exists(deviceLink))) continue;
    const deviceDir = await realpath(deviceLink);
    const driverLink = join(deviceDir, 'driver');
    const driver = (await exists(driverLink)) ? basename(await realpath(driverLink)) : undefined;
    ports.push({
      name,
      devPath: join(roots.devRoot, name),
      byId: byId.get(name),
      byPath: byPath.get(name),
      driver,
      usb: await usbIdentity(deviceDir, sysfsReal),
      console: consoles.has(name),
    });
  }
  return ports;
}
