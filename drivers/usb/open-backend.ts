import { getMemoryUsbBus } from './memory-usb-bus.js';
import type { UsbBackend } from './usb-device.js';
import { usbError } from './usb-errors.js';
import { WebUsbBackend } from './webusb-backend.js';

/** Backend names accepted in config (`backend`). */
export const USB_BACKENDS = ['usb', 'memory'] as const;
export type UsbBackendName = (typeof USB_BACKENDS)[number];

/**
 * Picks a backend by name: `usb` (npm `usb`, loaded lazily on first list) or `memory` (the
 * in-process bus `memoryBus`, default "default").
 * @throws BusError USB_UNKNOWN_BACKEND naming the valid choices.
 */
export function openUsbBackend(name: string, memoryBus?: string): UsbBackend {
  if (name === 'usb') return new WebUsbBackend();
  if (name === 'memory') return getMemoryUsbBus(memoryBus);
  throw usbError('USB_UNKNOWN_BACKEND', `unknown USB backend "${name}" (valid: ${USB_BACKENDS.join(', ')})`, {
    valid: [...USB_BACKENDS],
  });
}
