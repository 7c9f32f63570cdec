import { udsError } from '../errors.js';

/**
 * One UDS service (python-udsoncan `BaseService` shape, style anchors §3): SID, whether it has a
 * sub-function (bit 7 = suppressPosRspMsgIndicationBit), the NRCs ISO 14229-1 allows for it, and
 * pure request encoders / response decoders in the service's own file. No I/O here.
 */
export interface UdsService {
  readonly sid: number;
  readonly name: string;
  readonly hasSubFunction: boolean;
  /**
   * Request bytes after the SID that the positive response repeats (sub-function, DID, routine id,
   * block sequence counter; reference/bus-protocols.md §1.3 table): how the client tells a late answer
   * to an earlier request from the answer to this one. 0 = none.
   */
  readonly echoLength: number;
  /** NRCs the standard lists for this service (besides the general ones 0x10, 0x11, 0x13, 0x21, 0x78). */
  readonly allowedNrcs: readonly number[];
}

/** Positive response SID: request SID + 0x40. */
export const POSITIVE_OFFSET = 0x40;
export const NEGATIVE_RESPONSE_SID = 0x7f;

/** Throws UDS_INVALID_RESPONSE unless `resp` is at least `min` bytes. */
export function requireLength(service: UdsService, resp: Uint8Array, min: number): void {
  if (resp.length < min) {
    throw udsError(
      'UDS_INVALID_RESPONSE',
      `${service.name} response of ${resp.length} bytes, expected at least ${min}`,
      { service: service.name, length: resp.length },
    );
  }
}

/** Big-endian unsigned integer of `bytes` (≤ 6 bytes, exact in a JS number). */
export function readUint(bytes: Uint8Array): number {
  let v = 0;
  for (const b of bytes) v = v * 256 + b;
  return v;
}

/** `value` as `length` big-endian bytes; throws UDS_INVALID_REQUEST if it does not fit. */
export function writeUint(value: number, length: number, field: string): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** (8 * length)) {
    throw udsError('UDS_INVALID_REQUEST', `${field} ${value} does not fit in ${length} bytes`, {
      field,
      value,
      length,
    });
  }
  const out = new Uint8Array(length);
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}

export function concat(...parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
