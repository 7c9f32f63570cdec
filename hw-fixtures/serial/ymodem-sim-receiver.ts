import { decodeFrame, frameLength, parseHeaderBlock, type YmodemFileInfo } from '../../drivers/serial/ymodem/codec.js';
import {
  ACK,
  CAN,
  CANCEL_SEQUENCE,
  CRC_REQUEST,
  EOT,
  FRAME_OVERHEAD,
  NAK,
  SOH,
  type BlockCheck,
} from '../../drivers/serial/ymodem/constants.js';

/**
 * The receiving half of the YMODEM bootloader simulator: one batch, as a bootloader's receive
 * loop does it (ymodem.txt §5, §7.3.2, §7.4), with fault switches. Timings come from options so
 * tests can shrink them; the defaults are the spec's.
 */

/** Fault switches. Block numbers are data-block sequence numbers (1 = first data block). */
export interface YmodemSimFaults {
  /** Flip a data bit of block `block` as received, `times` times (default 1): the CRC fails → NAK. */
  corruptBlock?: { block: number; times?: number };
  /** Lose `count` bytes of block `block`, `times` times (default 1): the frame runs short → inter-byte timeout → purge → NAK. */
  dropBytes?: { block: number; count: number; times?: number };
  /**
   * Go silent for `ms` after block `block` arrives (a long flash erase with the UART off); input
   * that arrives meanwhile is lost (overrun), then the block is ACKed. `ms: Infinity` never answers again.
   */
  stall?: { block: number; ms: number };
  /** Close the port when block `block` starts to arrive (device unplugged / reset mid-transfer). */
  disappearAt?: { block: number };
  /** NAK the good block `block` `count` times before taking it. */
  nakStorm?: { block: number; count: number };
  /** NAK the first EOT, as the spec example does (figure 3). Default true; false = ACK it at once, as lrzsz `rb` did. */
  nakFirstEot?: boolean;
  /** After the EOT's ACK, boot at once: no 'C', no null block 0 (many vendor bootloaders). */
  noEndOfBatch?: boolean;
}

export interface ReceiverTiming {
  /** Interval of 'C's while waiting for block 0, ms. Default 1000. */
  cIntervalMs: number;
  /** Silence before NAKing a missing block (§7.3.2: 10 s), ms. Default 10000. */
  blockTimeoutMs: number;
  /** Gap inside a frame that counts as a broken frame (§7.3.2: 1 s), ms; also the quiet time of PURGE. Default 1000. */
  interByteTimeoutMs: number;
  /** Flash write time per data block before its ACK, ms. Default 0. */
  flashWriteMsPerBlock: number;
  /** Erase time before block 0 is ACKed, ms. Default 0. */
  eraseMs: number;
  /** Errors in a row before the receiver gives up and cancels (§7.3.1: 10). Default 10. */
  maxErrors: number;
}

/** What the receiver needs from its surroundings; all waits end when the simulator stops. */
export interface ReceiverIo {
  /** Resolves with ≥1 byte, or undefined after `timeoutMs` of silence. */
  read(max: number, timeoutMs: number): Promise<Uint8Array | undefined>;
  write(data: Uint8Array): Promise<void>;
  /** Drops input received and not yet read. */
  discard(): void;
  /** Waits `ms` (Infinity: until the simulator stops, then rejects). */
  sleep(ms: number): Promise<void>;
  disappear(): Promise<void>;
}

export interface ReceivedFile extends YmodemFileInfo {
  /** The file truncated to its announced size (§5), or everything received when no size was sent. */
  data: Uint8Array;
}

export interface BatchStats {
  blocks: number;
  naks: number;
  duplicates: number;
}

export type BatchOutcome =
  | { kind: 'complete'; files: ReceivedFile[]; endOfBatch: boolean }
  | { kind: 'cancelled'; files: ReceivedFile[] }
  | { kind: 'failed'; reason: 'too-many-errors' | 'out-of-sequence'; files: ReceivedFile[] }
  | { kind: 'gone'; files: ReceivedFile[] };

type Frame =
  | { t: 'frame'; blk: number; data: Uint8Array }
  | { t: 'bad'; reason: string }
  | { t: 'eot' }
  | { t: 'cancel' }
  | { t: 'timeout' }
  | { t: 'gone' };

type Abort = 'cancelled' | 'gone' | 'out-of-sequence' | 'too-many-errors';

const MAX_IMAGE = 64 * 1024 * 1024;

export class YmodemSimReceiver {
  readonly stats: BatchStats = { blocks: 0, naks: 0, duplicates: 0 };
  /** `performance.now()` when the first file header of the current batch arrived intact. */
  headerAt: number | undefined;
  private readonly pending: { corrupt: number; drop: number; storm: number; stall: boolean; disappear: boolean };
  /** What asks for a block before any has arrived: 'C' (CRC-16) or, in checksum mode, NAK (§6.1, §7.2). */
  private readonly request: number;

  /**
   * @param check `checksum`: an old XMODEM-style receiver that asks with NAK, checks the 8-bit
   *   arithmetic checksum and takes 128-byte (SOH) blocks only; an STX frame is line noise to it
   *   and ends in a timeout and a NAK, as on such a bootloader.
   */
  constructor(
    private readonly io: ReceiverIo,
    private readonly t: ReceiverTiming,
    private readonly faults: YmodemSimFaults = {},
    private readonly check: BlockCheck = 'crc',
  ) {
    this.request = check === 'crc' ? CRC_REQUEST : NAK;
    this.pending = {
      corrupt: faults.corruptBlock ? (faults.corruptBlock.times ?? 1) : 0,
      drop: faults.dropBytes ? (faults.dropBytes.times ?? 1) : 0,
      storm: faults.nakStorm?.count ?? 0,
      stall: faults.stall !== undefined,
      disappear: faults.disappearAt !== undefined,
    };
  }

  /** Receives one batch: 'C' until block 0, the files, the null block 0. */
  async receiveBatch(): Promise<BatchOutcome> {
    const files: ReceivedFile[] = [];
    this.headerAt = undefined;
    const stop = (why: Abort): BatchOutcome =>
      why === 'cancelled' || why === 'gone' ? { kind: why, files } : { kind: 'failed', reason: why, files };
    let header = await this.receiveHeader(true);
    while (typeof header === 'object') {
      const file = await this.receiveFile(header);
      if (typeof file === 'string') return stop(file);
      files.push(file);
      if (this.faults.noEndOfBatch) return { kind: 'complete', files, endOfBatch: false };
      header = await this.receiveHeader(false);
    }
    if (header === 'end' || header === 'no-end') return { kind: 'complete', files, endOfBatch: header === 'end' };
    return stop(header);
  }

  /** Block 0 phase. `first`: keep asking forever; after a file, give up after maxErrors 'C's (sender left). */
  private async receiveHeader(first: boolean): Promise<YmodemFileInfo | 'end' | 'no-end' | Abort> {
    let tries = 0;
    for (;;) {
      await this.io.write(Uint8Array.of(this.request));
      const f = await this.readFrame(this.t.cIntervalMs, 0);
      if (f.t === 'gone' || f.t === 'cancel') return f.t === 'gone' ? 'gone' : 'cancelled';
      if (f.t === 'timeout') {
        if (!first && ++tries > this.t.maxErrors) return 'no-end';
        continue;
      }
      if (f.t === 'eot') {
        await this.io.write(Uint8Array.of(ACK)); // our ACK of the EOT was lost: the sender repeats it
        continue;
      }
      if (f.t === 'bad' || f.blk !== 0) {
        await this.nak();
        continue;
      }
      const h = parseHeaderBlock(f.data);
      if (h.end) {
        await this.io.write(Uint8Array.of(ACK));
        return 'end';
      }
      this.headerAt ??= performance.now();
      if (this.t.eraseMs > 0) await this.io.sleep(this.t.eraseMs);
      await this.io.write(Uint8Array.of(ACK));
      const { end: _end, ...info } = h;
      return info;
    }
  }

  private async receiveFile(info: YmodemFileInfo): Promise<ReceivedFile | Abort> {
    const known = info.size >= 0;
    let buf = new Uint8Array(known ? Math.min(info.size, MAX_IMAGE) : 64 * 1024);
    let length = 0;
    let expected = 1;
    let errors = 0;
    let eotNaked = false;
    await this.io.write(Uint8Array.of(this.request));
    for (;;) {
      const f = await this.readFrame(this.t.blockTimeoutMs, expected);
      if (f.t === 'gone') return 'gone';
      if (f.t === 'cancel') return 'cancelled';
      if (f.t === 'timeout' || f.t === 'bad') {
        if (++errors > this.t.maxErrors) {
          await this.io.write(CANCEL_SEQUENCE);
          return 'too-many-errors';
        }
        if (f.t === 'timeout' && expected === 1) await this.io.write(Uint8Array.of(this.request));
        else await this.nak();
        continue;
      }
      if (f.t === 'eot') {
        if ((this.faults.nakFirstEot ?? true) && !eotNaked) {
          eotNaked = true;
          await this.nak(false); // a lone EOT: nothing to purge
          continue;
        }
        await this.io.write(Uint8Array.of(ACK));
        return { ...info, data: buf.slice(0, known ? Math.min(info.size, length) : length) };
      }
      if (f.blk === ((expected - 1) & 0xff)) {
        // A repeat of the block we ACKed: our ACK got lost (§7.3.2 case 2). For block 0, ask for data again.
        this.stats.duplicates++;
        await this.io.write(expected === 1 ? Uint8Array.of(ACK, this.request) : Uint8Array.of(ACK));
        continue;
      }
      if (f.blk !== (expected & 0xff)) {
        await this.io.write(CANCEL_SEQUENCE);
        return 'out-of-sequence';
      }
      if (this.faults.nakStorm?.block === expected && this.pending.storm > 0) {
        this.pending.storm--;
        await this.nak(false);
        continue;
      }
      if (this.faults.stall?.block === expected && this.pending.stall) {
        this.pending.stall = false;
        await this.io.sleep(this.faults.stall.ms);
        this.io.discard();
      }
      if (this.t.flashWriteMsPerBlock > 0) await this.io.sleep(this.t.flashWriteMsPerBlock);
      const take = known ? Math.max(0, Math.min(f.data.length, info.size - length)) : f.data.length;
      if (length + take > buf.length) {
        if (length + take > MAX_IMAGE) throw new Error(`simulator image limit ${MAX_IMAGE} bytes exceeded`);
        const grown = new Uint8Array(Math.max(buf.length * 2, length + take));
        grown.set(buf.subarray(0, length));
        buf = grown;
      }
      buf.set(f.data.subarray(0, take), length);
      length += take;
      this.stats.blocks++;
      errors = 0;
      expected++;
      await this.io.write(Uint8Array.of(ACK));
    }
  }

  /** PURGE ("wait for the line to clear", §7.3.2, §7.4), then NAK. */
  private async nak(purge = true): Promise<void> {
    if (purge) while ((await this.io.read(4096, this.t.interByteTimeoutMs)) !== undefined);
    this.stats.naks++;
    await this.io.write(Uint8Array.of(NAK));
  }

  /** Fills `buf[from..to)`; false when a gap exceeds the inter-byte timeout (§7.3.2). */
  private async readInto(buf: Uint8Array, from: number, to: number): Promise<boolean> {
    let at = from;
    while (at < to) {
      const chunk = await this.io.read(to - at, this.t.interByteTimeoutMs);
      if (chunk === undefined) return false;
      buf.set(chunk, at);
      at += chunk.length;
    }
    return true;
  }

  /** Waits up to `waitMs` for a frame start (skipping noise), then reads the frame with the inter-byte timeout. */
  private async readFrame(waitMs: number, expected: number): Promise<Frame> {
    const until = performance.now() + waitMs;
    let type = -1;
    while (type < 0) {
      const left = Math.ceil(until - performance.now());
      const b = left > 0 ? await this.io.read(1, left) : undefined;
      if (b === undefined) return { t: 'timeout' };
      const c = b[0]!;
      if (c === EOT) return { t: 'eot' };
      if (c === CAN) {
        const next = await this.io.read(1, this.t.interByteTimeoutMs);
        if (next?.[0] !== CAN) continue;
        // Swallow the rest of the sender's CAN/BS burst so it does not cancel the next session too.
        while ((await this.io.read(4096, this.t.interByteTimeoutMs)) !== undefined);
        return { t: 'cancel' };
      }
      if (frameLength(c, this.check) !== undefined && (this.check === 'crc' || c === SOH)) type = c;
    }
    const frame = new Uint8Array(frameLength(type, this.check)!);
    frame[0] = type;
    if (!(await this.readInto(frame, 1, 3))) return { t: 'bad', reason: 'short' };
    if (expected > 0 && frame[1] === (expected & 0xff)) {
      if (this.faults.disappearAt?.block === expected && this.pending.disappear) {
        this.pending.disappear = false;
        await this.io.disappear();
        return { t: 'gone' };
      }
      if (this.faults.dropBytes?.block === expected && this.pending.drop > 0) {
        this.pending.drop--;
        // The lost bytes never reach the buffer: the frame completes with later bytes or runs short.
        const lost = new Uint8Array(this.faults.dropBytes.count);
        if (!(await this.readInto(lost, 0, lost.length))) return { t: 'bad', reason: 'short' };
      }
    }
    if (!(await this.readInto(frame, 3, frame.length))) return { t: 'bad', reason: 'short' };
    if (this.faults.corruptBlock?.block === expected && frame[1] === (expected & 0xff) && this.pending.corrupt > 0) {
      this.pending.corrupt--;
      frame[FRAME_OVERHEAD + 10]! ^= 0x40;
    }
    const d = decodeFrame(frame, this.check);
    return d.ok ? { t: 'frame', blk: d.blockNumber, data: d.data } : { t: 'bad', reason: d.reason };
  }
}
