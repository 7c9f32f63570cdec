import { udsError } from '../errors.js';
import { readUint, requireLength, writeUint, type UdsService } from './service.js';

/** ReadDataByIdentifier 0x22 (ISO 14229-1 §10.2): `22 <DID hi lo>` → `62 <DID> <data>` (one DID per request here). */
export const ReadDataByIdentifier = {
  sid: 0x22,
  name: 'ReadDataByIdentifier',
  hasSubFunction: false,
  echoLength: 2,
  allowedNrcs: [0x13, 0x14, 0x22, 0x31, 0x33],
} as const satisfies UdsService;

/** Identification DIDs of ISO 14229-1 Annex C.1 used by sensor-proxy (reference/bus-protocols.md §1.5). */
export const Did = {
  bootSoftwareIdentification: 0xf180,
  applicationSoftwareIdentification: 0xf181,
  vehicleManufacturerSparePartNumber: 0xf187,
  vehicleManufacturerEcuSoftwareNumber: 0xf188,
  vehicleManufacturerEcuSoftwareVersionNumber: 0xf189,
  systemSupplierIdentifier: 0xf18a,
  ecuManufacturingDate: 0xf18b,
  ecuSerialNumber: 0xf18c,
  vin: 0xf190,
  vehicleManufacturerEcuHardwareNumber: 0xf191,
  systemSupplierEcuHardwareNumber: 0xf192,
  systemSupplierEcuSoftwareNumber: 0xf194,
  systemSupplierEcuSoftwareVersionNumber: 0xf195,
  systemNameOrEngineType: 0xf197,
} as const;

export function encodeReadDataByIdentifier(did: number): Uint8Array {
  return Uint8Array.of(ReadDataByIdentifier.sid, ...writeUint(did, 2, 'did'));
}

export function decodeReadDataByIdentifier(resp: Uint8Array, did: number): Uint8Array {
  requireLength(ReadDataByIdentifier, resp, 3);
  const echoed = readUint(resp.subarray(1, 3));
  if (echoed !== did) {
    throw udsError(
      'UDS_UNEXPECTED_RESPONSE',
      `ReadDataByIdentifier answered DID 0x${echoed.toString(16)}, asked 0x${did.toString(16)}`,
      { service: 'ReadDataByIdentifier', did },
    );
  }
  return resp.slice(3);
}
