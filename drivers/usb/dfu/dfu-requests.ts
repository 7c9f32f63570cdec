import type { UsbControlSetup } from '../usb-device.js';
import { DescriptorType, REQUEST_GET_DESCRIPTOR } from '../descriptors.js';
import { DfuRequest, dfuStateName, dfuStatusName, GETSTATUS_LENGTH } from './constants.js';

/**
 * Request codec of DFU 1.1 (§3, §6; reference/bus-protocols.md §3.1): setup fields for each
 * class request and the decoder of the GETSTATUS answer. No I/O here.
 */

/** Setup of a DFU class request to interface `iface` (bmRequestType 0x21 OUT / 0xA1 IN). */
export function dfuSetup(request: number, iface: number, wValue = 0): UsbControlSetup {
  return { requestType: 'class', recipient: 'interface', request, value: wValue, index: iface };
}

/** GET_DESCRIPTOR(type, index) to the device (USB 2.0 §9.4.3). */
export function getDescriptorSetup(type: number, index: number, langId = 0): UsbControlSetup {
  return {
    requestType: 'standard',
    recipient: 'device',
    request: REQUEST_GET_DESCRIPTOR,
    value: (type << 8) | index,
    index: type === DescriptorType.STRING ? langId : 0,
  };
}

/** The 6-byte DFU_GETSTATUS answer (DFU 1.1 §6.1.2). */
export interface DfuStatusReport {
  status: number;
  statusName: string;
  /** bwPollTimeout: ms the host must wait before the next GETSTATUS. */
  pollTimeoutMs: number;
  state: number;
  stateName: string;
  /** iString: index of a vendor string describing the status (0 = none). */
  iString: number;
}

/** Decodes GETSTATUS; `undefined` when the answer is short (a broken device). */
export function parseStatus(b: Uint8Array): DfuStatusReport | undefined {
  if (b.length < GETSTATUS_LENGTH) return undefined;
  return {
    status: b[0]!,
    statusName: dfuStatusName(b[0]!),
    pollTimeoutMs: b[1]! | (b[2]! << 8) | (b[3]! << 16),
    state: b[4]!,
    stateName: dfuStateName(b[4]!),
    iString: b[5]!,
  };
}

/** Request names for logs and errors. */
export function dfuRequestName(request: number): string {
  return Object.entries(DfuRequest).find(([, v]) => v === request)?.[0] ?? `request ${request}`;
}
