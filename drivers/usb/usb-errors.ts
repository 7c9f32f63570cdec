import { BusError } from '../shared/errors.js';

/**
 * Codes of the USB layer. `details` carries `device` (vid:pid and serial) and, where known, the
 * request name, `errno` and the backend's original error as `cause`.
 *
 * | code                | meaning                                                             |
 * |---------------------|---------------------------------------------------------------------|
 * | `USB_NOT_AVAILABLE` | backend cannot run here (package `usb` missing, no /sys/bus/usb)    |
 * | `USB_UNKNOWN_BACKEND` | config names a backend that does not exist (details.valid)        |
 * | `USB_OPEN_FAILED`   | open/claim failed (permissions: udev `uaccess`, busy interface)     |
 * | `USB_STALL`         | the device stalled the request (protocol error on its side)         |
 * | `USB_TIMEOUT`       | no answer within the transfer timeout                               |
 * | `USB_DISCONNECTED`  | the device left the bus (unplug, re-enumeration)                    |
 * | `USB_NOT_FOUND`     | no matching device appeared within the deadline                     |
 * | `USB_IO`            | any other transfer error                                            |
 * | `USB_CLOSED`        | the handle was closed                                               |
 */
export type UsbErrorCode =
  | 'USB_NOT_AVAILABLE'
  | 'USB_UNKNOWN_BACKEND'
  | 'USB_OPEN_FAILED'
  | 'USB_STALL'
  | 'USB_TIMEOUT'
  | 'USB_DISCONNECTED'
  | 'USB_NOT_FOUND'
  | 'USB_IO'
  | 'USB_CLOSED';

export function usbError(
  code: UsbErrorCode,
  message: string,
  details: Record<string, unknown> = {},
  cause?: unknown,
): BusError {
  return new BusError(code, message, details, cause);
}
