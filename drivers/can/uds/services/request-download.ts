import { udsError } from '../errors.js';
import { concat, readUint, requireLength, writeUint, type UdsService } from './service.js';

/**
 * RequestDownload 0x34 (ISO 14229-1 §14.2): `34 <DFI> <ALFID> <address> <size>` →
 * `74 <LFI> <maxNumberOfBlockLength>`. DFI: high nibble compression, low nibble encryption (0x00 = none).
 * ALFID: high nibble = bytes of memorySize, low nibble = bytes of memoryAddress (e.g. 0x44).
 * LFI high nibble = bytes of maxNumberOfBlockLength (udsoncan `RequestDownload.interpret_response`).
 * maxNumberOfBlockLength counts the whole TransferData request incl. SID and block counter, so
 * each block carries max − 2 data bytes (Volvo REQPROD 481257, reference §1.3).
 */
export const RequestDownload = {
  sid: 0x34,
  name: 'RequestDownload',
  hasSubFunction: false,
  echoLength: 0,
  allowedNrcs: [0x13, 0x22, 0x31, 0x33, 0x34, 0x70],
} as const satisfies UdsService;

export interface RequestDownloadParams {
  /** Memory address of the download. */
  address: number;
  /** Bytes to download. */
  size: number;
  /** Bytes of the address field, 1..5 (JS numbers keep ≤ 6 exact). Default 4. */
  addressLength?: number;
  /** Bytes of the size field, 1..5. Default 4. */
  sizeLength?: number;
  /** dataFormatIdentifier. Default 0x00 (no compression, no encryption). */
  dataFormat?: number;
}

export function encodeRequestDownload(p: RequestDownloadParams): Uint8Array {
  const al = p.addressLength ?? 4;
  const sl = p.sizeLength ?? 4;
  if (al < 1 || al > 5 || sl < 1 || sl > 5)
    throw udsError('UDS_INVALID_REQUEST', 'address/size lengths must be 1..5 bytes', {
      addressLength: al,
      sizeLength: sl,
    });
  return concat(
    [RequestDownload.sid, p.dataFormat ?? 0, (sl << 4) | al],
    writeUint(p.address, al, 'memoryAddress'),
    writeUint(p.size, sl, 'memorySize'),
  );
}

export function decodeRequestDownload(resp: Uint8Array): { maxNumberOfBlockLength: number } {
  requireLength(RequestDownload, resp, 3);
  const n = resp[1]! >> 4;
  if (n < 1 || n > 6 || resp.length < 2 + n)
    throw udsError(
      'UDS_INVALID_RESPONSE',
      `RequestDownload: lengthFormatIdentifier 0x${resp[1]!.toString(16)} does not match ${resp.length} bytes`,
      { service: 'RequestDownload' },
    );
  const max = readUint(resp.subarray(2, 2 + n));
  if (max < 3)
    throw udsError('UDS_INVALID_RESPONSE', `RequestDownload: maxNumberOfBlockLength ${max} leaves no room for data`, {
      service: 'RequestDownload',
      max,
    });
  return { maxNumberOfBlockLength: max };
}
