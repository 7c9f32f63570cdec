import { crc32 } from 'node:zlib';
import type { ImageSource } from '../../shared/image-source.js';
import { dfuError } from './dfu-errors.js';

/**
 * The `.dfu` file suffix: the last 16 bytes (DFU 1.1 appendix B; dfu-util `src/dfu_file.c`;
 * reference/bus-protocols.md §3.3):
 *
 * ```
 * bcdDevice(2) idProduct(2) idVendor(2) bcdDFU(2) 'U' 'F' 'D' bLength=16 dwCRC(4)   (all LE)
 * ```
 * dwCRC is CRC-32 (reflected, init 0xFFFFFFFF) over everything before it, *without* the final
 * XOR, i.e. `~crc32(data)`. 0xFFFF in an ID field matches any device.
 */
export interface DfuSuffix {
  bcdDevice: number;
  idProduct: number;
  idVendor: number;
  bcdDFU: number;
  length: number;
  crc: number;
  /** Bytes of firmware before the suffix. */
  payloadSize: number;
}

const SUFFIX_LENGTH = 16;
const CRC_CHUNK = 64 * 1024;
export const DFU_SUFFIX_WILDCARD = 0xffff;

/**
 * Reads and checks the suffix, streaming the file through the CRC. Returns `undefined` when the
 * file has no `UFD` signature (dfu-util only warns then).
 * @throws BusError DFU_FILE_INVALID (bLength), DFU_FILE_CRC (details.expected/actual).
 */
export async function readDfuSuffix(image: ImageSource): Promise<DfuSuffix | undefined> {
  if (image.size < SUFFIX_LENGTH) return undefined;
  const s = await image.readAt(image.size - SUFFIX_LENGTH, SUFFIX_LENGTH);
  if (s[8] !== 0x55 || s[9] !== 0x46 || s[10] !== 0x44) return undefined; // 'U' 'F' 'D'
  const length = s[11]!;
  if (length < SUFFIX_LENGTH || length > image.size)
    throw dfuError('DFU_FILE_INVALID', `.dfu suffix bLength ${length} is invalid`, { bLength: length });
  const u16 = (o: number) => s[o]! | (s[o + 1]! << 8);
  const crc = (s[12]! | (s[13]! << 8) | (s[14]! << 16) | (s[15]! << 24)) >>> 0;
  let c = 0;
  for (let off = 0; off < image.size - 4; off += CRC_CHUNK) {
    c = crc32(await image.readAt(off, Math.min(CRC_CHUNK, image.size - 4 - off)), c);
  }
  const actual = ~c >>> 0;
  if (actual !== crc) {
    throw dfuError(
      'DFU_FILE_CRC',
      `.dfu suffix CRC 0x${crc.toString(16)} does not match the file (0x${actual.toString(16)})`,
      { expected: crc, actual },
    );
  }
  return {
    bcdDevice: u16(0),
    idProduct: u16(2),
    idVendor: u16(4),
    bcdDFU: u16(6),
    length,
    crc,
    payloadSize: image.size - length,
  };
}

/**
 * Checks the suffix IDs against the device (its run-time or DFU-mode IDs both match).
 * @throws BusError DFU_FILE_MISMATCH naming both.
 */
export function checkSuffixMatches(s: DfuSuffix, ids: readonly { vendorId: number; productId: number }[]): void {
  const ok = ids.some(
    (d) =>
      (s.idVendor === DFU_SUFFIX_WILDCARD || s.idVendor === d.vendorId) &&
      (s.idProduct === DFU_SUFFIX_WILDCARD || s.idProduct === d.productId),
  );
  if (!ok) {
    const hex = (v: number) => v.toString(16).padStart(4, '0');
    throw dfuError(
      'DFU_FILE_MISMATCH',
      `.dfu file is for ${hex(s.idVendor)}:${hex(s.idProduct)}, device is ${ids.map((d) => `${hex(d.vendorId)}:${hex(d.productId)}`).join(' / ')}`,
      {
        fileVendor: s.idVendor,
        fileProduct: s.idProduct,
      },
    );
  }
}

/** Appends a valid suffix to `payload` (tests and tools; `dfu-suffix -a` does the same). */
export function withDfuSuffix(
  payload: Uint8Array,
  ids: { vendorId: number; productId: number; bcdDevice?: number; bcdDFU?: number },
): Uint8Array {
  const out = new Uint8Array(payload.length + SUFFIX_LENGTH);
  out.set(payload);
  const o = payload.length;
  const put16 = (at: number, v: number) => {
    out[at] = v & 0xff;
    out[at + 1] = (v >> 8) & 0xff;
  };
  put16(o, ids.bcdDevice ?? 0xffff);
  put16(o + 2, ids.productId);
  put16(o + 4, ids.vendorId);
  put16(o + 6, ids.bcdDFU ?? 0x0100);
  out.set([0x55, 0x46, 0x44, SUFFIX_LENGTH], o + 8);
  const crc = ~crc32(out.subarray(0, out.length - 4)) >>> 0;
  out.set([crc & 0xff, (crc >>> 8) & 0xff, (crc >>> 16) & 0xff, crc >>> 24], o + 12);
  return out;
}

/** The first `size` bytes of `inner` as an image (the payload without its suffix). */
export class ImageSlice implements ImageSource {
  constructor(
    private readonly inner: ImageSource,
    readonly size: number,
  ) {}
  readAt(offset: number, length: number): Promise<Uint8Array> {
    return this.inner.readAt(offset, Math.max(0, Math.min(length, this.size - offset)));
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
