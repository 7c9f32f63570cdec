import { createCanEnumerator } from './can/can-enumerator.js';
import type { EnumeratorFactory } from './enumerator.js';
import { createInventoryEnumerator } from './inventory/inventory-enumerator.js';
import { createSerialEnumerator } from './serial/serial-enumerator.js';
import { createUsbEnumerator } from './usb/usb-enumerator.js';

/** Enumerator factories by gateway-config `type`. Each bus issue adds its line here. */
export const builtinEnumerators: Record<string, EnumeratorFactory> = {
  can: createCanEnumerator,
  inventory: createInventoryEnumerator,
  serial: createSerialEnumerator,
  usb: createUsbEnumerator,
};
