import {
  BLOCK_128,
  BLOCK_1K,
  CHECKSUM_FRAME_OVERHEAD,
  CPMEOF,
  FRAME_OVERHEAD,
  SOH,
  STX,
  type BlockCheck,
  type BlockSize,
} from './constants.js';
import { crc16Xmodem } from '../crc16-xmodem.js';

/**
 * YMODEM block codec: pure encode/decode of one frame (ymodem.txt §4.3, §5, §7.2;
 * bus-protocols.md §2.3). No I/O; the sender and the bootloader simulator both use it.
 */

/** Header fields carried in block 0 (§5): only the name is required; size lets the receiver drop the padding. */
export interface YmodemFileInfo {
  /** File name: no NUL, no space (§5 "No spaces are included in the pathname"), `/` as separator. */
  fileName: string;
  /** Length in bytes, sent in decimal. */
  size: number;
  /** Modification time in seconds since 1970 UTC, sent in octal after the size (§5). Omitted when undefined. */
  mtime?: number;
  /** Unix file mode sent in octal after the mtime (§5; rb checks the 0x8000 regular-file bit). Needs `mtime`. */
  mode?: number;
}

/** A decoded block 0: a file header, or the null header that ends the batch. */
export type YmodemHeader = ({ end: false } & YmodemFileInfo) | { end: true };

/** Why a received frame was rejected (`bad-crc` also stands for a wrong checksum in checksum mode). */
export type FrameRejection = 'bad-type' | 'bad-length' | 'bad-complement' | 'bad-crc';

export type DecodedFrame = { ok: true; blockNumber: number; data: Uint8Array } | { ok: false; reason: FrameRejection };

function overhead(check: BlockCheck): number {
  return check === 'crc' ? FRAME_OVERHEAD : CHECKSUM_FRAME_OVERHEAD;
}

/** The 8-bit arithmetic checksum of XMODEM's checksum mode: the sum of the data bytes, modulo 256 (§7.2). */
export function checksum8(data: Uint8Array, start = 0, end = data.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += data[i]!;
  return sum & 0xff;
}

/** Frame length (type byte to CRC/checksum) for a frame starting with `type`, or undefined for a byte that starts no frame. */
export function frameLength(type: number, check: BlockCheck = 'crc'): number | undefined {
  if (type === SOH) return BLOCK_128 + overhead(check);
  if (type === STX) return BLOCK_1K + overhead(check);
  return undefined;
}

/**
 * Encodes one block: SOH/STX by `blockSize`, `blockNumber & 0xFF` and its complement, the data
 * padded with `pad` up to `blockSize`, then CRC-16/XMODEM over the padded data, high byte first,
 * or in checksum mode their 8-bit sum.
 * @param pad 0x1A (CPMEOF) for data blocks (§4.3), 0x00 for block 0 (§5). Default 0x1A.
 * @param into a buffer of exactly the frame's length to encode into (a sender reusing its frame
 *   buffers); default a new one.
 * @throws RangeError when `data` is longer than `blockSize`, or `into` has the wrong length.
 */
export function encodeBlock(
  blockNumber: number,
  data: Uint8Array,
  blockSize: BlockSize,
  pad = CPMEOF,
  check: BlockCheck = 'crc',
  into?: Uint8Array,
): Uint8Array {
  if (data.length > blockSize) throw new RangeError(`block data is ${data.length} bytes, more than ${blockSize}`);
  const length = blockSize + overhead(check);
  if (into && into.length !== length) throw new RangeError(`frame buffer is ${into.length} bytes, not ${length}`);
  const frame = into ?? new Uint8Array(length);
  const n = blockNumber & 0xff;
  frame[0] = blockSize === BLOCK_1K ? STX : SOH;
  frame[1] = n;
  frame[2] = 0xff - n;
  frame.set(data, 3);
  if (data.length < blockSize) frame.fill(pad, 3 + data.length, 3 + blockSize);
  if (check === 'checksum') {
    frame[3 + blockSize] = checksum8(frame, 3, 3 + blockSize);
    return frame;
  }
  const crc = crc16Xmodem(frame, 3, 3 + blockSize);
  frame[3 + blockSize] = crc >>> 8;
  frame[4 + blockSize] = crc & 0xff;
  return frame;
}

/**
 * Encodes block 0 for one file: `name NUL size[ SP mtime-octal[ SP mode-octal]]`, NUL-padded; a 1024-byte block
 * when the text does not fit in 128 bytes (§5 note 4).
 * @throws RangeError when the name is empty, holds NUL or space, or the header exceeds 1024 bytes;
 *   when size is not a non-negative integer.
 */
export function encodeHeaderBlock(info: YmodemFileInfo, check: BlockCheck = 'crc'): Uint8Array {
  const { fileName, size, mtime, mode } = info;
  if (fileName.length === 0 || /[\0 ]/.test(fileName))
    throw new RangeError(`YMODEM file name "${fileName}" is empty or holds a NUL or space`);
  if (!Number.isSafeInteger(size) || size < 0)
    throw new RangeError(`YMODEM file size ${size} is not a non-negative integer`);
  let fields = String(size);
  // Fields may not be skipped (§5 note 3): a mode goes only after an mtime.
  if (mtime !== undefined) fields += ` ${Math.max(0, Math.floor(mtime)).toString(8)}`;
  if (mtime !== undefined && mode !== undefined) fields += ` ${Math.max(0, Math.floor(mode)).toString(8)}`;
  const text = new TextEncoder().encode(`${fileName}\0${fields}`);
  // One NUL must follow the fields so the receiver finds their end.
  if (text.length + 1 > BLOCK_1K)
    throw new RangeError(`YMODEM header for "${fileName}" is ${text.length} bytes, more than a 1024-byte block`);
  return encodeBlock(0, text, text.length + 1 > BLOCK_128 ? BLOCK_1K : BLOCK_128, 0, check);
}

/** The null block 0 that ends a batch (§5 "Transmission of a null pathname terminates batch file transmission"). */
export function encodeEndOfBatchBlock(check: BlockCheck = 'crc'): Uint8Array {
  return encodeBlock(0, new Uint8Array(0), BLOCK_128, 0, check);
}

/**
 * Checks a complete frame (`frameLength(frame[0], check)` bytes): type, complement and CRC (or checksum).
 * The returned `data` is a view into `frame`, padding included.
 */
export function decodeFrame(frame: Uint8Array, check: BlockCheck = 'crc'): DecodedFrame {
  const len = frameLength(frame[0] ?? -1, check);
  if (len === undefined) return { ok: false, reason: 'bad-type' };
  if (frame.length !== len) return { ok: false, reason: 'bad-length' };
  const n = frame[1]!;
  if (((n + frame[2]!) & 0xff) !== 0xff) return { ok: false, reason: 'bad-complement' };
  const dataLen = len - overhead(check);
  if (check === 'checksum') {
    if (checksum8(frame, 3, 3 + dataLen) !== frame[3 + dataLen]) return { ok: false, reason: 'bad-crc' };
    return { ok: true, blockNumber: n, data: frame.subarray(3, 3 + dataLen) };
  }
  const crc = (frame[3 + dataLen]! << 8) | frame[4 + dataLen]!;
  if (crc16Xmodem(frame, 3, 3 + dataLen) !== crc) return { ok: false, reason: 'bad-crc' };
  return { ok: true, blockNumber: n, data: frame.subarray(3, 3 + dataLen) };
}

/**
 * Parses the data of block 0 (§5). A first byte of NUL is the end of the batch. Fields after the
 * name are optional; a missing or unparsable size comes back as `size: -1` (unknown length).
 */
export function parseHeaderBlock(data: Uint8Array): YmodemHeader {
  if (data.length === 0 || data[0] === 0) return { end: true };
  const nul = data.indexOf(0);
  const nameEnd = nul < 0 ? data.length : nul;
  const fileName = new TextDecoder('latin1').decode(data.subarray(0, nameEnd));
  let fieldsEnd = nul < 0 ? data.length : data.indexOf(0, nul + 1);
  if (fieldsEnd < 0) fieldsEnd = data.length;
  const fields = nul < 0 ? [] : new TextDecoder('latin1').decode(data.subarray(nul + 1, fieldsEnd)).split(' ');
  const size = fields[0] !== undefined && /^\d+$/.test(fields[0]) ? Number(fields[0]) : -1;
  const info: { end: false } & YmodemFileInfo = { end: false, fileName, size };
  if (fields[1] !== undefined && /^[0-7]+$/.test(fields[1])) info.mtime = parseInt(fields[1], 8);
  if (fields[2] !== undefined && /^[0-7]+$/.test(fields[2])) info.mode = parseInt(fields[2], 8);
  return info;
}
