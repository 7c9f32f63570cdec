import { BusError } from '../../shared/errors.js';

/**
 * MCUboot image header (mcu-tools/mcuboot `boot/bootutil/include/bootutil/image.h`
 * `struct image_header`, little-endian; docs.mcuboot.com/design.html "Image format"):
 *
 * ```
 *  0  u32 ih_magic = 0x96f3b83d     12 u32 ih_img_size
 *  4  u32 ih_load_addr              16 u32 ih_flags
 *  8  u16 ih_hdr_size               20 ih_ver: u8 major, u8 minor, u16 revision, u32 build_num
 * 10  u16 ih_protect_tlv_size       28 u32 _pad1
 * ```
 */
export const MCUBOOT_IMAGE_MAGIC = 0x96f3b83d;
export const MCUBOOT_HEADER_SIZE = 32;

export interface ImageVersion {
  major: number;
  minor: number;
  revision: number;
  build: number;
}

export interface McubootHeader {
  loadAddr: number;
  hdrSize: number;
  protectTlvSize: number;
  imgSize: number;
  flags: number;
  version: ImageVersion;
}

/** Parses the first 32 bytes of an image. Throws BusError `SMP_BAD_IMAGE` on a wrong magic. */
export function parseMcubootHeader(bytes: Uint8Array): McubootHeader {
  if (bytes.length < MCUBOOT_HEADER_SIZE)
    throw new BusError('SMP_BAD_IMAGE', `image is ${bytes.length} bytes, shorter than an MCUboot header`, {
      length: bytes.length,
    });
  const v = new DataView(bytes.buffer, bytes.byteOffset, MCUBOOT_HEADER_SIZE);
  const magic = v.getUint32(0, true);
  if (magic !== MCUBOOT_IMAGE_MAGIC) {
    throw new BusError('SMP_BAD_IMAGE', `not an MCUboot image (magic 0x${magic.toString(16)}, expected 0x96f3b83d)`, {
      magic,
    });
  }
  return {
    loadAddr: v.getUint32(4, true),
    hdrSize: v.getUint16(8, true),
    protectTlvSize: v.getUint16(10, true),
    imgSize: v.getUint32(12, true),
    flags: v.getUint32(16, true),
    version: {
      major: v.getUint8(20),
      minor: v.getUint8(21),
      revision: v.getUint16(22, true),
      build: v.getUint32(24, true),
    },
  };
}

/** Builds a header (for simulators and tests). */
export function buildMcubootHeader(
  h: Partial<Omit<McubootHeader, 'version'>> & { version: ImageVersion; imgSize: number },
): Uint8Array {
  const out = new Uint8Array(MCUBOOT_HEADER_SIZE);
  const v = new DataView(out.buffer);
  v.setUint32(0, MCUBOOT_IMAGE_MAGIC, true);
  v.setUint32(4, h.loadAddr ?? 0, true);
  v.setUint16(8, h.hdrSize ?? MCUBOOT_HEADER_SIZE, true);
  v.setUint16(10, h.protectTlvSize ?? 0, true);
  v.setUint32(12, h.imgSize, true);
  v.setUint32(16, h.flags ?? 0, true);
  v.setUint8(20, h.version.major);
  v.setUint8(21, h.version.minor);
  v.setUint16(22, h.version.revision, true);
  v.setUint32(24, h.version.build, true);
  return out;
}

/**
 * The version string as Zephyr's img_mgmt reports it (`img_mgmt_ver_str`):
 * `major.minor.revision`, plus `.build` when the build number is not 0.
 */
export function formatImageVersion(v: ImageVersion): string {
  return `${v.major}.${v.minor}.${v.revision}${v.build !== 0 ? `.${v.build}` : ''}`;
}

/** Parses `1.2.3` / `1.2.3.4` / `1.2.3+4` (imgtool's form). Returns undefined when malformed. */
export function parseImageVersion(s: string): ImageVersion | undefined {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?(?:[.+](\d+))?$/.exec(s.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), revision: Number(m[3] ?? 0), build: Number(m[4] ?? 0) };
}

/** -1 / 0 / 1 like Zephyr's `img_mgmt_vercmp` (build number included). */
export function compareImageVersions(a: ImageVersion, b: ImageVersion): number {
  for (const k of ['major', 'minor', 'revision', 'build'] as const) if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  return 0;
}
