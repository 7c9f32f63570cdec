import { udsError } from '../errors.js';
import { requireLength, type UdsService } from './service.js';

/** ECUReset 0x11 (ISO 14229-1 §9.3): `11 <type>` → `51 <type> [powerDownTime s]`. */
export const EcuReset = {
  sid: 0x11,
  name: 'ECUReset',
  hasSubFunction: true,
  echoLength: 1,
  allowedNrcs: [0x12, 0x13, 0x22, 0x33],
} as const satisfies UdsService;

export const ResetType = { hardReset: 0x01, keyOffOnReset: 0x02, softReset: 0x03 } as const;

export function encodeEcuReset(type: number, suppressResponse = false): Uint8Array {
  return Uint8Array.of(EcuReset.sid, (type & 0x7f) | (suppressResponse ? 0x80 : 0));
}

/** Returns the powerDownTime in seconds when present (only for enableRapidPowerShutDown). */
export function decodeEcuReset(resp: Uint8Array, type: number): { powerDownTimeS: number | undefined } {
  requireLength(EcuReset, resp, 2);
  if ((resp[1]! & 0x7f) !== (type & 0x7f)) {
    throw udsError(
      'UDS_UNEXPECTED_RESPONSE',
      `ECUReset echoed type 0x${resp[1]!.toString(16)}, asked 0x${type.toString(16)}`,
      { service: 'ECUReset' },
    );
  }
  return { powerDownTimeS: resp.length > 2 ? resp[2] : undefined };
}
