import { getMemoryUsbBus } from './memory-usb-bus.js';
import type { UsbBackend } from './usb-device.js';
import { usbError } from './usb-errors.js';
import { loadUsbfsAddon, type UsbfsAddon } from './usbfs/usbfs-addon.js';
import { UsbfsBackend, type UsbDeviceLister } from './usbfs/usbfs-backend.js';
import { WebUsbBackend } from './webusb-backend.js';

/** Backend names accepted in config (`backend`). */
export const USB_BACKENDS = ['auto', 'usbfs', 'usb', 'memory'] as const;
export type UsbBackendName = (typeof USB_BACKENDS)[number];

/** What the device I/O of a real USB backend runs on, and why (logged once). */
export interface UsbIoChoice {
  backend: 'usbfs' | 'usb';
  reason: string;
  addon?: UsbfsAddon;
}

/** The one-line log sink of the choice (a pino logger fits). */
export interface UsbChoiceLog {
  info(obj: Record<string, unknown>, msg: string): void;
}

const told = new Set<string>();
/** Logs `msg` once per process and `key`. */
function tellOnce(log: UsbChoiceLog | undefined, key: string, obj: Record<string, unknown>, msg: string): void {
  if (!log || told.has(key)) return;
  told.add(key);
  log.info(obj, msg);
}

/**
 * Picks the device I/O for `backend`:
 * - `usb`: the npm `usb` package (node-usb-rs);
 * - `usbfs`: our native addon on the device node, or USB_NOT_AVAILABLE naming `make native`;
 * - `auto`: usbfs where the addon loads (per device: where its node opens), else the package.
 * @throws BusError USB_NOT_AVAILABLE (`usbfs` without the addon).
 */
export function chooseUsbBackend(
  setting: 'auto' | 'usbfs' | 'usb',
  load: () => { addon: UsbfsAddon } | { error: string } = loadUsbfsAddon,
): UsbIoChoice {
  if (setting === 'usb') return { backend: 'usb', reason: 'backend is "usb"' };
  const a = load();
  if ('error' in a) {
    if (setting === 'usbfs')
      throw usbError(
        'USB_NOT_AVAILABLE',
        `backend is "usbfs" but ${a.error}; build it with \`make native\`, or set backend to "usb"`,
        { reason: a.error },
      );
    return { backend: 'usb', reason: `backend is "auto" and usbfs is unavailable: ${a.error}` };
  }
  return { backend: 'usbfs', reason: `backend is "${setting}" and the native addon has usbfs`, addon: a.addon };
}

/**
 * Picks a backend by name: `auto` (default: usbfs where it works, else the package), `usbfs`, `usb`
 * (npm `usb`, loaded lazily on first list) or `memory` (the in-process bus `memoryBus`, default
 * "default"). The choice and a device's fallback are logged once through `log`.
 * @throws BusError USB_UNKNOWN_BACKEND naming the valid choices; USB_NOT_AVAILABLE (`usbfs` without the addon).
 */
export function openUsbBackend(
  name: string,
  memoryBus?: string,
  log?: UsbChoiceLog,
  lister: UsbDeviceLister = new WebUsbBackend(),
): UsbBackend {
  if (name === 'memory') return getMemoryUsbBus(memoryBus);
  if (name === 'usb' || name === 'usbfs' || name === 'auto') {
    const c = chooseUsbBackend(name);
    tellOnce(log, `${name}:${c.backend}`, { backend: c.backend, reason: c.reason }, `USB backend: ${c.backend}`);
    if (!c.addon) return new WebUsbBackend();
    const fallback =
      name === 'auto'
        ? (why: string, errno: string) =>
            tellOnce(
              log,
              `fallback:${errno}`,
              { backend: 'usb', reason: why },
              'USB backend: usb for a device usbfs cannot open',
            )
        : undefined;
    return new UsbfsBackend(c.addon, lister, fallback);
  }
  throw usbError('USB_UNKNOWN_BACKEND', `unknown USB backend "${name}" (valid: ${USB_BACKENDS.join(', ')})`, {
    valid: [...USB_BACKENDS],
  });
}
