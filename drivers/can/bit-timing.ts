import type { CanFrame } from './frame.js';

/**
 * On-wire time of CAN frames for the memory bus timing model (reference/bus-protocols.md §1.1, §6).
 *
 *   classic: SOF ID(11|11+SRR+IDE+18) RTR IDE/r1 r0 DLC data CRC15 | CRCdel ACK(2) EOF(7) IFS(3)
 *            `--------------- bit-stuffed region (stuff bit after 5 equal bits) ---------------`
 *   FD:      SOF ID r1 IDE FDF res BRS | ESI DLC data SBC(4) CRC17/21+fixed stuff CRCdel | ACK EOF IFS
 *            `---- nominal rate -----`  `------------- data rate when BRS ---------------`  `nominal`
 *
 * Stuff bits of the dynamic region are counted exactly from the frame's bits (classic CRC-15 included);
 * the FD CRC field gets its fixed stuff bits (one per 4 bits) but its dynamic stuffing is not modelled.
 */
export interface BitTiming {
  /** Nominal (arbitration) bit rate in bit/s, e.g. 500_000 or 1_000_000. */
  nominalBitrate: number;
  /** FD data-phase bit rate in bit/s for frames with BRS, e.g. 2_000_000. Default: nominal. */
  dataBitrate?: number;
}

/** Presets named after the usual bus configurations. */
export const BIT_TIMING_PRESETS = {
  classic500k: { nominalBitrate: 500_000 },
  classic1M: { nominalBitrate: 1_000_000 },
  fd500k2M: { nominalBitrate: 500_000, dataBitrate: 2_000_000 },
} as const satisfies Record<string, BitTiming>;

function pushBits(bits: number[], value: number, width: number): void {
  for (let i = width - 1; i >= 0; i--) bits.push((value >>> i) & 1);
}

/** CAN CRC-15 (polynomial 0x4599) over a bit sequence (ISO 11898-1 §10.4.2.6). */
function crc15(bits: readonly number[]): number {
  let crc = 0;
  for (const b of bits) {
    const next = b ^ ((crc >> 14) & 1);
    crc = (crc << 1) & 0x7fff;
    if (next) crc ^= 0x4599;
  }
  return crc;
}

/** Number of stuff bits inserted after each run of 5 equal bits (stuff bits count in later runs). */
export function stuffBitCount(bits: readonly number[]): number {
  let count = 0;
  let run = 0;
  let last = -1;
  for (const b of bits) {
    if (b === last) run++;
    else {
      last = b;
      run = 1;
    }
    if (run === 5) {
      count++;
      last = 1 - b;
      run = 1;
    }
  }
  return count;
}

function dlcOf(length: number): number {
  if (length <= 8) return length;
  return [12, 16, 20, 24, 32, 48, 64].indexOf(length) + 9;
}

function headerBits(frame: CanFrame, fd: boolean): number[] {
  const bits: number[] = [0];
  if (frame.extended) {
    pushBits(bits, frame.id >>> 18, 11);
    bits.push(1, 1);
    pushBits(bits, frame.id & 0x3ffff, 18);
  } else {
    pushBits(bits, frame.id, 11);
  }
  if (fd) bits.push(0, frame.extended ? 0 : 0, 1, 0, frame.brs ? 1 : 0, 0);
  else bits.push(0, frame.extended ? 0 : 0, 0);
  return bits;
}

/** Bits of a frame split by phase: `nominal` at the nominal rate, `data` at the data rate. */
export function frameBits(frame: CanFrame): { nominal: number; data: number } {
  if (!frame.fd) {
    const bits = headerBits(frame, false);
    pushBits(bits, frame.data.length, 4);
    for (const byte of frame.data) pushBits(bits, byte, 8);
    pushBits(bits, crc15(bits), 15);
    return { nominal: bits.length + stuffBitCount(bits) + 1 + 2 + 7 + 3, data: 0 };
  }
  const head = headerBits(frame, true);
  const body: number[] = [];
  pushBits(body, dlcOf(frame.data.length), 4);
  for (const byte of frame.data) pushBits(body, byte, 8);
  const stuffed = stuffBitCount([...head, ...body]);
  const crcLen = frame.data.length <= 16 ? 17 : 21;
  const crcField = 4 + crcLen + Math.ceil((4 + crcLen) / 4);
  // The BRS bit ends the nominal phase; ESI onwards (and the CRC delimiter) run at the data rate.
  const nominalHead = head.length;
  const dataPart = body.length + 1 /* ESI */ + stuffed + crcField + 1;
  return { nominal: nominalHead + 2 + 7 + 3, data: dataPart };
}

/** On-wire time of `frame` in µs under `timing` (data phase at `dataBitrate` only with BRS). */
export function frameDurationUs(frame: CanFrame, timing: BitTiming): number {
  const { nominal, data } = frameBits(frame);
  const dataRate = frame.fd && frame.brs ? (timing.dataBitrate ?? timing.nominalBitrate) : timing.nominalBitrate;
  return (nominal / timing.nominalBitrate + data / dataRate) * 1e6;
}
