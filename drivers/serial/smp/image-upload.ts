import { createHash } from 'node:crypto';
import { BusError, throwIfAborted } from '../../shared/errors.js';
import type { ImageSource } from '../../shared/image-source.js';
import { encodeBody, type SmpBody } from './cbor-body.js';
import { SMP_HEADER_SIZE } from './smp-header.js';

/**
 * Image upload logic (group 1 command 1; Zephyr `smp_groups/smp_group_1.rst` "Image upload";
 * reference/bus-protocols.md §2.2), without I/O: which fields a request carries, how much data
 * fits the MTU, and what the device's `off` means next. The runner is `SmpClient.imageUpload`.
 *
 * Resume ("query offset"): the first request (`off` 0) carries `len`, `sha` (SHA-256 of the
 * whole upload) and `image`. A server holding a partial upload with the same `sha` answers
 * with the offset to continue from instead of 0+len; the client continues there. A server may
 * also answer `off: 0` at any time (reboot, lost state): the client then resends the
 * first-packet fields from offset 0.
 */
export interface UploadPlan {
  /** Total bytes of the upload (`len`). */
  size: number;
  /** SHA-256 of the whole upload (`sha`); identifies the session for resume. */
  sha: Uint8Array;
  /** Image number (`image`); left out when undefined (server assumes 0). */
  image?: number;
  /** `upgrade`: refuse versions not newer than the running one. Left out when undefined. */
  upgrade?: boolean;
}

/** The request body for `data` at `off`; first-packet fields only at offset 0. */
export function buildUploadRequest(plan: UploadPlan, off: number, data: Uint8Array): SmpBody {
  if (off === 0) return { image: plan.image, len: plan.size, off, sha: plan.sha, data, upgrade: plan.upgrade };
  return { off, data };
}

/**
 * Largest data length at `off` whose request packet (8-byte header + CBOR) fits `mtu` bytes.
 * Throws BusError `SMP_MTU_TOO_SMALL` when not even one byte fits.
 */
export function fitChunkLength(plan: UploadPlan, off: number, mtu: number): number {
  const empty = encodeBody(buildUploadRequest(plan, off, new Uint8Array(0))).length; // data as 0x40
  const room = mtu - SMP_HEADER_SIZE - empty + 1; // bytes for the bstr head + data
  // CBOR bstr head: 1 byte below 24, 2 below 256, 3 below 65536 (RFC 8949 §3.1).
  const head = (len: number) => (len < 24 ? 1 : len < 256 ? 2 : 3);
  let n = room - 1;
  while (n > 0 && n + head(n) > room) n--;
  n = Math.min(n, plan.size - off);
  if (n < 1 && off < plan.size) {
    throw new BusError('SMP_MTU_TOO_SMALL', `MTU of ${mtu} bytes leaves no room for image data`, {
      mtu,
      overhead: mtu - room,
    });
  }
  return Math.max(0, n);
}

/** What to do after a response. */
export type UploadNext =
  | { kind: 'continue'; off: number; resumed: boolean; restarted: boolean }
  | { kind: 'done'; match: boolean | undefined };

/**
 * Interprets an upload response to a request of `sentLen` bytes at `sentOff`. `resumed`: the
 * device reported more than we sent (it kept an earlier partial upload of the same `sha`);
 * `restarted`: it went back (e.g. to 0 after losing its state). Throws BusError
 * `SMP_UPLOAD_BAD_OFFSET` when `off` is missing or beyond the image, `SMP_IMAGE_MISMATCH` when
 * the final `match` is false.
 */
export function nextUploadStep(plan: UploadPlan, sentOff: number, sentLen: number, rsp: SmpBody): UploadNext {
  const off = rsp.off;
  if (typeof off !== 'number' || !Number.isInteger(off) || off < 0 || off > plan.size) {
    throw new BusError(
      'SMP_UPLOAD_BAD_OFFSET',
      `image upload response has off=${String(off)} (image is ${plan.size} bytes)`,
      { off, size: plan.size, sentOff },
    );
  }
  const match = typeof rsp.match === 'boolean' ? rsp.match : undefined;
  if (off === plan.size) {
    if (match === false)
      throw new BusError('SMP_IMAGE_MISMATCH', 'device reports the uploaded image does not match its SHA-256', {
        size: plan.size,
      });
    return { kind: 'done', match };
  }
  return {
    kind: 'continue',
    off,
    resumed: off > sentOff + sentLen,
    restarted: off < sentOff + sentLen && off <= sentOff,
  };
}

/** SHA-256 of a whole image source, read in `chunk`-byte pieces (never the whole image in memory). */
export async function sha256OfSource(
  source: ImageSource,
  signal?: AbortSignal,
  chunk = 64 * 1024,
): Promise<Uint8Array> {
  const h = createHash('sha256');
  for (let off = 0; off < source.size; off += chunk) {
    throwIfAborted(signal);
    h.update(await source.readAt(off, Math.min(chunk, source.size - off)));
  }
  return new Uint8Array(h.digest());
}
