import {
  ACK,
  BLOCK_128,
  CAN,
  CHECKSUM_DATA_START_MS,
  CRC_REQUEST,
  NAK,
  type BlockCheck,
  type BlockSize,
} from './constants.js';

/**
 * The YMODEM-1K batch sender for one file as a pure state machine (no I/O, no timers): the runner
 * ({@link YmodemSender}) feeds it received bytes one at a time and timeouts, and carries out the
 * actions it returns. Wire rules from ymodem.txt (§ numbers) and bus-protocols.md §2.3:
 *
 * ```
 * await-start ──'C'──▶ send block 0 ─▶ await-header-ack ──ACK──▶ await-data-start ──'C'──▶ block 1
 * await-data-ack ──ACK──▶ next block … last ACK ─▶ EOT ─▶ await-eot-ack ──NAK──▶ EOT again (§2, fig. 3)
 *     ──ACK──▶ await-final-start ──'C'──▶ null block 0 ─▶ await-final-ack ──ACK──▶ done
 * NAK or timeout on a frame: resend it (≤ maxRetries, §7.3.1); CAN CAN anywhere: failed (§4.1)
 * ```
 *
 * Leniency for real receivers (lrzsz `rb` ACKs the first EOT, bus-protocols.md §2.3): EOT accepts
 * ACK or NAK; a missing 'C' or ACK at the end of the batch is a warning, not a failure, because the
 * file is complete once its EOT is ACKed.
 *
 * Checksum fallback (`checksumFallback`): a receiver that asks for the first block with NAK instead
 * of 'C' wants the original XMODEM 8-bit checksum (§6.1, §7.2); the whole batch then goes in
 * checksum mode with 128-byte blocks (receivers old enough for checksum mode often take SOH only),
 * and a NAK as well as a 'C' starts the data after block 0; when no request comes within
 * CHECKSUM_DATA_START_MS, block 1 goes anyway (an XMODEM receiver does not ask). {@link check}
 * tells the runner how to encode frames.
 *
 * Known limit: a 'C' inside text a bootloader prints before it listens (a banner: "Copyright…")
 * starts block 0 early; the bootloader misses it and block 0 goes again after `ackMs`.
 */

export type SenderState =
  | 'await-start'
  | 'await-header-ack'
  | 'await-data-start'
  | 'await-data-ack'
  | 'await-eot-ack'
  | 'await-final-start'
  | 'await-final-ack'
  | 'done'
  | 'failed';

export type SenderInput =
  /** One byte from the receiver. */
  | { type: 'byte'; byte: number }
  /** The wait given by {@link YmodemSenderMachine.timeoutMs} expired with nothing useful received. */
  | { type: 'timeout' }
  /** The user cancelled. */
  | { type: 'abort' };

export type SenderFailure = 'no-receiver' | 'timeout' | 'too-many-retries' | 'cancelled-by-receiver' | 'aborted';

/** End-of-batch irregularities that leave the file delivered. */
export type SenderWarning =
  'no-end-of-batch-request' | 'end-of-batch-unanswered' | 'end-of-batch-rejected' | 'cancelled-after-eot';

export type SenderAction =
  | { type: 'send-header' }
  /** Send data block `block` (1-based sequence; wire number is `block & 0xFF`) holding image bytes `[offset, offset+length)`. */
  | { type: 'send-data'; block: number; offset: number; length: number; blockSize: BlockSize }
  /** Send the last frame again, unchanged (§4.3: "must not change the length of an unacknowledged block"). */
  | { type: 'resend' }
  | { type: 'send-eot' }
  | { type: 'send-end-of-batch' }
  | { type: 'send-cancel' }
  | { type: 'progress'; bytesDone: number; bytesTotal: number };

export interface SenderMachineConfig {
  /** Image size in bytes. */
  size: number;
  blockSize: BlockSize;
  shortLastBlock: boolean;
  /** Answer a NAK start with checksum mode (128-byte blocks) instead of waiting for 'C'. */
  checksumFallback: boolean;
  endOfBatch: boolean;
  maxRetries: number;
  timeouts: { startMs: number; ackMs: number; endOfBatchMs: number };
}

export class YmodemSenderMachine {
  private current: SenderState = 'await-start';
  private failedIn: SenderState | undefined;
  private failureReason: SenderFailure | undefined;
  private readonly warningList: SenderWarning[] = [];
  private seq = 0;
  private offset = 0;
  private length = 0;
  private errors = 0;
  private naks = 0;
  private retransmissions = 0;
  private cans = 0;
  private checkMode: BlockCheck = 'crc';

  constructor(private readonly cfg: SenderMachineConfig) {}

  /** How frames are checked: decided by the receiver's first request ('C': CRC-16, NAK: checksum). */
  get check(): BlockCheck {
    return this.checkMode;
  }

  get state(): SenderState {
    return this.current;
  }
  get terminal(): boolean {
    return this.current === 'done' || this.current === 'failed';
  }
  /** Why the transfer failed, once `state` is `failed`. */
  get failure():
    { reason: SenderFailure; phase: SenderState; block: number; attempts: number; naks: number } | undefined {
    if (this.failureReason === undefined) return undefined;
    return {
      reason: this.failureReason,
      phase: this.failedIn ?? this.current,
      block: this.seq,
      attempts: this.errors,
      naks: this.naks,
    };
  }
  get warnings(): readonly SenderWarning[] {
    return this.warningList;
  }
  /** Frames sent again after a NAK or a timeout, over the whole transfer. */
  get retries(): number {
    return this.retransmissions;
  }
  /** Image bytes ACKed so far. */
  get bytesDone(): number {
    return Math.min(this.offset, this.cfg.size);
  }
  /** Sequence number of the block in flight: 0 while the header is, n for data block n. */
  get block(): number {
    return this.seq;
  }
  /** How long the runner waits for the next byte in the current state, in ms. */
  get timeoutMs(): number {
    const t = this.cfg.timeouts;
    if (this.current === 'await-start') return t.startMs;
    if (this.current === 'await-data-start' && this.checkMode === 'checksum')
      return Math.min(t.ackMs, CHECKSUM_DATA_START_MS);
    if (this.current === 'await-final-start' || this.current === 'await-final-ack') return t.endOfBatchMs;
    return t.ackMs;
  }

  step(input: SenderInput): SenderAction[] {
    const out: SenderAction[] = [];
    if (this.terminal) return out;
    if (input.type === 'abort') {
      this.fail('aborted', out);
      return out;
    }
    if (input.type === 'timeout') {
      this.onTimeout(out);
      return out;
    }
    const b = input.byte & 0xff;
    if (b === CAN) {
      if (++this.cans >= 2) this.onReceiverCancel();
      return out;
    }
    this.cans = 0;
    this.onByte(b, out);
    return out;
  }

  private onByte(b: number, out: SenderAction[]): void {
    switch (this.current) {
      case 'await-start':
        if (b === CRC_REQUEST) this.sendFrame({ type: 'send-header' }, 'await-header-ack', out);
        else if (b === NAK && this.cfg.checksumFallback) {
          this.checkMode = 'checksum';
          this.sendFrame({ type: 'send-header' }, 'await-header-ack', out);
        }
        return;
      case 'await-header-ack':
        // A repeated 'C' is stale (sent before our block 0 arrived); a lost block 0 shows as NAK or timeout.
        if (b === ACK) this.enter('await-data-start');
        else if (b === NAK) this.retry(true, out);
        return;
      case 'await-data-start':
        if (b === CRC_REQUEST || (b === NAK && this.checkMode === 'checksum')) this.nextBlock(out);
        return;
      case 'await-data-ack':
        if (b === ACK) {
          this.offset += this.length;
          out.push({ type: 'progress', bytesDone: this.bytesDone, bytesTotal: this.cfg.size });
          this.nextBlock(out);
        } else if (b === NAK) this.retry(true, out);
        return;
      case 'await-eot-ack':
        if (b === ACK) {
          if (this.cfg.endOfBatch) this.enter('await-final-start');
          else this.enter('done');
        } else if (b === NAK) this.retry(true, out);
        return;
      case 'await-final-start':
        if (b === CRC_REQUEST || b === NAK) this.sendFrame({ type: 'send-end-of-batch' }, 'await-final-ack', out);
        return;
      case 'await-final-ack':
        if (b === ACK) this.enter('done');
        else if (b === NAK) this.retry(true, out);
        return;
    }
  }

  private onTimeout(out: SenderAction[]): void {
    switch (this.current) {
      case 'await-start':
        this.fail('no-receiver', out);
        return;
      case 'await-data-start':
        // An XMODEM checksum receiver ACKed block 0 as a duplicate and waits for block 1 without asking.
        if (this.checkMode === 'checksum') {
          this.nextBlock(out);
          return;
        }
        // The receiver ACKed block 0; it will ask again (NAK/'C') on its own 10 s timeout (§7.3.2).
        if (++this.errors > this.cfg.maxRetries) this.fail('timeout', out);
        return;
      case 'await-final-start':
        this.warn('no-end-of-batch-request');
        return;
      case 'await-final-ack':
        this.warn('end-of-batch-unanswered');
        return;
      default:
        this.retry(false, out);
    }
  }

  private onReceiverCancel(): void {
    if (this.current === 'await-final-start' || this.current === 'await-final-ack') {
      this.warn('cancelled-after-eot');
      return;
    }
    this.failedIn = this.current;
    this.failureReason = 'cancelled-by-receiver';
    this.current = 'failed';
  }

  /**
   * The data block the receiver's next request would bring (the one after the block in flight, or
   * block 1 while block 0 is): what the runner can build ahead. Undefined when an EOT comes next
   * or no data block is due.
   */
  get upcoming(): { block: number; offset: number; length: number; blockSize: BlockSize } | undefined {
    let offset: number;
    if (this.current === 'await-data-ack') offset = this.offset + this.length;
    else if (this.current === 'await-header-ack' || this.current === 'await-data-start') offset = this.offset;
    else return undefined;
    const layout = this.layoutAt(offset);
    return layout && { block: this.seq + 1, offset, ...layout };
  }

  /** Length and block size of the data block starting at `offset`, or undefined past the image. */
  private layoutAt(offset: number): { length: number; blockSize: BlockSize } | undefined {
    const remaining = this.cfg.size - offset;
    if (remaining <= 0) return undefined;
    const full: BlockSize = this.checkMode === 'checksum' ? BLOCK_128 : this.cfg.blockSize;
    const blockSize: BlockSize = this.cfg.shortLastBlock && remaining <= BLOCK_128 ? BLOCK_128 : full;
    return { length: Math.min(blockSize, remaining), blockSize };
  }

  private nextBlock(out: SenderAction[]): void {
    const layout = this.layoutAt(this.offset);
    if (!layout) {
      this.sendFrame({ type: 'send-eot' }, 'await-eot-ack', out);
      return;
    }
    this.seq++;
    this.length = layout.length;
    this.sendFrame(
      { type: 'send-data', block: this.seq, offset: this.offset, length: this.length, blockSize: layout.blockSize },
      'await-data-ack',
      out,
    );
  }

  private sendFrame(action: SenderAction, next: SenderState, out: SenderAction[]): void {
    out.push(action);
    this.enter(next);
  }

  private enter(next: SenderState): void {
    this.current = next;
    this.errors = 0;
    this.naks = 0;
  }

  private retry(nak: boolean, out: SenderAction[]): void {
    this.errors++;
    if (nak) this.naks++;
    if (this.errors <= this.cfg.maxRetries) {
      this.retransmissions++;
      out.push({ type: 'resend' });
      return;
    }
    if (this.current === 'await-final-ack') this.warn('end-of-batch-rejected');
    else this.fail(this.naks > 0 ? 'too-many-retries' : 'timeout', out);
  }

  private warn(w: SenderWarning): void {
    this.warningList.push(w);
    this.current = 'done';
  }

  private fail(reason: SenderFailure, out: SenderAction[]): void {
    this.failedIn = this.current;
    this.failureReason = reason;
    // Tell a receiver that is still listening to stop (§4.1); one that never started gets nothing.
    if (reason !== 'no-receiver') out.push({ type: 'send-cancel' });
    this.current = 'failed';
  }
}
