import { throwIfAborted } from '../shared/errors.js';
import type { UsbBackend, UsbDevice } from './usb-device.js';
import { usbError } from './usb-errors.js';

/** How a device is recognised across re-enumerations (serial number first, then port path). */
export interface UsbDeviceMatch {
  serialNumber?: string;
  vendorId?: number;
  productId?: number;
  portPath?: string;
}

export function matchesDevice(d: UsbDevice, m: UsbDeviceMatch): boolean {
  const i = d.info;
  if (m.serialNumber !== undefined && i.serialNumber !== m.serialNumber) return false;
  if (m.serialNumber === undefined && m.portPath !== undefined && i.portPath !== m.portPath) return false;
  if (m.vendorId !== undefined && i.vendorId !== m.vendorId) return false;
  if (m.productId !== undefined && i.productId !== m.productId) return false;
  return true;
}

export interface WaitForDeviceOptions {
  timeoutMs: number;
  intervalMs: number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
  /** Handles that must not count (the one that just detached). */
  exclude?: readonly UsbDevice[];
}

/**
 * Scans the bus until a device satisfies `accept` (re-enumeration after DFU_DETACH / reset:
 * reference §3.4 "correlate by serial and port path"). `accept` may open the device to look at it.
 * @throws BusError USB_NOT_FOUND after `timeoutMs`, CANCELLED.
 */
export async function waitForDevice(
  backend: UsbBackend,
  accept: (d: UsbDevice) => Promise<boolean>,
  what: string,
  o: WaitForDeviceOptions,
): Promise<UsbDevice> {
  let waited = 0;
  for (;;) {
    throwIfAborted(o.signal);
    const list = await backend.list();
    for (const d of list) {
      if (o.exclude?.includes(d)) continue;
      if (await accept(d)) return d;
    }
    if (waited >= o.timeoutMs)
      throw usbError('USB_NOT_FOUND', `${what}: no matching device after ${o.timeoutMs} ms`, {
        seen: list.map((d) => d.info),
      });
    await o.sleep(o.intervalMs, o.signal);
    waited += o.intervalMs;
  }
}
