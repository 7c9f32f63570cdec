import { readFileSync } from 'node:fs';
import { isBusError } from '../shared/errors.js';
import { usbError, type UsbErrorCode } from './usb-errors.js';
import type { UsbBackend, UsbControlSetup, UsbDevice, UsbDeviceInfo } from './usb-device.js';

/** The part of npm `usb` 3.x's WebUSB device (napi-rs build) this backend uses. */
interface NativeUsbDevice {
  vendorId: number;
  productId: number;
  deviceVersionMajor: number;
  deviceVersionMinor: number;
  deviceVersionSubminor: number;
  bus: string;
  /** Device address on its bus (devnum). */
  address: number;
  ports: number[];
  readonly manufacturerName: string | null;
  readonly productName: string | null;
  readonly serialNumber: string | null;
  readonly opened: boolean;
  open(): Promise<void>;
  close(): Promise<void>;
  reset(): Promise<void>;
  claimInterface(n: number): Promise<void>;
  releaseInterface(n: number): Promise<void>;
  selectAlternateInterface(n: number, alt: number): Promise<void>;
  nativeControlTransferIn(setup: UsbControlSetup, timeout: number, length: number): Promise<Uint8Array | null>;
  nativeControlTransferOut(setup: UsbControlSetup, timeout: number, data?: Uint8Array | null): Promise<number>;
}
interface UsbModule {
  WebUSB: new (o: { allowAllDevices: boolean }) => { getDevices(): Promise<NativeUsbDevice[]> };
}

let loaded: Promise<UsbModule> | undefined;

/** Loads npm `usb` on first use, so a gateway without it still runs the other buses. */
function loadUsb(): Promise<UsbModule> {
  const name = 'usb';
  loaded ??= (import(name) as Promise<UsbModule>).catch((e: unknown) => {
    loaded = undefined;
    throw usbError(
      'USB_NOT_AVAILABLE',
      'npm package "usb" is not installed or failed to load (npm ci installs it; prebuilt for linux x64/arm64/armhf)',
      {},
      e,
    );
  });
  return loaded;
}

/**
 * Maps an error of the native library to a code, once, at the backend boundary. The napi build
 * reports only messages (no errno), so this is the one place that reads them.
 */
function wrap(e: unknown, what: string, info: UsbDeviceInfo): never {
  if (isBusError(e)) throw e;
  const msg = e instanceof Error ? e.message : String(e);
  const code: UsbErrorCode = /stall/i.test(msg)
    ? 'USB_STALL'
    : /disconnect|no such device|not found|NoDevice/i.test(msg)
      ? 'USB_DISCONNECTED'
      : /timed out|timeout|cancel/i.test(msg)
        ? 'USB_TIMEOUT'
        : /permission|access|busy/i.test(msg) && /open|claim/.test(what)
          ? 'USB_OPEN_FAILED'
          : 'USB_IO';
  const access = code === 'USB_OPEN_FAILED' && /permission|access/i.test(msg);
  throw usbError(
    code,
    access
      ? `${what}: no permission on ${deviceNode(info.portPath)}: install the udev rule (sensor-proxy udev-rules) (${msg})`
      : `${what}: ${msg}`,
    { device: `${info.vendorId.toString(16)}:${info.productId.toString(16)}`, serialNumber: info.serialNumber },
    e,
  );
}

/**
 * `/dev/bus/usb/BBB/DDD` of a device from its sysfs entry (`/sys/bus/usb/devices/<bus>-<ports>`,
 * the same name as `portPath`), so a permission error names the node the udev rule must open up.
 */
function deviceNode(portPath: string): string {
  const sysfsName = portPath.replace(/^0+(?=\d)/, ''); // the backend pads the bus number: 001-1 is sysfs 1-1
  try {
    const attr = (n: string) => readFileSync(`/sys/bus/usb/devices/${sysfsName}/${n}`, 'utf8').trim().padStart(3, '0');
    return `/dev/bus/usb/${attr('busnum')}/${attr('devnum')}`;
  } catch {
    return `/dev/bus/usb (device ${portPath})`; // no sysfs here: name the device by its port path
  }
}

/** `/dev/bus/usb/BBB/DDD` of a listed device (the usbfs backend opens it). */
export function usbDevNode(bus: string, address: number): string {
  return `/dev/bus/usb/${String(Number(bus)).padStart(3, '0')}/${String(address).padStart(3, '0')}`;
}

export class WebUsbDevice implements UsbDevice {
  readonly info: UsbDeviceInfo;
  /** Its usbfs node, `/dev/bus/usb/BBB/DDD`. */
  readonly devNode: string;
  private closed = false;

  constructor(private readonly dev: NativeUsbDevice) {
    this.info = {
      vendorId: dev.vendorId,
      productId: dev.productId,
      bcdDevice: (dev.deviceVersionMajor << 8) | (dev.deviceVersionMinor << 4) | dev.deviceVersionSubminor,
      manufacturer: dev.manufacturerName ?? undefined,
      product: dev.productName ?? undefined,
      serialNumber: dev.serialNumber ?? undefined,
      portPath: `${dev.bus}-${dev.ports.join('.')}`,
    };
    this.devNode = usbDevNode(dev.bus, dev.address);
  }

  private check(): void {
    if (this.closed) throw usbError('USB_CLOSED', 'USB device handle is closed');
  }

  async open(): Promise<void> {
    this.closed = false;
    if (!this.dev.opened) await this.dev.open().catch((e: unknown) => wrap(e, 'open', this.info));
  }
  async claimInterface(n: number): Promise<void> {
    this.check();
    await this.dev.claimInterface(n).catch((e: unknown) => wrap(e, `claim interface ${n}`, this.info));
  }
  async releaseInterface(n: number): Promise<void> {
    this.check();
    await this.dev.releaseInterface(n).catch((e: unknown) => wrap(e, `release interface ${n}`, this.info));
  }
  async selectAlternateInterface(n: number, alt: number): Promise<void> {
    this.check();
    await this.dev.selectAlternateInterface(n, alt).catch((e: unknown) => wrap(e, `select alt ${alt}`, this.info));
  }
  // controlIn/controlOut run once or twice per DFU block: try/catch instead of a `.catch` closure per
  // call, and the native result is returned as it is when it already is a plain Uint8Array.
  async controlIn(setup: UsbControlSetup, length: number, timeoutMs: number): Promise<Uint8Array> {
    this.check();
    let r: Uint8Array | null;
    try {
      r = await this.dev.nativeControlTransferIn(setup, timeoutMs, length);
    } catch (e) {
      wrap(e, `control IN ${setup.request}`, this.info);
    }
    if (r === null) throw usbError('USB_STALL', `control IN ${setup.request}: stalled`, { request: setup.request });
    return r.constructor === Uint8Array ? r : new Uint8Array(r.buffer, r.byteOffset, r.byteLength);
  }
  async controlOut(setup: UsbControlSetup, data: Uint8Array, timeoutMs: number): Promise<void> {
    this.check();
    // `usb` 3.1.0 needs an empty Uint8Array (not undefined) for a request without data stage (reference §7).
    let n: number;
    try {
      n = await this.dev.nativeControlTransferOut(setup, timeoutMs, data);
    } catch (e) {
      wrap(e, `control OUT ${setup.request}`, this.info);
    }
    if (n < 0) throw usbError('USB_STALL', `control OUT ${setup.request}: stalled`, { request: setup.request });
  }
  async reset(): Promise<void> {
    this.check();
    await this.dev.reset().catch((e: unknown) => wrap(e, 'reset', this.info));
  }
  /** Closes the handle; `open()` may open it again. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.dev.opened) {
      await this.dev.close().catch((e: unknown) => {
        // Closing a device that already left the bus fails; the handle is gone either way.
        if (!/disconnect|no such device|not found/i.test(e instanceof Error ? e.message : String(e))) throw e;
      });
    }
  }
}

/** npm `usb` 3.x (WebUSB API, libusb-free napi build that reads sysfs and usbfs). */
export class WebUsbBackend implements UsbBackend {
  readonly name = 'usb';

  async list(): Promise<WebUsbDevice[]> {
    const { WebUSB } = await loadUsb();
    const devices = await new WebUSB({ allowAllDevices: true }).getDevices().catch((e: unknown) => {
      throw usbError(
        'USB_NOT_AVAILABLE',
        `listing USB devices failed: ${e instanceof Error ? e.message : String(e)}`,
        {},
        e,
      );
    });
    return devices.map((d) => new WebUsbDevice(d));
  }
}
