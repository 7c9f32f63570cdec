import { DescriptorType } from '../../drivers/usb/descriptors.js';
import {
  BCD_DFU_1_1,
  BCD_DFUSE,
  DFU_INTERFACE_CLASS,
  DFU_INTERFACE_SUBCLASS,
  DFU_PROTOCOL_DFU_MODE,
  DFU_PROTOCOL_RUNTIME,
} from '../../drivers/usb/dfu/constants.js';
import { encodeFunctionalDescriptor } from '../../drivers/usb/dfu/functional-descriptor.js';
import type { DfuSimOptions } from './dfu-sim-options.js';

/** String descriptor indexes of the simulator. */
export const StringIndex = { MANUFACTURER: 1, PRODUCT: 2, SERIAL: 3, INTERFACE: 4, INTERFACE_ALT1: 5 } as const;

/** Device descriptor (USB 2.0 §9.6.1) of the simulator in `mode`. */
export function deviceDescriptor(o: DfuSimOptions, mode: 'runtime' | 'dfu', version: number): Uint8Array {
  const pid = mode === 'runtime' ? o.pid : o.dfuPid;
  return Uint8Array.of(
    18,
    DescriptorType.DEVICE,
    0x00,
    0x02, // bcdUSB 2.00
    0,
    0,
    0,
    64, // class/subclass/protocol per interface, bMaxPacketSize0 64
    o.vid & 0xff,
    o.vid >> 8,
    pid & 0xff,
    pid >> 8,
    version & 0xff,
    version >> 8,
    StringIndex.MANUFACTURER,
    StringIndex.PRODUCT,
    StringIndex.SERIAL,
    1,
  );
}

/**
 * Configuration descriptor with one DFU interface: run-time mode (fe/01/01, one alt) or DFU mode
 * (fe/01/02; DfuSe adds a second alt "option bytes"-like read-only region), each followed by the
 * functional descriptor (DFU 1.1 §4.1.3, §4.2.3).
 */
export function configDescriptor(o: DfuSimOptions, mode: 'runtime' | 'dfu'): Uint8Array {
  const protocol = mode === 'runtime' ? DFU_PROTOCOL_RUNTIME : DFU_PROTOCOL_DFU_MODE;
  const alts = mode === 'dfu' && o.dfuse ? 2 : 1;
  const functional = encodeFunctionalDescriptor({
    canDownload: true,
    canUpload: o.canUpload,
    manifestationTolerant: o.manifestationTolerant,
    willDetach: o.willDetach,
    detachTimeoutMs: o.detachTimeoutMs,
    transferSize: o.transferSize,
    bcdDfuVersion: o.dfuse ? BCD_DFUSE : BCD_DFU_1_1,
  });
  const parts: number[] = [];
  for (let alt = 0; alt < alts; alt++) {
    parts.push(
      9,
      DescriptorType.INTERFACE,
      0,
      alt,
      0,
      DFU_INTERFACE_CLASS,
      DFU_INTERFACE_SUBCLASS,
      protocol,
      alt === 0 ? StringIndex.INTERFACE : StringIndex.INTERFACE_ALT1,
    );
    parts.push(...functional);
  }
  const total = 9 + parts.length;
  return Uint8Array.of(9, DescriptorType.CONFIGURATION, total & 0xff, total >> 8, 1, 1, 0, 0xc0, 50, ...parts);
}

/** Text of string descriptor `index` (0 is the language list, handled by the caller). */
export function stringText(
  o: DfuSimOptions,
  mode: 'runtime' | 'dfu',
  version: number,
  index: number,
): string | undefined {
  const v = `${(version >> 8).toString(16)}.${(version & 0xff).toString(16).padStart(2, '0')}`;
  switch (index) {
    case StringIndex.MANUFACTURER:
      return o.manufacturer;
    case StringIndex.PRODUCT:
      return o.product;
    case StringIndex.SERIAL:
      return o.serialNumber;
    case StringIndex.INTERFACE: {
      if (mode === 'runtime') return `firmware ${v}`;
      if (!o.dfuse) return 'Internal Flash';
      const kb = o.dfuse.pageSize / 1024;
      return `@Internal Flash  /0x${o.dfuse.base.toString(16).padStart(8, '0')}/${o.dfuse.pages}*${String(kb).padStart(3, '0')}Kg`;
    }
    case StringIndex.INTERFACE_ALT1:
      return o.dfuse ? '@Option Bytes  /0x1FFFF800/01*016 a' : undefined;
    default:
      return undefined;
  }
}

/** Encodes a string descriptor (UTF-16LE), or the language list for index 0 (en-US). */
export function stringDescriptor(text: string | undefined, index: number): Uint8Array | undefined {
  if (index === 0) return Uint8Array.of(4, DescriptorType.STRING, 0x09, 0x04);
  if (text === undefined) return undefined;
  const body = Buffer.from(text, 'utf16le');
  const out = new Uint8Array(2 + body.length);
  out[0] = out.length;
  out[1] = DescriptorType.STRING;
  out.set(body, 2);
  return out;
}
