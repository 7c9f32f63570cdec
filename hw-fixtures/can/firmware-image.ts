import { writeFile } from 'node:fs/promises';

/**
 * Test firmware images for the ECU simulator: a 32-byte header the simulator's "application" reads
 * after a reset, then pseudo-random code with 0xFF runs (like real images: compressed code plus
 * erased-flash padding, reference/bus-protocols.md §1.1).
 *
 *   0  "SPFW"   4  u32 BE image size   8  version, ASCII, NUL-padded to 24 bytes   32  body…
 */
export const IMAGE_MAGIC = 'SPFW';
export const IMAGE_HEADER_SIZE = 32;

export function makeFirmwareImage(size: number, version: string, seed = 1): Uint8Array {
  if (size < IMAGE_HEADER_SIZE) throw new RangeError(`an image needs at least ${IMAGE_HEADER_SIZE} bytes`);
  const img = new Uint8Array(size);
  img.set(Buffer.from(IMAGE_MAGIC, 'ascii'), 0);
  new DataView(img.buffer).setUint32(4, size);
  const v = Buffer.from(version, 'ascii').subarray(0, 24);
  img.set(v, 8);
  let x = seed >>> 0 || 1;
  for (let i = IMAGE_HEADER_SIZE; i < size; i++) {
    // xorshift32; every 4 KiB block ends with a 256-byte 0xFF run
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    img[i] = (i & 0xfff) >= 0xf00 ? 0xff : x & 0xff;
  }
  return img;
}

/** Reads the version of an image header, or undefined when the bytes carry none. */
export function readImageVersion(header: Uint8Array): string | undefined {
  if (header.length < IMAGE_HEADER_SIZE || Buffer.from(header.subarray(0, 4)).toString('ascii') !== IMAGE_MAGIC)
    return undefined;
  const v = header.subarray(8, 32);
  const end = v.indexOf(0);
  return Buffer.from(end < 0 ? v : v.subarray(0, end)).toString('ascii');
}

/** Writes a test image to `path`; returns it. */
export async function writeFirmwareImage(path: string, size: number, version: string, seed = 1): Promise<Uint8Array> {
  const img = makeFirmwareImage(size, version, seed);
  await writeFile(path, img);
  return img;
}
