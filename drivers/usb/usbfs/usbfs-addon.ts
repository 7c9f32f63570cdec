import { loadIsoTpAddon, type AddonSystemError } from '../../can/kernel-isotp/addon.js';

/**
 * The usbfs part of our native addon (`native/isotp/src/usbfs_device.cc`, the same `sp_isotp.node`
 * as the kernel ISO-TP sockets; built by `make native`). One opened device node
 * (/dev/bus/usb/BBB/DDD); control transfers are async URBs reaped on the event loop.
 * Errors are system errors: `code` is the errno name (EPIPE = stall, ETIMEDOUT = our timeout, ENODEV =
 * the device left the bus, EBADF = closed).
 */
export interface UsbfsHandle {
  /** USBDEVFS_CLAIMINTERFACE (no kernel driver is detached). Throws a system error. */
  claimInterface(n: number): void;
  /** USBDEVFS_RELEASEINTERFACE. Throws a system error. */
  releaseInterface(n: number): void;
  /** USBDEVFS_SETINTERFACE (a SET_INTERFACE request; runs on the libuv thread pool). */
  setInterface(n: number, alt: number, cb: (err: AddonSystemError | null) => void): void;
  /**
   * One control transfer. IN when bit 7 of `bmRequestType` is set: `result` is the data received
   * (up to `wLength` bytes); OUT: the data stage is `data` and `result` the bytes sent. `timeoutMs`
   * 0: none. Throws a system error when the URB cannot be submitted.
   */
  control(
    bmRequestType: number,
    bRequest: number,
    wValue: number,
    wIndex: number,
    data: Uint8Array | null,
    wLength: number,
    timeoutMs: number,
    cb: (err: AddonSystemError | null, result: Buffer | number | undefined) => void,
  ): void;
  /** USBDEVFS_RESET (port reset; thread pool). */
  reset(cb: (err: AddonSystemError | null) => void): void;
  /** False once usbfs reports the device gone. */
  connected(): boolean;
  /** Closes the node; pending transfers fail with EBADF. */
  close(): void;
}

export interface UsbfsAddon {
  UsbfsDevice: new (devNode: string) => UsbfsHandle;
}

export type { AddonSystemError };

/** The usbfs part of the addon, or why it cannot be used (not built, or built before it had usbfs). */
export function loadUsbfsAddon(): { addon: UsbfsAddon } | { error: string } {
  const a = loadIsoTpAddon();
  if ('error' in a) return { error: a.error.replace('kernel ISO-TP addon', 'native addon') };
  const usbfs = a.addon as unknown as Partial<UsbfsAddon>;
  if (typeof usbfs.UsbfsDevice !== 'function')
    return { error: 'the native addon was built without usbfs (rebuild it with `make native`)' };
  return { addon: usbfs as UsbfsAddon };
}
