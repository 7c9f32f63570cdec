/**
 * The USB device contract the DFU stack runs on (reference/style-anchors.md §1): control transfers,
 * interface claiming, reset, close. Two backends implement it: npm `usb` 3.x through its WebUSB API
 * (`webusb-backend.ts`, loaded with a dynamic import) and the in-process bus (`memory-usb-bus.ts`)
 * on which test and demo devices live.
 *
 * Teardown contract (both backends): after `close()` every call but `open()` rejects with `USB_CLOSED`; when the
 * device leaves the bus (unplug, re-enumeration after DFU_DETACH or reset) pending and later
 * transfers reject with `USB_DISCONNECTED`; a stalled request rejects with `USB_STALL` and the
 * device stays usable; a transfer that gets no answer within its timeout rejects with
 * `USB_TIMEOUT`. Transfers do not take an AbortSignal: they are short and bounded by a timeout;
 * callers check their signal between transfers.
 */

/** A control request's setup fields (USB 2.0 §9.3), in the WebUSB shape. */
export interface UsbControlSetup {
  requestType: 'standard' | 'class' | 'vendor';
  recipient: 'device' | 'interface' | 'endpoint' | 'other';
  request: number;
  value: number;
  index: number;
}

/** What can be known about a device without opening it. */
export interface UsbDeviceInfo {
  vendorId: number;
  productId: number;
  /** bcdDevice, e.g. 0x0102. */
  bcdDevice: number;
  manufacturer: string | undefined;
  product: string | undefined;
  serialNumber: string | undefined;
  /** Bus and port path (`1-1.2`): stable per physical port, survives re-enumeration. */
  portPath: string;
}

export interface UsbDevice {
  readonly info: UsbDeviceInfo;
  open(): Promise<void>;
  claimInterface(interfaceNumber: number): Promise<void>;
  selectAlternateInterface(interfaceNumber: number, alternateSetting: number): Promise<void>;
  /** Releases a claimed interface (another handle or process may then claim it). */
  releaseInterface(interfaceNumber: number): Promise<void>;
  /**
   * Control IN transfer of up to `length` bytes.
   * @param timeoutMs transfer timeout (ms).
   * @throws BusError USB_STALL | USB_DISCONNECTED | USB_TIMEOUT | USB_IO | USB_CLOSED
   */
  controlIn(setup: UsbControlSetup, length: number, timeoutMs: number): Promise<Uint8Array>;
  /**
   * Control OUT transfer (`data` may be empty: no data stage).
   * @throws BusError USB_STALL | USB_DISCONNECTED | USB_TIMEOUT | USB_IO | USB_CLOSED
   */
  controlOut(setup: UsbControlSetup, data: Uint8Array, timeoutMs: number): Promise<void>;
  /** USB port reset; the device may re-enumerate (then this handle is gone: USB_DISCONNECTED). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** A source of devices: list what is attached now. */
export interface UsbBackend {
  readonly name: string;
  /** @throws BusError USB_NOT_AVAILABLE when the backend cannot run here (no package, no USB). */
  list(): Promise<UsbDevice[]>;
}
