import { fdPaddedLength } from '../frame.js';

/**
 * ISO-TP N_PDU codec (ISO 15765-2 §9.6; reference/bus-protocols.md §1.2). Pure functions over the
 * bytes after the optional address byte (extended/mixed addressing).
 *
 *   SF  0L data…            (FD, CAN_DL > 8: 00 LL data…)
 *   FF  1H LL data…         (FF_DL > 4095: 10 00 L3 L2 L1 L0 data…)
 *   CF  2N data…            N = sequence number, 1 after the FF, wraps F → 0
 *   FC  3S BS ST            S: 0 CTS, 1 WAIT, 2 OVFLW
 */
export type FlowStatus = 'CTS' | 'WAIT' | 'OVFLW';

export type IsoTpPdu =
  | { type: 'SF'; data: Uint8Array }
  | { type: 'FF'; size: number; data: Uint8Array }
  | { type: 'CF'; sn: number; data: Uint8Array }
  | { type: 'FC'; status: FlowStatus; blockSize: number; stMin: number }
  | { type: 'invalid'; reason: string };

/** N_PCI types (high nibble of byte 0). */
export const PCI_SF = 0x0;
export const PCI_FF = 0x1;
export const PCI_CF = 0x2;
export const PCI_FC = 0x3;
const FLOW_STATUS: Record<number, FlowStatus> = { 0: 'CTS', 1: 'WAIT', 2: 'OVFLW' };
const FLOW_STATUS_CODE: Record<FlowStatus, number> = { CTS: 0, WAIT: 1, OVFLW: 2 };
/** Largest FF_DL of the 12-bit form; above it the 32-bit escape is used (ISO 15765-2:2016 §9.6.3.1). */
export const FF_DL_12BIT_MAX = 0xfff;

/**
 * Decodes one PDU. `pdu` excludes the address byte; `frameLength` is the whole CAN frame's data
 * length (it decides whether the FD SF escape is legal: SF_DL 0 on a ≤ 8-byte frame is invalid).
 */
export function decodePdu(pdu: Uint8Array, frameLength: number): IsoTpPdu {
  if (pdu.length === 0) return { type: 'invalid', reason: 'empty frame' };
  const b0 = pdu[0]!;
  const type = b0 >> 4;
  switch (type) {
    case PCI_SF: {
      let len = b0 & 0x0f;
      let start = 1;
      if (len === 0) {
        if (frameLength <= 8 || pdu.length < 2) return { type: 'invalid', reason: 'SF_DL 0 on a classic-length frame' };
        len = pdu[1]!;
        start = 2;
        if (len === 0) return { type: 'invalid', reason: 'SF_DL 0' };
      } else if (frameLength > 8) {
        return { type: 'invalid', reason: 'short SF PCI on an FD frame longer than 8 bytes' };
      }
      if (start + len > pdu.length) return { type: 'invalid', reason: `SF_DL ${len} longer than the frame` };
      return { type: 'SF', data: pdu.subarray(start, start + len) };
    }
    case PCI_FF: {
      if (pdu.length < 2) return { type: 'invalid', reason: 'FF too short' };
      let size = ((b0 & 0x0f) << 8) | pdu[1]!;
      let start = 2;
      if (size === 0) {
        if (pdu.length < 6) return { type: 'invalid', reason: 'FF escape too short' };
        size = ((pdu[2]! << 24) | (pdu[3]! << 16) | (pdu[4]! << 8) | pdu[5]!) >>> 0;
        start = 6;
      }
      return { type: 'FF', size, data: pdu.subarray(start) };
    }
    case PCI_CF:
      return { type: 'CF', sn: b0 & 0x0f, data: pdu.subarray(1) };
    case PCI_FC: {
      const status = FLOW_STATUS[b0 & 0x0f];
      if (status === undefined) return { type: 'invalid', reason: `reserved flow status ${b0 & 0x0f}` };
      if (pdu.length < 3) return { type: 'invalid', reason: 'FC too short' };
      return { type: 'FC', status, blockSize: pdu[1]!, stMin: pdu[2]! };
    }
    default:
      return { type: 'invalid', reason: `reserved N_PCI type ${type}` };
  }
}

/** How frames are laid out for one channel: address byte, TX_DL, padding. */
export interface FrameLayout {
  /** Address byte (extended/mixed addressing) or undefined. */
  prefix: number | undefined;
  /** TX_DL: 8 classic, 12..64 FD. */
  txDataLength: number;
  /** Padding byte, or false for length-optimised frames (classic only). */
  padding: number | false;
}

/** Padding byte used when padding is off but an FD frame must be filled to a valid length. */
const FD_FILL = 0xcc;

/** Builds frame data: [prefix] + body, padded per §10.4.2 (classic: to 8 when padding on; FD > 8: next valid length). */
export function buildFrame(layout: FrameLayout, body: ArrayLike<number>, extra?: Uint8Array): Uint8Array {
  const p = layout.prefix === undefined ? 0 : 1;
  const raw = p + body.length + (extra?.length ?? 0);
  let len = raw;
  if (raw > 8) len = fdPaddedLength(raw);
  else if (layout.padding !== false) len = 8;
  const out = new Uint8Array(len);
  if (p) out[0] = layout.prefix!;
  out.set(body as ArrayLike<number>, p);
  if (extra) out.set(extra, p + body.length);
  if (len > raw) out.fill(layout.padding === false ? FD_FILL : layout.padding, raw);
  return out;
}

/** Largest payload of a single frame for the layout (classic: 7 − prefix; FD: TX_DL − 2 − prefix). */
export function singleFrameMax(layout: FrameLayout): number {
  const p = layout.prefix === undefined ? 0 : 1;
  return layout.txDataLength > 8 ? layout.txDataLength - 2 - p : 7 - p;
}

/** Bytes of payload in one CF (TX_DL − 1 − prefix). */
export function consecutiveFramePayload(layout: FrameLayout): number {
  return layout.txDataLength - 1 - (layout.prefix === undefined ? 0 : 1);
}

export function encodeSingleFrame(layout: FrameLayout, data: Uint8Array): Uint8Array {
  const p = layout.prefix === undefined ? 0 : 1;
  if (data.length <= 7 - p) return buildFrame(layout, [(PCI_SF << 4) | data.length], data);
  return buildFrame(layout, [0x00, data.length], data);
}

/** FF of a message of `size` bytes, filled with the first payload bytes to exactly TX_DL. Returns the frame and the bytes used. */
export function encodeFirstFrame(
  layout: FrameLayout,
  size: number,
  data: Uint8Array,
): { frame: Uint8Array; used: number } {
  const p = layout.prefix === undefined ? 0 : 1;
  const header =
    size <= FF_DL_12BIT_MAX
      ? [(PCI_FF << 4) | (size >> 8), size & 0xff]
      : [PCI_FF << 4, 0, (size >>> 24) & 0xff, (size >>> 16) & 0xff, (size >>> 8) & 0xff, size & 0xff];
  const used = Math.min(data.length, layout.txDataLength - p - header.length);
  return { frame: buildFrame(layout, header, data.subarray(0, used)), used };
}

export function encodeConsecutiveFrame(layout: FrameLayout, sn: number, data: Uint8Array): Uint8Array {
  return buildFrame(layout, [(PCI_CF << 4) | (sn & 0x0f)], data);
}

export function encodeFlowControl(
  layout: FrameLayout,
  status: FlowStatus,
  blockSize: number,
  stMin: number,
): Uint8Array {
  // FC frames are at most 8 bytes, padded only when padding is on (the kernel sends `30 00 00` otherwise).
  return buildFrame({ ...layout, txDataLength: 8 }, [(PCI_FC << 4) | FLOW_STATUS_CODE[status], blockSize, stMin]);
}
