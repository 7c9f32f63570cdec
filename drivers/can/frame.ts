/**
 * The one CAN frame shape shared by every CAN layer (reference/style-anchors.md §1, python-can
 * `Message`). Data is a `Uint8Array`; Buffers stay inside backends.
 */
export interface CanFrame {
  /** 11-bit (0..0x7FF) or 29-bit (0..0x1FFFFFFF) identifier, without flag bits. */
  readonly id: number;
  /** True for a 29-bit identifier. */
  readonly extended: boolean;
  /** Payload: 0..8 bytes classic, 0..64 bytes (a valid FD length, see {@link CAN_FD_LENGTHS}) FD. */
  readonly data: Uint8Array;
  /** CAN FD frame (FDF). SocketCanBus reports received frames longer than 8 bytes as FD. */
  readonly fd: boolean;
  /** Bit-rate switch for the data phase (FD only). */
  readonly brs: boolean;
  /** Receive or transmit time in µs of the bus clock (monotonic), when known. */
  readonly timestamp?: number;
}

/** What a sender passes: `fd`, `brs`, `extended` default to false (extended: true when id > 0x7FF). */
export interface CanFrameInit {
  id: number;
  data: Uint8Array;
  extended?: boolean;
  fd?: boolean;
  brs?: boolean;
}

/** Largest 11-bit and 29-bit identifiers. */
export const CAN_SFF_MAX = 0x7ff;
export const CAN_EFF_MAX = 0x1fffffff;

/**
 * The lengths a CAN FD frame can carry: DLC 0..8 literal, 9..15 → 12, 16, 20, 24, 32, 48, 64
 * (reference/bus-protocols.md §1.1, Microchip DLC table; Linux `can_fd_dlc2len`).
 */
export const CAN_FD_LENGTHS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64] as const;

/** DLC code (0..15) for a valid frame length; throws RangeError for a length no DLC encodes. */
export function lengthToDlc(length: number): number {
  const dlc = CAN_FD_LENGTHS.indexOf(length as (typeof CAN_FD_LENGTHS)[number]);
  if (dlc < 0) throw new RangeError(`${length} is not a CAN FD data length`);
  return dlc;
}

/** Smallest valid CAN FD length ≥ `length` (Linux `can_fd_len2dlc` rounding, `padlen()` in isotp.c). */
export function fdPaddedLength(length: number): number {
  if (length > 64) throw new RangeError(`${length} bytes do not fit a CAN FD frame`);
  for (const l of CAN_FD_LENGTHS) if (l >= length) return l;
  return 64;
}

/** Normalises a {@link CanFrameInit}, validating id range and length; throws RangeError naming the field. */
export function makeFrame(init: CanFrameInit, timestamp?: number): CanFrame {
  const extended = init.extended ?? init.id > CAN_SFF_MAX;
  const max = extended ? CAN_EFF_MAX : CAN_SFF_MAX;
  if (!Number.isInteger(init.id) || init.id < 0 || init.id > max) {
    throw new RangeError(`frame id 0x${init.id.toString(16)} out of range for a ${extended ? 29 : 11}-bit id`);
  }
  const fd = init.fd ?? false;
  if (fd) {
    if (init.data.length > 64 || fdPaddedLength(init.data.length) !== init.data.length) {
      throw new RangeError(`frame data length ${init.data.length} is not a CAN FD length`);
    }
  } else if (init.data.length > 8) {
    throw new RangeError(`frame data length ${init.data.length} exceeds 8 bytes of classic CAN`);
  }
  const frame: CanFrame = { id: init.id, extended, data: init.data, fd, brs: fd && (init.brs ?? false) };
  return timestamp === undefined ? frame : { ...frame, timestamp };
}

/** `7E0#0201` / `7E0##1AABB` (candump-like) text of a frame, for logs and test messages. */
export function formatFrame(f: CanFrame): string {
  const id = f.id
    .toString(16)
    .toUpperCase()
    .padStart(f.extended ? 8 : 3, '0');
  const hex = Array.from(f.data, (b) => b.toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
  return f.fd ? `${id}##${f.brs ? 1 : 0}${hex}` : `${id}#${hex}`;
}

/** A receive filter: a frame passes when `(frame.id & mask) === (id & mask)` and, if set, `extended` matches. */
export interface CanFilter {
  id: number;
  mask: number;
  /** Match only 29-bit (true) or only 11-bit (false) frames; both when undefined. */
  extended?: boolean;
}

/** True when `frame` passes any of `filters` (no filters: everything passes). */
export function matchesFilters(frame: CanFrame, filters: readonly CanFilter[] | undefined): boolean {
  if (!filters || filters.length === 0) return true;
  for (const f of filters) {
    if (f.extended !== undefined && f.extended !== frame.extended) continue;
    if (((frame.id ^ f.id) & f.mask) === 0) return true;
  }
  return false;
}
