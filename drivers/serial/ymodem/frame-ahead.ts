import type { ImageSource } from '../../shared/image-source.js';
import { encodeBlock } from './codec.js';
import { CHECKSUM_FRAME_OVERHEAD, FRAME_OVERHEAD, type BlockCheck, type BlockSize } from './constants.js';

/** One data block: sequence number (1-based) and the image bytes `[offset, offset+length)` padded to `blockSize`. */
export interface DataBlock {
  block: number;
  offset: number;
  length: number;
  blockSize: BlockSize;
}

/** An encoded data frame and how many image bytes went into it (fewer than asked: the image ran short). */
export interface BuiltFrame {
  frame: Uint8Array;
  got: number;
}

type Outcome = { ok: true; built: BuiltFrame } | { ok: false; error: unknown };

/** A frame being built ahead; `dropped` once replaced or passed over, so a late read does not encode. */
interface Ahead {
  key: string;
  dropped: boolean;
  result: Outcome | Promise<Outcome>;
}

/** Image bytes read per file read: one thread-pool round trip per window instead of one per block. */
const WINDOW_BYTES = 64 * 1024;

/**
 * Builds the next data frame (image read, header, CRC) while the current one is on the line and
 * awaits its ACK, so the ACK is answered with a single write. Reads the image in windows of
 * {@link WINDOW_BYTES} and encodes into two frame buffers used in turn (the one in flight is never
 * touched: a NAK resends it), so a transfer allocates no memory per block. A frame built ahead
 * that is not asked for (the transfer ended, or the layout differed) is dropped, its read error
 * with it; a used one rethrows.
 */
export class FrameAhead {
  private windowStart = 0;
  private window: Uint8Array = new Uint8Array(0);
  private ahead: Ahead | undefined;
  /** The frame last handed out: on the line or awaiting its ACK. */
  private inFlight: Uint8Array | undefined;
  private readonly buffers = new Map<number, [Uint8Array, Uint8Array]>();

  constructor(private readonly image: ImageSource) {}

  /** Starts building the frame of `d`; synchronous when its bytes are in the window. */
  prepare(d: DataBlock, check: BlockCheck): void {
    if (this.ahead) this.ahead.dropped = true;
    const entry: Ahead = { key: keyOf(d, check), dropped: false, result: { ok: false, error: undefined } };
    const result = this.build(d, check, entry).then(
      (built): Outcome => ({ ok: true, built }),
      (error: unknown): Outcome => ({ ok: false, error }),
    );
    entry.result = result;
    // Once settled, take() hands it out without waiting on a promise.
    void result.then((r) => (entry.result = r));
    this.ahead = entry;
  }

  /**
   * The frame of `d`: the one built ahead when it matches, else built now. It stays valid until
   * the frame after the next is taken.
   */
  async take(d: DataBlock, check: BlockCheck): Promise<BuiltFrame> {
    const a = this.ahead;
    this.ahead = undefined;
    let built: BuiltFrame;
    if (a?.key === keyOf(d, check)) {
      const r = a.result instanceof Promise ? await a.result : a.result;
      if (!r.ok) throw r.error;
      built = r.built;
    } else {
      if (a) a.dropped = true;
      built = await this.build(d, check);
    }
    this.inFlight = built.frame;
    return built;
  }

  private async build(d: DataBlock, check: BlockCheck, entry?: Ahead): Promise<BuiltFrame> {
    const data = this.cached(d.offset, d.length) ?? (await this.fill(d.offset, d.length));
    if (entry?.dropped) return { frame: new Uint8Array(0), got: data.length };
    const into = this.spare(d.blockSize + (check === 'crc' ? FRAME_OVERHEAD : CHECKSUM_FRAME_OVERHEAD));
    return { frame: encodeBlock(d.block, data, d.blockSize, undefined, check, into), got: data.length };
  }

  /** The buffer of this frame length that is not in flight. */
  private spare(length: number): Uint8Array {
    let pair = this.buffers.get(length);
    if (!pair) this.buffers.set(length, (pair = [new Uint8Array(length), new Uint8Array(length)]));
    return pair[0] === this.inFlight ? pair[1] : pair[0];
  }

  private cached(offset: number, length: number): Uint8Array | undefined {
    const end = Math.min(this.image.size, offset + length);
    if (offset < this.windowStart || end > this.windowStart + this.window.length) return undefined;
    return this.window.subarray(offset - this.windowStart, end - this.windowStart);
  }

  /** Reads the window that starts at `offset`; returns what it holds of `[offset, offset+length)` (less when the image ran short). */
  private async fill(offset: number, length: number): Promise<Uint8Array> {
    const window = await this.image.readAt(offset, Math.max(length, WINDOW_BYTES));
    this.windowStart = offset;
    this.window = window;
    return window.subarray(0, Math.min(length, window.length));
  }
}

function keyOf(d: DataBlock, check: BlockCheck): string {
  return `${d.block}:${d.offset}:${d.length}:${d.blockSize}:${check}`;
}
