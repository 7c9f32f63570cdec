import { crc16Xmodem } from '../crc16-xmodem.js';
import { DEFAULT_MAX_FRAME_SIZE, FRAME_END } from './console-framing.js';

/** Why bytes were thrown away; each is reported once with the byte count. */
export type DiscardReason =
  | 'garbage' // bytes outside any frame (console log text, line noise)
  | 'overlong-frame' // no newline within the frame limit
  | 'bad-base64' // frame body is not valid base64
  | 'orphan-continuation' // 04 14 frame without a packet in progress
  | 'interrupted-packet' // a new 06 09 frame started before the packet was complete
  | 'bad-length' // total_len impossible (< 10 or > maxPacketSize)
  | 'length-overrun' // frames carried more bytes than total_len
  | 'bad-crc'; // CRC-16 mismatch

export interface Discard {
  reason: DiscardReason;
  /** Wire bytes (for garbage / frame errors) or raw packet bytes (for packet errors). */
  bytes: number;
}

export interface ReassemblerOptions {
  /** Largest SMP packet (header + CBOR) accepted, bytes. Default 65535. */
  maxPacketSize?: number;
  /** Frame limit incl. marker and newline, bytes. Default 127 (MCUmgr). Longer frames are garbage. */
  maxFrameSize?: number;
  /** Called for every discard (also counted in {@link SmpConsoleReassembler.stats}). */
  onDiscard?: (d: Discard) => void;
}

/**
 * Bytes → SMP packets for the console transport (framing in `console-framing.ts`). Feed it
 * whatever the link delivered; it returns each complete, CRC-checked packet (header + CBOR).
 * It resyncs on the next `06 09` marker after any error (markers cannot occur inside base64)
 * and reports what it discarded, never throwing on bad input.
 */
export class SmpConsoleReassembler {
  readonly stats = { packets: 0, discards: 0, discardedBytes: 0 };
  private readonly maxPacket: number;
  private readonly frameBuf: Uint8Array;
  private frameLen = 0;
  /** 0 = between frames, 1 = saw first marker byte, 2 = inside a frame body. */
  private state: 0 | 1 | 2 = 0;
  private marker: 'start' | 'continue' = 'start';
  private pendingMarker = 0;
  private garbage = 0;
  private packet: Uint8Array | undefined;
  private packetLen = 0;
  private expected = 0;

  constructor(private readonly options: ReassemblerOptions = {}) {
    this.maxPacket = options.maxPacketSize ?? 0xffff;
    this.frameBuf = new Uint8Array((options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE) - 3);
  }

  /** Forgets any partial frame or packet (e.g. after the device rebooted). */
  reset(): void {
    this.flushGarbage();
    this.state = 0;
    this.frameLen = 0;
    this.packet = undefined;
  }

  feed(data: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < data.length; i++) {
      const b = data[i]!;
      if (this.state === 2) {
        if (b === FRAME_END) {
          this.state = 0;
          const p = this.frame();
          if (p) out.push(p);
        } else if (b === 0x06 || b === 0x04) {
          // A marker inside a frame: the frame was cut short. Resync on it.
          this.discard('overlong-frame', this.frameLen + 2);
          this.state = 1;
          this.pendingMarker = b;
        } else if (b === 0x0d) {
          // tolerate CRLF line ends from console bridges
        } else if (this.frameLen >= this.frameBuf.length) {
          this.discard('overlong-frame', this.frameLen + 3);
          this.state = 0;
        } else {
          this.frameBuf[this.frameLen++] = b;
        }
      } else if (this.state === 1) {
        if ((this.pendingMarker === 0x06 && b === 0x09) || (this.pendingMarker === 0x04 && b === 0x14)) {
          this.flushGarbage();
          this.marker = this.pendingMarker === 0x06 ? 'start' : 'continue';
          this.state = 2;
          this.frameLen = 0;
        } else {
          this.garbage++;
          if (b === 0x06 || b === 0x04) this.pendingMarker = b;
          else {
            this.garbage++;
            this.state = 0;
          }
        }
      } else if (b === 0x06 || b === 0x04) {
        this.state = 1;
        this.pendingMarker = b;
      } else {
        this.garbage++;
      }
    }
    this.flushGarbage();
    return out;
  }

  private frame(): Uint8Array | undefined {
    const text = Buffer.from(this.frameBuf.buffer, this.frameBuf.byteOffset, this.frameLen).toString('latin1');
    if (this.frameLen === 0 || this.frameLen % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
      this.discard('bad-base64', this.frameLen + 3);
      this.dropPacket('interrupted-packet'); // a packet with a lost frame cannot complete
      return undefined;
    }
    let raw = new Uint8Array(Buffer.from(text, 'base64'));
    if (this.marker === 'start') {
      if (this.packet) this.dropPacket('interrupted-packet');
      if (raw.length < 2) return void this.discard('bad-length', raw.length);
      this.expected = (raw[0]! << 8) | raw[1]!;
      if (this.expected < 10 || this.expected - 2 > this.maxPacket) return void this.discard('bad-length', raw.length);
      this.packet = new Uint8Array(this.expected);
      this.packetLen = 0;
      raw = raw.subarray(2);
    } else if (!this.packet) {
      return void this.discard('orphan-continuation', this.frameLen + 3);
    }
    if (this.packetLen + raw.length > this.expected) {
      this.dropPacket('length-overrun', raw.length);
      return undefined;
    }
    this.packet.set(raw, this.packetLen);
    this.packetLen += raw.length;
    if (this.packetLen < this.expected) return undefined;
    const whole = this.packet;
    this.packet = undefined;
    const body = whole.subarray(0, whole.length - 2);
    const crc = (whole[whole.length - 2]! << 8) | whole[whole.length - 1]!;
    if (crc16Xmodem(body) !== crc) return void this.discard('bad-crc', whole.length);
    this.stats.packets++;
    return body;
  }

  private dropPacket(reason: DiscardReason, extra = 0): void {
    if (!this.packet) return;
    this.discard(reason, this.packetLen + extra);
    this.packet = undefined;
  }

  private flushGarbage(): void {
    if (this.garbage > 0) {
      const n = this.garbage;
      this.garbage = 0;
      this.discard('garbage', n);
    }
  }

  private discard(reason: DiscardReason, bytes: number): void {
    this.stats.discards++;
    this.stats.discardedBytes += bytes;
    this.options.onDiscard?.({ reason, bytes });
  }
}
