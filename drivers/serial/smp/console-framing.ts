import { crc16Xmodem } from '../crc16-xmodem.js';

/**
 * SMP over a UART console (Zephyr `doc/services/device_mgmt/smp_transport.rst` "UART/serial and
 * console"; apache/mynewt-mcumgr `transport/smp-console.md`; reference/bus-protocols.md §2.2):
 *
 * ```
 *  packet  = [total_len u16 BE][SMP header + CBOR][crc16 u16 BE]     total_len = body + 2
 *  frames  = 06 09 base64(piece 1) 0A   04 14 base64(piece 2) 0A   …  (≤ 127 bytes each)
 * ```
 * Each frame is base64-encoded on its own (padded); the CRC (CRC-16/XMODEM over the body only)
 * may straddle two frames, since the receiver reassembles raw bytes up to `total_len`.
 */
export const FRAME_START = [0x06, 0x09] as const;
export const FRAME_CONTINUE = [0x04, 0x14] as const;
export const FRAME_END = 0x0a;

/** MCUmgr's frame limit incl. the 2-byte marker and the newline (smp_transport.rst). */
export const DEFAULT_MAX_FRAME_SIZE = 127;

/** Raw bytes one frame carries: 124 base64 characters → 93 bytes at the default frame size. */
export function rawBytesPerFrame(maxFrameSize = DEFAULT_MAX_FRAME_SIZE): number {
  return Math.floor((maxFrameSize - 3) / 4) * 3;
}

/** Bytes on the wire for an SMP packet of `packetLength` bytes (header + CBOR). */
export function framedSize(packetLength: number, maxFrameSize = DEFAULT_MAX_FRAME_SIZE): number {
  const raw = packetLength + 4;
  const per = rawBytesPerFrame(maxFrameSize);
  const full = Math.floor(raw / per);
  const rest = raw % per;
  return full * (3 + (per / 3) * 4) + (rest > 0 ? 3 + Math.ceil(rest / 3) * 4 : 0);
}

/** Encodes one SMP packet (header + CBOR) into console frames, ready to write. */
export function encodeConsoleFrames(packet: Uint8Array, maxFrameSize = DEFAULT_MAX_FRAME_SIZE): Uint8Array {
  if (maxFrameSize < 7) throw new RangeError(`maxFrameSize ${maxFrameSize} is too small (min 7)`);
  const totalLen = packet.length + 2;
  if (totalLen > 0xffff) throw new RangeError(`SMP packet of ${packet.length} bytes does not fit the 16-bit length`);
  const raw = new Uint8Array(packet.length + 4);
  raw[0] = totalLen >>> 8;
  raw[1] = totalLen & 0xff;
  raw.set(packet, 2);
  const crc = crc16Xmodem(packet);
  raw[raw.length - 2] = crc >>> 8;
  raw[raw.length - 1] = crc & 0xff;

  const per = rawBytesPerFrame(maxFrameSize);
  const out = new Uint8Array(framedSize(packet.length, maxFrameSize));
  let o = 0;
  for (let off = 0; off < raw.length; off += per) {
    const marker = off === 0 ? FRAME_START : FRAME_CONTINUE;
    out[o++] = marker[0];
    out[o++] = marker[1];
    const text = Buffer.from(raw.buffer, raw.byteOffset + off, Math.min(per, raw.length - off)).toString('base64');
    out.set(Buffer.from(text, 'latin1'), o);
    o += text.length;
    out[o++] = FRAME_END;
  }
  return out;
}
