import { createHash } from 'node:crypto';
import {
  formatImageVersion,
  MCUBOOT_HEADER_SIZE,
  MCUBOOT_IMAGE_MAGIC,
  parseMcubootHeader,
} from '../../drivers/serial/smp/mcuboot-header.js';

/**
 * The flash side of the simulated MCUmgr/MCUboot device: two slots of one image, the upload in
 * progress, and MCUboot's swap-on-test / revert-unless-confirmed boot logic
 * (docs.mcuboot.com/design.html "Image slots", "Swap"; Zephyr smp_group_1.rst). No I/O here.
 */
export interface SlotImage {
  bytes: Uint8Array;
  version: string;
  /** SHA-256 over header + body (what MCUboot's IMAGE_TLV_SHA256 covers; we add no TLVs). */
  hash: Uint8Array;
}

/** Upload in progress. Kept across a reboot, so a host can continue from `off`. */
export interface UploadState {
  sha: Uint8Array | undefined;
  size: number;
  buf: Uint8Array;
  off: number;
}

export type SlotError = { group: 1; rc: number; v1rc: number; rsn: string };

/** img_mgmt_err_code_t values the simulator returns, with their v1 translation (img_mgmt.c). */
const ERR = {
  invalidLength: { group: 1, rc: 21, v1rc: 3, rsn: 'len missing at off 0' },
  badMagic: { group: 1, rc: 23, v1rc: 1, rsn: 'image header magic mismatch' },
  tooLarge: { group: 1, rc: 30, v1rc: 1, rsn: 'image too large for the slot' },
  hashNotFound: { group: 1, rc: 8, v1rc: 3, rsn: 'no image with that hash' },
  testActiveDenied: { group: 1, rc: 33, v1rc: 3, rsn: 'the running image cannot be marked for test' },
} as const satisfies Record<string, SlotError>;

export function describeImage(bytes: Uint8Array): SlotImage {
  const h = parseMcubootHeader(bytes);
  const covered = bytes.subarray(0, Math.min(bytes.length, h.hdrSize + h.imgSize));
  return {
    bytes,
    version: formatImageVersion(h.version),
    hash: new Uint8Array(createHash('sha256').update(covered).digest()),
  };
}

function hasMagic(b: Uint8Array): boolean {
  return (
    b.length >= MCUBOOT_HEADER_SIZE &&
    new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true) === MCUBOOT_IMAGE_MAGIC
  );
}

const same = (a: Uint8Array | undefined, b: Uint8Array | undefined) =>
  !!a && !!b && a.length === b.length && a.every((x, i) => x === b[i]);

export class McubootSlots {
  primary: SlotImage;
  secondary: SlotImage | undefined;
  primaryConfirmed = true;
  pending: 'none' | 'test' | 'permanent' = 'none';
  upload: UploadState | undefined;
  /** Boots since construction, and what each did. */
  readonly boots: ('normal' | 'swap-test' | 'swap-permanent' | 'revert')[] = [];

  constructor(
    primaryImage: Uint8Array,
    readonly slotSize = 1024 * 1024,
  ) {
    this.primary = describeImage(primaryImage);
  }

  /** `{images: [...]}` as img_mgmt reports it. */
  states(): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [
      {
        image: 0,
        slot: 0,
        version: this.primary.version,
        hash: this.primary.hash,
        bootable: true,
        confirmed: this.primaryConfirmed,
        active: true,
      },
    ];
    if (this.secondary) {
      out.push({
        image: 0,
        slot: 1,
        version: this.secondary.version,
        hash: this.secondary.hash,
        bootable: true,
        pending: this.pending !== 'none',
        confirmed: false,
        permanent: this.pending === 'permanent',
      });
    }
    return out;
  }

  /**
   * One upload request (img_mgmt_upload): returns the response fields or an error. `written` is
   * how many bytes went to flash (0 when the offset was not the expected one or on resume).
   */
  uploadChunk(req: {
    off: number;
    data: Uint8Array;
    len?: number;
    sha?: Uint8Array;
  }): { ok: Record<string, unknown>; written: number } | { err: SlotError } {
    if (req.off === 0) {
      if (req.len === undefined) return { err: ERR.invalidLength };
      if (req.len > this.slotSize) return { err: ERR.tooLarge };
      if (
        this.upload &&
        req.sha &&
        same(this.upload.sha, req.sha) &&
        this.upload.size === req.len &&
        this.upload.off > 0
      ) {
        return { ok: { off: this.upload.off }, written: 0 }; // same session: tell the host where to continue
      }
      if (req.data.length >= MCUBOOT_HEADER_SIZE && !hasMagic(req.data)) return { err: ERR.badMagic };
      this.upload = { sha: req.sha, size: req.len, buf: new Uint8Array(req.len), off: 0 };
      this.secondary = undefined;
      this.pending = 'none';
    }
    const up = this.upload;
    if (!up || req.off !== up.off) return { ok: { off: up?.off ?? 0 }, written: 0 };
    const n = Math.min(req.data.length, up.size - up.off);
    up.buf.set(req.data.subarray(0, n), up.off);
    up.off += n;
    if (up.off < up.size) return { ok: { off: up.off }, written: n };
    this.upload = undefined;
    const match = up.sha ? same(new Uint8Array(createHash('sha256').update(up.buf).digest()), up.sha) : undefined;
    // Only a valid MCUboot image gets a slot 1 entry (img_mgmt skips slots it cannot identify).
    if (match !== false && hasMagic(up.buf)) this.secondary = describeImage(up.buf);
    return { ok: match === undefined ? { off: up.off } : { off: up.off, match }, written: n };
  }

  /** Set state of image (test / confirm), img_mgmt_state_write. */
  setState(req: { hash?: Uint8Array; confirm: boolean }): { err: SlotError } | undefined {
    if (req.confirm && (!req.hash || same(req.hash, this.primary.hash))) {
      this.primaryConfirmed = true;
      return undefined;
    }
    if (req.hash && same(req.hash, this.primary.hash)) return { err: ERR.testActiveDenied };
    if (!req.hash || !this.secondary || !same(req.hash, this.secondary.hash)) return { err: ERR.hashNotFound };
    this.pending = req.confirm ? 'permanent' : 'test';
    return undefined;
  }

  /**
   * MCUboot at boot: a pending secondary is swapped in (test: unconfirmed, reverted at the next
   * boot unless confirmed); an unconfirmed primary after a test swap is swapped back.
   * `crashNewImage`: the tested image fails before confirming, so the device reboots once more
   * and MCUboot reverts (what a watchdog reset of a broken image looks like).
   */
  boot(opts: { crashNewImage?: boolean } = {}): void {
    const swap = () => {
      const old = this.primary;
      this.primary = this.secondary!;
      this.secondary = old;
    };
    if (this.pending !== 'none' && this.secondary) {
      const permanent = this.pending === 'permanent';
      swap();
      this.pending = 'none';
      this.primaryConfirmed = permanent;
      this.boots.push(permanent ? 'swap-permanent' : 'swap-test');
      if (opts.crashNewImage && !permanent) this.boot();
      return;
    }
    if (!this.primaryConfirmed && this.secondary) {
      swap();
      this.primaryConfirmed = true;
      this.boots.push('revert');
      return;
    }
    this.boots.push('normal');
  }
}
