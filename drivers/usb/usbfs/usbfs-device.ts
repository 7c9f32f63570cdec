import type { UsbControlSetup, UsbDevice, UsbDeviceInfo } from '../usb-device.js';
import { BusError } from '../../shared/errors.js';
import { usbError } from '../usb-errors.js';
import type { AddonSystemError, UsbfsAddon, UsbfsHandle } from './usbfs-addon.js';
import { usbfsError } from './usbfs-errors.js';

const REQUEST_TYPE = { standard: 0, class: 1, vendor: 2 } as const;
const RECIPIENT = { device: 0, interface: 1, endpoint: 2, other: 3 } as const;

/** bmRequestType of a setup (USB 2.0 §9.3.1): direction, type, recipient. */
export function bmRequestType(setup: UsbControlSetup, dirIn: boolean): number {
  return (dirIn ? 0x80 : 0) | (REQUEST_TYPE[setup.requestType] << 5) | RECIPIENT[setup.recipient];
}

const isUsbCoded = (e: unknown) => e instanceof BusError;

/** What the device does when its node does not open (backend `auto`: the `usb` package's device). */
export interface UsbfsFallback {
  device: UsbDevice;
  /** Told at each open that falls back: why, and the errno name. */
  onFallback(why: string, errno: string): void;
}

/**
 * A {@link UsbDevice} whose I/O goes through usbfs (our native addon) instead of the `usb` package:
 * control transfers are async URBs on the device node, reaped on the event loop (no thread hops).
 * The `usb` package still lists the device and supplies `info`. With a fallback (backend `auto`), a
 * node that does not open hands every call to the package's device instead.
 */
export class UsbfsDevice implements UsbDevice {
  private handle: UsbfsHandle | undefined;
  private closed = false;
  private viaPackage = false;
  /** The connectivity question asked when EPROTO comes back. */
  private readonly connected = () => this.handle?.connected() ?? false;

  constructor(
    readonly info: UsbDeviceInfo,
    readonly devNode: string,
    private readonly addon: UsbfsAddon,
    private readonly fallback?: UsbfsFallback,
  ) {}

  /** `usbfs`, or `usb` when this device fell back to the package. */
  get io(): 'usbfs' | 'usb' {
    return this.viaPackage ? 'usb' : 'usbfs';
  }

  private live(): UsbfsHandle {
    if (this.closed || !this.handle) throw usbError('USB_CLOSED', 'USB device handle is closed');
    return this.handle;
  }

  async open(): Promise<void> {
    this.closed = false;
    if (this.viaPackage) return this.fallback!.device.open();
    if (this.handle) return;
    try {
      this.handle = new this.addon.UsbfsDevice(this.devNode);
    } catch (e) {
      if (!this.fallback) throw usbfsError(e, 'open', this.info, this.devNode);
      this.viaPackage = true;
      const errno = (e as AddonSystemError).code ?? String(e);
      this.fallback.onFallback(`${this.devNode} does not open through usbfs (${errno})`, errno);
      return this.fallback.device.open();
    }
  }

  async claimInterface(n: number): Promise<void> {
    if (this.viaPackage) return this.fallback!.device.claimInterface(n);
    const h = this.live();
    try {
      h.claimInterface(n);
    } catch (e) {
      throw usbfsError(e, `claim interface ${n}`, this.info, this.devNode, this.connected);
    }
  }

  async releaseInterface(n: number): Promise<void> {
    if (this.viaPackage) return this.fallback!.device.releaseInterface(n);
    const h = this.live();
    try {
      h.releaseInterface(n);
    } catch (e) {
      throw usbfsError(e, `release interface ${n}`, this.info, this.devNode, this.connected);
    }
  }

  selectAlternateInterface(n: number, alt: number): Promise<void> {
    if (this.viaPackage) return this.fallback!.device.selectAlternateInterface(n, alt);
    const h = this.live();
    return new Promise((resolve, reject) => {
      h.setInterface(n, alt, (err) =>
        err ? reject(usbfsError(err, `select alt ${alt}`, this.info, this.devNode, this.connected)) : resolve(),
      );
    });
  }

  // controlIn/controlOut run once or twice per DFU block: one promise and one callback per transfer.
  controlIn(setup: UsbControlSetup, length: number, timeoutMs: number): Promise<Uint8Array> {
    if (this.viaPackage) return this.fallback!.device.controlIn(setup, length, timeoutMs);
    return new Promise((resolve, reject) => {
      const what = () => `control IN ${setup.request}`;
      try {
        this.live().control(
          bmRequestType(setup, true),
          setup.request,
          setup.value,
          setup.index,
          null,
          length,
          timeoutMs,
          (err, r) => {
            if (err) return reject(usbfsError(err, what(), this.info, this.devNode, this.connected));
            const b = r as Buffer;
            resolve(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
          },
        );
      } catch (e) {
        reject(isUsbCoded(e) ? e : usbfsError(e, what(), this.info, this.devNode, this.connected));
      }
    });
  }

  controlOut(setup: UsbControlSetup, data: Uint8Array, timeoutMs: number): Promise<void> {
    if (this.viaPackage) return this.fallback!.device.controlOut(setup, data, timeoutMs);
    return new Promise((resolve, reject) => {
      const what = () => `control OUT ${setup.request}`;
      try {
        this.live().control(
          bmRequestType(setup, false),
          setup.request,
          setup.value,
          setup.index,
          data,
          data.length,
          timeoutMs,
          (err) => {
            if (err) reject(usbfsError(err, what(), this.info, this.devNode, this.connected));
            else resolve();
          },
        );
      } catch (e) {
        reject(isUsbCoded(e) ? e : usbfsError(e, what(), this.info, this.devNode, this.connected));
      }
    });
  }

  reset(): Promise<void> {
    if (this.viaPackage) return this.fallback!.device.reset();
    const h = this.live();
    return new Promise((resolve, reject) => {
      h.reset((err) => (err ? reject(usbfsError(err, 'reset', this.info, this.devNode, () => false)) : resolve()));
    });
  }

  /** Closes the node (the kernel releases its interfaces); `open()` may open it again. */
  async close(): Promise<void> {
    if (this.viaPackage) {
      this.closed = true;
      return this.fallback!.device.close();
    }
    if (this.closed) return;
    this.closed = true;
    const h = this.handle;
    this.handle = undefined;
    h?.close();
  }
}
