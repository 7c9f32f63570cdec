import type { MemoryUsbBus } from '../../drivers/usb/memory-usb-bus.js';
import { parseDeviceDescriptor } from '../../drivers/usb/descriptors.js';
import type { UsbControlSetup, UsbDevice, UsbDeviceInfo } from '../../drivers/usb/usb-device.js';
import { usbError } from '../../drivers/usb/usb-errors.js';
import { DfuDeviceModel, type BusAction, type SetupPacket } from './dfu-device-model.js';
import type { DfuSimOptions } from './dfu-sim-options.js';
import { StringIndex } from './dfu-sim-descriptors.js';

const TYPE = { standard: 0, class: 1, vendor: 2 } as const;
const RECIPIENT = { device: 0, interface: 1, endpoint: 2, other: 3 } as const;

function toSetup(s: UsbControlSetup, dirIn: boolean, wLength: number): SetupPacket {
  return {
    bmRequestType: (dirIn ? 0x80 : 0) | (TYPE[s.requestType] << 5) | RECIPIENT[s.recipient],
    bRequest: s.request,
    wValue: s.value,
    wIndex: s.index,
    wLength,
  };
}

/**
 * The DFU device simulator as an in-process WebUSB-style device on a {@link MemoryUsbBus}: the same
 * {@link DfuDeviceModel} as the gadgetfs device, so unit tests see the same behaviour without the
 * VM. Each enumeration is a new {@link UsbDevice} handle; the old one answers USB_DISCONNECTED.
 */
export class MemoryDfuDevice {
  readonly model: DfuDeviceModel;
  private handle: MemoryDfuHandle | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Port path the device keeps across re-enumerations. */
  readonly portPath: string;

  constructor(
    private readonly bus: MemoryUsbBus,
    options: Partial<DfuSimOptions> = {},
    opts: { portPath?: string; now?: () => number } = {},
  ) {
    this.model = new DfuDeviceModel(options, opts.now);
    this.portPath = opts.portPath ?? '1-1';
    this.model.onBusAction = (a) => this.onAction(a);
    this.plugIn();
  }

  /** The handle currently on the bus (undefined while away). */
  get current(): UsbDevice | undefined {
    return this.handle;
  }

  /** Pulls the device off the bus for good (the test's unplug). */
  unplug(): void {
    clearTimeout(this.timer);
    this.pullOut();
  }

  private plugIn(): void {
    this.model.stats.enumerations++;
    const h: MemoryDfuHandle = new MemoryDfuHandle(this.model, this.info(), (): boolean => this.handle === h);
    this.handle = h;
    this.bus.attach(h);
  }

  private pullOut(): void {
    if (this.handle) this.bus.detach(this.handle);
    this.handle = undefined;
  }

  private info(): UsbDeviceInfo {
    const d = parseDeviceDescriptor(this.model.deviceDescriptor())!;
    return {
      vendorId: d.idVendor,
      productId: d.idProduct,
      bcdDevice: d.bcdDevice,
      manufacturer: this.model.stringText(StringIndex.MANUFACTURER),
      product: this.model.stringText(StringIndex.PRODUCT),
      serialNumber: this.model.stringText(StringIndex.SERIAL),
      portPath: this.portPath,
    };
  }

  private onAction(a: BusAction): void {
    this.pullOut();
    if (a.type === 'vanish') return;
    if (a.delayMs <= 0) this.plugIn();
    else this.timer = setTimeout(() => this.plugIn(), a.delayMs);
  }
}

class MemoryDfuHandle implements UsbDevice {
  private closed = false;

  constructor(
    private readonly model: DfuDeviceModel,
    readonly info: UsbDeviceInfo,
    private readonly onBus: () => boolean,
  ) {}

  private check(): void {
    if (this.closed) throw usbError('USB_CLOSED', 'USB device handle is closed');
    if (!this.onBus())
      throw usbError('USB_DISCONNECTED', 'device left the bus', { serialNumber: this.info.serialNumber });
  }

  async open(): Promise<void> {
    this.closed = false;
    this.check();
  }
  async claimInterface(): Promise<void> {
    this.check();
  }
  async releaseInterface(): Promise<void> {
    this.check();
  }
  async selectAlternateInterface(): Promise<void> {
    this.check();
  }
  async controlIn(setup: UsbControlSetup, length: number): Promise<Uint8Array> {
    this.check();
    const r = this.model.handle(toSetup(setup, true, length));
    if (r.type === 'stall')
      throw usbError('USB_STALL', `control IN ${setup.request}: stalled`, { request: setup.request });
    return r.type === 'data' ? r.data.slice(0, length) : new Uint8Array(0);
  }
  async controlOut(setup: UsbControlSetup, data: Uint8Array): Promise<void> {
    this.check();
    const r = this.model.handle(toSetup(setup, false, data.length), data);
    // Like gadgetfs, an OUT data stage cannot be stalled (reference §7); only no-data requests stall.
    if (r.type === 'stall' && data.length === 0)
      throw usbError('USB_STALL', `control OUT ${setup.request}: stalled`, { request: setup.request });
  }
  async reset(): Promise<void> {
    this.check();
    this.model.busReset();
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}
