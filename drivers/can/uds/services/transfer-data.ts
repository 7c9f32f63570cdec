import { udsError } from '../errors.js';
import { requireLength, type UdsService } from './service.js';

/**
 * TransferData 0x36 (ISO 14229-1 §14.4): `36 <BSC> <data>` → `76 <BSC> [params]`. The block sequence
 * counter starts at 0x01 after RequestDownload and wraps 0xFF → 0x00 (reference §1.3).
 */
export const TransferData = {
  sid: 0x36,
  name: 'TransferData',
  hasSubFunction: false,
  echoLength: 1,
  allowedNrcs: [0x13, 0x24, 0x31, 0x71, 0x72, 0x73, 0x92, 0x93],
} as const satisfies UdsService;

/** The block sequence counter after `bsc` (0xFF wraps to 0x00). */
export function nextBlockSequenceCounter(bsc: number): number {
  return (bsc + 1) & 0xff;
}

export function encodeTransferData(bsc: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + data.length);
  out[0] = TransferData.sid;
  out[1] = bsc & 0xff;
  out.set(data, 2);
  return out;
}

export function decodeTransferData(resp: Uint8Array, bsc: number): Uint8Array {
  requireLength(TransferData, resp, 2);
  if (resp[1] !== (bsc & 0xff)) {
    throw udsError(
      'UDS_UNEXPECTED_RESPONSE',
      `TransferData echoed block 0x${resp[1]!.toString(16)}, sent 0x${bsc.toString(16)}`,
      { service: 'TransferData', sent: bsc, echoed: resp[1] },
    );
  }
  return resp.slice(2);
}
