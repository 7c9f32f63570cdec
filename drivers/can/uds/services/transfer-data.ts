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

/**
 * `36 <BSC> <data>`, written into `into` (a buffer reused for every block of a download, issue 16: no
 * allocation per request) when it is large enough, else into a new array.
 */
export function encodeTransferData(bsc: number, data: Uint8Array, into?: Uint8Array): Uint8Array {
  const out =
    into && into.length >= 2 + data.length ? into.subarray(0, 2 + data.length) : new Uint8Array(2 + data.length);
  out[0] = TransferData.sid;
  out[1] = bsc & 0xff;
  // A caller may have assembled the data in place already (flash-session.ts).
  if (data.buffer !== out.buffer || data.byteOffset !== out.byteOffset + 2) out.set(data, 2);
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
