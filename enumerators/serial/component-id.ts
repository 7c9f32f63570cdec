import { basename } from 'node:path';
import type { TtyPort } from './sysfs-tty.js';

/** One allowed port: the path the handler opens and, when sysfs knows it, the tty behind it. */
export interface IdSource {
  port: string;
  tty: TtyPort | undefined;
}

/**
 * Component ids for serial ports, stable across re-plugging and re-enumeration (ttyUSB0 →
 * ttyUSB1), in this order:
 *
 * 1. the USB serial number (sysfs `serial`, what udev calls ID_SERIAL_SHORT), when no other USB
 *    device in the scan reports the same one (cheap adapters often share one, e.g. "0001");
 * 2. else where the device is plugged in: the `/dev/serial/by-path` link name when udev made one,
 *    else the sysfs interface name (`usb-1-1.2:1.0`: bus 1, hub port 1, port 2, interface 0),
 *    the same after re-plugging into the same port;
 * 3. else (a pty, a platform UART such as ttyAMA0, a path sysfs does not know) the configured path.
 *
 * A serial number shared by several ports of one device (a dual-port CDC device) gets `-if<n>`
 * from the interface number; any id still repeated gets `-<k>`.
 */
export function serialComponentIds(sources: readonly IdSource[]): string[] {
  const devicesBySerial = new Map<string, Set<string>>();
  for (const { tty } of sources) {
    const usb = tty?.usb;
    if (usb?.serialNumber === undefined) continue;
    const devices = devicesBySerial.get(usb.serialNumber) ?? new Set<string>();
    devices.add(usb.busPath);
    devicesBySerial.set(usb.serialNumber, devices);
  }
  const seen = new Map<string, number>();
  return sources.map(({ port, tty }) => {
    const usb = tty?.usb;
    let id: string;
    if (usb?.serialNumber !== undefined && devicesBySerial.get(usb.serialNumber)!.size === 1) id = usb.serialNumber;
    else if (tty?.byPath) id = basename(tty.byPath);
    else if (usb) id = `usb-${usb.interfaceName ?? usb.busPath}`;
    else id = port;
    const n = seen.get(id) ?? 0;
    seen.set(id, n + 1);
    if (n > 0) id = `${id}-${usb?.interfaceNumber !== undefined ? `if${usb.interfaceNumber}` : n}`;
    return id;
  });
}
