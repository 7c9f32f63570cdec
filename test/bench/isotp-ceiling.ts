import { frameDurationUs, type BitTiming } from '../../drivers/can/bit-timing.js';
import { makeFrame } from '../../drivers/can/frame.js';

/** Wire time of the frames that carry `size` bytes in TransferData requests of `blockData` bytes. */
export function isoTpCeilingUs(size: number, blockData: number, timing: BitTiming, fd: boolean): number {
  const txDl = fd ? 64 : 8;
  const frame = (len: number) =>
    frameDurationUs(makeFrame({ id: 0x7e0, data: new Uint8Array(len).fill(0x5a), fd, brs: fd }), timing);
  let us = 0;
  for (let left = size; left > 0;) {
    const pdu = 2 + Math.min(blockData, left);
    left -= pdu - 2;
    const ffPayload = txDl - (pdu > 4095 ? 6 : 2);
    us += frame(txDl);
    const rest = pdu - ffPayload;
    const cfs = Math.ceil(rest / (txDl - 1));
    us += (cfs - 1) * frame(txDl);
    const last = rest - (cfs - 1) * (txDl - 1) + 1;
    us += frame(
      fd
        ? Math.max(
            8,
            [8, 12, 16, 20, 24, 32, 48, 64].find((l) => l >= last)!,
          )
        : 8,
    );
  }
  return us;
}
