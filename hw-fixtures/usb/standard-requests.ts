import { DescriptorType, REQUEST_GET_DESCRIPTOR } from '../../drivers/usb/descriptors.js';
import { DFU_FUNCTIONAL_DESCRIPTOR_TYPE } from '../../drivers/usb/dfu/constants.js';
import { stringDescriptor } from './dfu-sim-descriptors.js';

/** One control request as the device sees it (USB 2.0 §9.3). */
export interface SetupPacket {
  bmRequestType: number;
  bRequest: number;
  wValue: number;
  wIndex: number;
  wLength: number;
}

/** The device's answer: IN data, a status ACK, or a stall (protocol error, USB 2.0 §8.5.3.4). */
export type ControlReply = { type: 'data'; data: Uint8Array } | { type: 'ack' } | { type: 'stall' };

/** What a simulated device shows for the standard requests. */
export interface DescriptorSource {
  deviceDescriptor(): Uint8Array;
  configDescriptor(): Uint8Array;
  stringText(index: number): string | undefined;
}

/**
 * Standard requests of USB 2.0 §9.4 for a one-configuration, one-interface device: descriptors
 * (device, configuration, strings; the DFU functional descriptor on request, as dfu-util's last
 * resort asks for it), GET_STATUS / GET_INTERFACE / GET_CONFIGURATION; SET_* are acknowledged.
 * On gadgetfs the kernel answers device/configuration descriptors itself; the rest arrive here.
 */
export function standardRequest(s: SetupPacket, d: DescriptorSource): ControlReply {
  const dataIn = (b: Uint8Array): ControlReply => ({ type: 'data', data: b.subarray(0, s.wLength) });
  if (s.bRequest === REQUEST_GET_DESCRIPTOR && (s.bmRequestType & 0x80) !== 0) {
    const kind = s.wValue >> 8;
    const index = s.wValue & 0xff;
    let out: Uint8Array | undefined;
    if (kind === DescriptorType.DEVICE) out = d.deviceDescriptor();
    else if (kind === DescriptorType.CONFIGURATION) out = d.configDescriptor();
    else if (kind === DescriptorType.STRING) out = stringDescriptor(d.stringText(index), index);
    else if (kind === DFU_FUNCTIONAL_DESCRIPTOR_TYPE) out = d.configDescriptor().subarray(18, 27); // after config (9) + interface (9)
    return out ? dataIn(out) : { type: 'stall' };
  }
  if (s.bRequest === 0x00 && (s.bmRequestType & 0x80) !== 0) return dataIn(Uint8Array.of(0, 0)); // GET_STATUS
  if (s.bRequest === 0x0a) return dataIn(Uint8Array.of(0)); // GET_INTERFACE: alt 0
  if (s.bRequest === 0x08) return dataIn(Uint8Array.of(1)); // GET_CONFIGURATION
  return { type: 'ack' }; // SET_CONFIGURATION, SET_INTERFACE, SET/CLEAR_FEATURE
}
