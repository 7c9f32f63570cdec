import { buildMcubootHeader, parseImageVersion } from '../../drivers/serial/smp/mcuboot-header.js';

/**
 * A small MCUboot-format image for simulators and tests: 32-byte header (magic 0x96f3b83d,
 * version at offset 20) followed by `bodySize` pseudo-random bytes derived from `seed`.
 * No TLVs, so its MCUboot hash is the SHA-256 of the whole image.
 */
export function buildTestImage(version: string, bodySize = 4096, seed = 1): Uint8Array {
  const v = parseImageVersion(version);
  if (!v) throw new Error(`bad image version "${version}"`);
  const header = buildMcubootHeader({ imgSize: bodySize, version: v });
  const out = new Uint8Array(header.length + bodySize);
  out.set(header);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = header.length; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
