import { BusError } from '../../shared/errors.js';
import type { SmpBody } from './cbor-body.js';

/**
 * Typed decoding of image group responses (group 1; Zephyr `smp_groups/smp_group_1.rst`
 * "Get state of images response"). Booleans absent from the response mean false.
 */
export interface ImageSlotState {
  /** Image number (absent on single-image devices → 0). */
  image: number;
  /** 0 = primary (runs), 1 = secondary (receives uploads). */
  slot: number;
  version: string;
  /** SHA-256 from the image's MCUboot TLV (not the SHA of the uploaded file). */
  hash: Uint8Array | undefined;
  bootable: boolean;
  pending: boolean;
  confirmed: boolean;
  active: boolean;
  permanent: boolean;
}

/** Decodes `{images: [...]}`. Throws BusError `SMP_BAD_RESPONSE` when `images` is missing. */
export function decodeImageStates(body: SmpBody): ImageSlotState[] {
  if (!Array.isArray(body.images))
    throw new BusError('SMP_BAD_RESPONSE', 'image state response has no "images" array', { keys: Object.keys(body) });
  return body.images.map((raw: unknown, i: number) => {
    if (raw === null || typeof raw !== 'object')
      throw new BusError('SMP_BAD_RESPONSE', `images[${i}] is not a map`, {});
    const m = raw as Record<string, unknown>;
    return {
      image: typeof m.image === 'number' ? m.image : 0,
      slot: typeof m.slot === 'number' ? m.slot : i,
      version: typeof m.version === 'string' ? m.version : '',
      hash: m.hash instanceof Uint8Array ? m.hash : undefined,
      bootable: m.bootable === true,
      pending: m.pending === true,
      confirmed: m.confirmed === true,
      active: m.active === true,
      permanent: m.permanent === true,
    };
  });
}

/** Hex form of a hash for logs and result details. */
export function hashHex(hash: Uint8Array | undefined): string {
  return hash ? Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString('hex') : '';
}

export function sameHash(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}
