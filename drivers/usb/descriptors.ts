/**
 * Standard USB descriptor parsing (USB 2.0 §9.6): the device descriptor and a full configuration
 * descriptor as returned by GET_DESCRIPTOR(CONFIGURATION). The DFU host reads the raw configuration
 * because the WebUSB API of npm `usb` 3.x hides class descriptors (reference/bus-protocols.md §7).
 */

/** bDescriptorType values (USB 2.0 §9.4, table 9-5). */
export const DescriptorType = {
  DEVICE: 0x01,
  CONFIGURATION: 0x02,
  STRING: 0x03,
  INTERFACE: 0x04,
  ENDPOINT: 0x05,
} as const;

/** Standard request GET_DESCRIPTOR (USB 2.0 §9.4.3). */
export const REQUEST_GET_DESCRIPTOR = 0x06;

export interface DeviceDescriptor {
  bcdUSB: number;
  bDeviceClass: number;
  bMaxPacketSize0: number;
  idVendor: number;
  idProduct: number;
  bcdDevice: number;
  iManufacturer: number;
  iProduct: number;
  iSerialNumber: number;
  bNumConfigurations: number;
}

/** One interface alternate setting and the class-specific descriptors that follow it. */
export interface InterfaceDescriptor {
  bInterfaceNumber: number;
  bAlternateSetting: number;
  bInterfaceClass: number;
  bInterfaceSubClass: number;
  bInterfaceProtocol: number;
  iInterface: number;
  /** Descriptors between this interface and the next one (class-specific, endpoints), raw. */
  extra: Uint8Array[];
}

export interface ConfigDescriptor {
  bConfigurationValue: number;
  wTotalLength: number;
  interfaces: InterfaceDescriptor[];
}

const u16 = (b: Uint8Array, o: number) => (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8);

/** Parses an 18-byte device descriptor; `undefined` when it is too short or not type DEVICE. */
export function parseDeviceDescriptor(b: Uint8Array): DeviceDescriptor | undefined {
  if (b.length < 18 || b[1] !== DescriptorType.DEVICE) return undefined;
  return {
    bcdUSB: u16(b, 2),
    bDeviceClass: b[4]!,
    bMaxPacketSize0: b[7]!,
    idVendor: u16(b, 8),
    idProduct: u16(b, 10),
    bcdDevice: u16(b, 12),
    iManufacturer: b[14]!,
    iProduct: b[15]!,
    iSerialNumber: b[16]!,
    bNumConfigurations: b[17]!,
  };
}

/**
 * Walks a configuration descriptor and its trailing descriptors. Stops at a zero or overlong
 * bLength (a truncated read) instead of looping; what was complete is returned.
 */
export function parseConfigDescriptor(b: Uint8Array): ConfigDescriptor | undefined {
  if (b.length < 9 || b[1] !== DescriptorType.CONFIGURATION) return undefined;
  const total = Math.min(u16(b, 2), b.length);
  const out: ConfigDescriptor = { bConfigurationValue: b[5]!, wTotalLength: u16(b, 2), interfaces: [] };
  let current: InterfaceDescriptor | undefined;
  for (let o = b[0]!; o + 2 <= total;) {
    const len = b[o]!;
    if (len < 2 || o + len > total) break;
    const d = b.subarray(o, o + len);
    if (d[1] === DescriptorType.INTERFACE && len >= 9) {
      current = {
        bInterfaceNumber: d[2]!,
        bAlternateSetting: d[3]!,
        bInterfaceClass: d[5]!,
        bInterfaceSubClass: d[6]!,
        bInterfaceProtocol: d[7]!,
        iInterface: d[8]!,
        extra: [],
      };
      out.interfaces.push(current);
    } else if (current) {
      current.extra.push(d);
    }
    o += len;
  }
  return out;
}

/** Decodes a string descriptor (UTF-16LE after the 2-byte header). */
export function decodeStringDescriptor(b: Uint8Array): string {
  if (b.length < 2 || b[1] !== DescriptorType.STRING) return '';
  const len = Math.min(b[0]!, b.length) & ~1;
  return Buffer.from(b.buffer, b.byteOffset + 2, Math.max(0, len - 2)).toString('utf16le');
}

/** bcdDevice as `M.mm` (USB 2.0 §9.6.1: binary-coded decimal; 0x0102 → "1.02"). */
export function formatBcd(bcd: number): string {
  return `${(bcd >> 8).toString(16)}.${(bcd & 0xff).toString(16).padStart(2, '0')}`;
}
