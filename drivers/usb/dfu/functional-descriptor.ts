import type { InterfaceDescriptor } from '../descriptors.js';
import {
  BCD_DFUSE,
  DFU_FUNCTIONAL_DESCRIPTOR_LENGTH,
  DFU_FUNCTIONAL_DESCRIPTOR_TYPE,
  DFU_INTERFACE_CLASS,
  DFU_INTERFACE_SUBCLASS,
  DFU_PROTOCOL_DFU_MODE,
  DFU_PROTOCOL_RUNTIME,
} from './constants.js';

/**
 * The DFU functional descriptor (DFU 1.1 §4.1.3, table 4.2; reference/bus-protocols.md §3.1):
 *
 * ```
 * bLength=9 | 0x21 | bmAttributes | wDetachTimeOut (ms) | wTransferSize (bytes) | bcdDFUVersion
 * ```
 */
export interface DfuFunctionalDescriptor {
  /** bitCanDnload (bit 0). */
  canDownload: boolean;
  /** bitCanUpload (bit 1). */
  canUpload: boolean;
  /** bitManifestationTolerant (bit 2): the device still answers after manifestation. */
  manifestationTolerant: boolean;
  /** bitWillDetach (bit 3): the device re-enumerates itself on DFU_DETACH (no USB reset needed). */
  willDetach: boolean;
  /** ms the device waits for a USB reset after DFU_DETACH. */
  detachTimeoutMs: number;
  /** Maximum bytes per DNLOAD/UPLOAD request. */
  transferSize: number;
  /** 0x0110 DFU 1.1, 0x011A DfuSe. */
  bcdDfuVersion: number;
}

/** Parses a 0x21 descriptor (a 7-byte DFU 1.0 form without bcdDFUVersion reads as 1.0). */
export function parseFunctionalDescriptor(d: Uint8Array): DfuFunctionalDescriptor | undefined {
  if (d.length < 7 || d[1] !== DFU_FUNCTIONAL_DESCRIPTOR_TYPE) return undefined;
  const a = d[2]!;
  return {
    canDownload: (a & 1) !== 0,
    canUpload: (a & 2) !== 0,
    manifestationTolerant: (a & 4) !== 0,
    willDetach: (a & 8) !== 0,
    detachTimeoutMs: d[3]! | (d[4]! << 8),
    transferSize: d[5]! | (d[6]! << 8),
    bcdDfuVersion: d.length >= 9 ? d[7]! | (d[8]! << 8) : 0x0100,
  };
}

export function encodeFunctionalDescriptor(f: DfuFunctionalDescriptor): Uint8Array {
  const attrs =
    (f.canDownload ? 1 : 0) | (f.canUpload ? 2 : 0) | (f.manifestationTolerant ? 4 : 0) | (f.willDetach ? 8 : 0);
  return Uint8Array.of(
    DFU_FUNCTIONAL_DESCRIPTOR_LENGTH,
    DFU_FUNCTIONAL_DESCRIPTOR_TYPE,
    attrs,
    f.detachTimeoutMs & 0xff,
    f.detachTimeoutMs >> 8,
    f.transferSize & 0xff,
    f.transferSize >> 8,
    f.bcdDfuVersion & 0xff,
    f.bcdDfuVersion >> 8,
  );
}

export function isDfuInterface(i: InterfaceDescriptor): boolean {
  return i.bInterfaceClass === DFU_INTERFACE_CLASS && i.bInterfaceSubClass === DFU_INTERFACE_SUBCLASS;
}

/** A DFU interface alt setting with its mode and functional descriptor. */
export interface DfuInterfaceInfo {
  interfaceNumber: number;
  alternateSetting: number;
  /** `runtime` (protocol 1) or `dfu` (protocol 2; DFU 1.0's protocol 0 also reads as dfu mode). */
  mode: 'runtime' | 'dfu';
  iInterface: number;
  functional: DfuFunctionalDescriptor | undefined;
}

/**
 * The DFU interfaces of a configuration. Like dfu-util (`src/dfu_util.c`), the functional descriptor
 * is looked up after the interface; when only one alt setting carries it, the others share it.
 */
export function findDfuInterfaces(interfaces: readonly InterfaceDescriptor[]): DfuInterfaceInfo[] {
  const out: DfuInterfaceInfo[] = [];
  let shared: DfuFunctionalDescriptor | undefined;
  for (const i of interfaces) {
    if (!isDfuInterface(i)) continue;
    const fd = i.extra.map(parseFunctionalDescriptor).find((x) => x !== undefined);
    shared ??= fd;
    out.push({
      interfaceNumber: i.bInterfaceNumber,
      alternateSetting: i.bAlternateSetting,
      mode:
        i.bInterfaceProtocol === DFU_PROTOCOL_RUNTIME
          ? 'runtime'
          : i.bInterfaceProtocol === DFU_PROTOCOL_DFU_MODE || i.bInterfaceProtocol === 0
            ? 'dfu'
            : 'dfu',
      iInterface: i.iInterface,
      functional: fd,
    });
  }
  for (const o of out) o.functional ??= shared;
  return out;
}

export function isDfuse(f: DfuFunctionalDescriptor | undefined): boolean {
  return f?.bcdDfuVersion === BCD_DFUSE;
}
