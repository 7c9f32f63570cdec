import type { BusError } from '../../shared/errors.js';
import type { UsbDeviceInfo } from '../usb-device.js';
import { usbError, type UsbErrorCode } from '../usb-errors.js';

/** The udev remedy named by a permission error (as the `usb` backend's). */
export const USBFS_PERMISSION_HINT = 'install the udev rule (sensor-proxy udev-rules)';

/**
 * Maps a system error of the usbfs addon to our code, once, at the backend boundary:
 * EPIPE → USB_STALL; ENODEV / ESHUTDOWN, and EPROTO / EILSEQ once the device is gone → USB_DISCONNECTED;
 * ETIMEDOUT → USB_TIMEOUT; EACCES / EPERM → USB_OPEN_FAILED naming the node and the udev rule; EBUSY on
 * open or claim → USB_OPEN_FAILED; ENOENT on open → USB_DISCONNECTED (the node went with the device);
 * EBADF → USB_CLOSED; anything else → USB_IO with the errno name.
 * @param connected whether the device is still on the bus (asked only for EPROTO / EILSEQ).
 */
export function usbfsError(
  e: unknown,
  what: string,
  info: UsbDeviceInfo,
  devNode: string,
  connected: () => boolean = () => true,
): BusError {
  const errno = typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : undefined;
  const opening = /^(open|claim)/.test(what);
  let code: UsbErrorCode;
  switch (errno) {
    case 'EPIPE':
      code = 'USB_STALL';
      break;
    case 'ENODEV':
    case 'ESHUTDOWN':
      code = 'USB_DISCONNECTED';
      break;
    case 'EPROTO':
    case 'EILSEQ':
      code = connected() ? 'USB_IO' : 'USB_DISCONNECTED';
      break;
    case 'ETIMEDOUT':
      code = 'USB_TIMEOUT';
      break;
    case 'EACCES':
    case 'EPERM':
      code = 'USB_OPEN_FAILED';
      break;
    case 'EBUSY':
      code = opening ? 'USB_OPEN_FAILED' : 'USB_IO';
      break;
    case 'ENOENT':
      code = opening ? 'USB_DISCONNECTED' : 'USB_IO';
      break;
    case 'EBADF':
      code = 'USB_CLOSED';
      break;
    default:
      code = 'USB_IO';
  }
  const why = errno ?? (e instanceof Error ? e.message : String(e));
  const message =
    errno === 'EACCES' || errno === 'EPERM'
      ? `${what}: no permission on ${devNode}: ${USBFS_PERMISSION_HINT} (${why})`
      : errno === 'EBUSY' && opening
        ? `${what}: ${devNode} is busy: another program or a kernel driver holds the interface (${why})`
        : code === 'USB_STALL'
          ? `${what}: stalled`
          : `${what}: ${why}`;
  return usbError(
    code,
    message,
    {
      device: `${info.vendorId.toString(16)}:${info.productId.toString(16)}`,
      serialNumber: info.serialNumber,
      devNode,
      errno,
    },
    e,
  );
}
