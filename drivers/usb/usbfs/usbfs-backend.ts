import type { UsbBackend, UsbDevice } from '../usb-device.js';
import type { UsbfsAddon } from './usbfs-addon.js';
import { UsbfsDevice } from './usbfs-device.js';

/** A device as the `usb` package lists it, with its usbfs node. */
export interface ListedUsbDevice extends UsbDevice {
  readonly devNode: string;
}

/** The lister: the `usb` package (WebUsbBackend) in production, a fake in tests. */
export interface UsbDeviceLister {
  list(): Promise<ListedUsbDevice[]>;
}

/**
 * Backend `usbfs` (and `auto` where the addon loads): the `usb` package lists the devices and reads
 * their strings; an opened device's I/O goes through usbfs ({@link UsbfsDevice}). With `fallback`
 * (backend `auto`), a device whose node does not open runs through the package instead.
 */
export class UsbfsBackend implements UsbBackend {
  readonly name = 'usbfs';

  constructor(
    private readonly addon: UsbfsAddon,
    private readonly lister: UsbDeviceLister,
    private readonly fallback?: (why: string, errno: string) => void,
  ) {}

  async list(): Promise<UsbfsDevice[]> {
    const f = this.fallback;
    return (await this.lister.list()).map(
      (d) => new UsbfsDevice(d.info, d.devNode, this.addon, f ? { device: d, onFallback: f } : undefined),
    );
  }
}
