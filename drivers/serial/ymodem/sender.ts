import type { Logger } from 'pino';
import { withDeadline } from '../../shared/deadline.js';
import { BusError, CancelledError, isBusError, isCancelled, throwIfAborted } from '../../shared/errors.js';
import type { ImageSource } from '../../shared/image-source.js';
import type { SerialLink } from '../link.js';
import { encodeEndOfBatchBlock, encodeHeaderBlock } from './codec.js';
import { CANCEL_SEQUENCE, EOT } from './constants.js';
import { ymodemError } from './errors.js';
import {
  resolveYmodemSenderOptions,
  type ResolvedYmodemSenderOptions,
  type YmodemSenderOptions,
} from './sender-options.js';
import { FrameAhead } from './frame-ahead.js';
import { YmodemSenderMachine, type SenderAction, type SenderWarning } from './sender-machine.js';

/** Progress of one transfer: image bytes the receiver has ACKed. */
export interface YmodemProgress {
  bytesDone: number;
  bytesTotal: number;
}

export interface YmodemSendRequest {
  /** Name sent in block 0 (no spaces, no NUL). */
  fileName: string;
  /** Modification time (s since 1970) sent in block 0; omitted when undefined. */
  mtime?: number;
  /** Aborting stops at the next frame boundary, sends CAN×8 + BS×8 and rejects with CancelledError. */
  signal?: AbortSignal;
  /** Called after each ACKed data block (once the next frame is written). */
  onProgress?: (p: YmodemProgress) => void;
}

export interface YmodemSendResult {
  bytesSent: number;
  /** Data blocks sent (retransmissions not counted). */
  blocks: number;
  /** Frames sent again after a NAK or a timeout. */
  retries: number;
  /** End-of-batch irregularities tolerated (the file was delivered). */
  warnings: SenderWarning[];
}

/** Bytes asked for per read; receivers answer with one or two control bytes. */
const READ_CHUNK = 64;
/** Deadline for writing the cancel sequence after a failure or abort. */
const CANCEL_WRITE_MS = 1_000;

/**
 * YMODEM-1K batch sender of one file over a {@link SerialLink}: runs {@link YmodemSenderMachine}
 * with the link, the clock and the signal. Streams the image from its {@link ImageSource} in
 * 64 KiB windows; the next frame is built while the current one awaits its ACK ({@link FrameAhead}),
 * so an ACK is answered with one write.
 *
 * Before each frame it drops unread input ("the sender tosses any characters in its UART buffer",
 * ymodem.txt §7.4), and after a frame it ignores the rest of the read that triggered it, so stale
 * 'C's and duplicate NAKs do not cause extra retransmissions.
 */
export class YmodemSender {
  private readonly opts: ResolvedYmodemSenderOptions;
  private readonly log: Logger | undefined;

  /** @throws BusError `YMODEM_INVALID_OPTIONS` for a bad option. */
  constructor(
    private readonly link: SerialLink,
    options: YmodemSenderOptions = {},
  ) {
    this.opts = resolveYmodemSenderOptions(options);
    this.log = this.opts.log;
  }

  /**
   * Sends `image` as one YMODEM batch: waits for 'C' (or NAK: checksum mode), block 0, the data,
   * EOT, and the null block 0.
   * @throws BusError `YMODEM_NO_RECEIVER` (`timeouts.startMs`), `YMODEM_TIMEOUT` (`timeouts.ackMs` ×
   *   `attempts.maxRetries`), `YMODEM_TOO_MANY_RETRIES` (`attempts.maxRetries`),
   *   `YMODEM_CANCELLED_BY_RECEIVER`, `YMODEM_WRITE_TIMEOUT` (`timeouts.writeMs`), `YMODEM_IMAGE_READ`,
   *   `YMODEM_INVALID_OPTIONS` (file name), link errors (`SERIAL_*`) unchanged; CancelledError on `signal`.
   */
  async send(image: ImageSource, req: YmodemSendRequest): Promise<YmodemSendResult> {
    const { signal } = req;
    const info = { fileName: req.fileName, size: image.size, ...(req.mtime === undefined ? {} : { mtime: req.mtime }) };
    // Checked before anything is sent; encoded again once the receiver chose CRC or checksum mode.
    let header: Uint8Array;
    try {
      header = encodeHeaderBlock(info);
    } catch (e) {
      throw ymodemError('YMODEM_INVALID_OPTIONS', (e as Error).message, { field: 'fileName' }, e);
    }
    if (signal?.aborted) throw new CancelledError(signal.reason);
    const o = this.opts;
    const m = new YmodemSenderMachine({
      size: image.size,
      blockSize: o.blockSize,
      shortLastBlock: o.shortLastBlock,
      endOfBatch: o.endOfBatch,
      checksumFallback: o.checksumFallback,
      maxRetries: o.maxRetries,
      timeouts: o.timeouts,
    });
    let lastFrame: Uint8Array = header;
    let blocks = 0;
    const frames = new FrameAhead(image);

    // Carries out the machine's actions; true when a frame went out (the rest of the read is stale).
    // Progress is reported after the next frame is on its way, so the callback is off the turnaround.
    const run = async (actions: SenderAction[]): Promise<boolean> => {
      let sent = false;
      let progress: YmodemProgress | undefined;
      for (const a of actions) {
        if (a.type === 'progress') {
          progress = { bytesDone: a.bytesDone, bytesTotal: a.bytesTotal };
          continue;
        }
        if (a.type === 'send-cancel') {
          await this.sendCancel();
          continue;
        }
        if (a.type === 'send-header') {
          if (m.check === 'checksum') {
            header = encodeHeaderBlock(info, 'checksum');
            this.log?.info('ymodem: the receiver asked for checksum mode (NAK); sending 128-byte blocks');
          }
          lastFrame = header;
        } else if (a.type === 'send-eot') lastFrame = Uint8Array.of(EOT);
        else if (a.type === 'send-end-of-batch') lastFrame = encodeEndOfBatchBlock(m.check);
        else if (a.type === 'send-data') {
          const { frame, got } = await frames.take(a, m.check);
          if (got !== a.length) {
            await this.sendCancel();
            throw ymodemError(
              'YMODEM_IMAGE_READ',
              `image source returned ${got} of ${a.length} bytes at offset ${a.offset}`,
              { offset: a.offset, expected: a.length, got },
            );
          }
          lastFrame = frame;
          blocks++;
        }
        await this.writeFrame(lastFrame, a.type, m.block, signal);
        sent = true;
      }
      if (sent) {
        const next = m.upcoming;
        if (next) frames.prepare(next, m.check);
      }
      if (progress) req.onProgress?.(progress);
      return sent;
    };

    try {
      await this.loop(m, run, signal);
    } catch (e) {
      if (!isCancelled(e) || m.terminal) throw e;
      await run(m.step({ type: 'abort' }));
      throw e;
    }
    return this.finish(m, blocks, signal);
  }

  /** Reads the receiver byte-wise and feeds the machine until it ends; deadlines restart on each frame and state change. */
  private async loop(
    m: YmodemSenderMachine,
    run: (a: SenderAction[]) => Promise<boolean>,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    let deadline = performance.now() + m.timeoutMs;
    while (!m.terminal) {
      if (signal?.aborted) throw new CancelledError(signal.reason);
      const remaining = Math.ceil(deadline - performance.now());
      let chunk: Uint8Array | undefined;
      if (remaining > 0) {
        try {
          chunk = await this.link.read(READ_CHUNK, remaining, signal);
        } catch (e) {
          if (!isBusError(e, 'SERIAL_TIMEOUT')) throw e;
        }
      }
      if (chunk === undefined) {
        await run(m.step({ type: 'timeout' }));
        deadline = performance.now() + m.timeoutMs;
        continue;
      }
      if (this.log?.isLevelEnabled('trace'))
        this.log.trace({ dir: 'rx', len: chunk.length, hex: Buffer.from(chunk).toString('hex') }, 'ymodem rx');
      for (const byte of chunk) {
        const before = m.state;
        const sent = await run(m.step({ type: 'byte', byte }));
        if (sent || m.state !== before) deadline = performance.now() + m.timeoutMs;
        if (sent || m.terminal) break;
      }
    }
  }

  private finish(m: YmodemSenderMachine, blocks: number, signal: AbortSignal | undefined): YmodemSendResult {
    const f = m.failure;
    if (!f) {
      if (m.warnings.length > 0)
        this.log?.warn({ warnings: m.warnings }, 'ymodem end of batch irregular; file delivered');
      return { bytesSent: m.bytesDone, blocks, retries: m.retries, warnings: [...m.warnings] };
    }
    const at = { phase: f.phase, block: f.block, attempts: f.attempts, naks: f.naks };
    switch (f.reason) {
      case 'aborted':
        throw new CancelledError(signal?.reason);
      case 'no-receiver':
        throw ymodemError('YMODEM_NO_RECEIVER', `no 'C' from the receiver within ${this.opts.timeouts.startMs} ms`, {
          timeoutMs: this.opts.timeouts.startMs,
        });
      case 'timeout':
        throw ymodemError(
          'YMODEM_TIMEOUT',
          `no answer in ${f.phase} (block ${f.block}) after ${f.attempts} waits of ${this.opts.timeouts.ackMs} ms`,
          { ...at, timeoutMs: this.opts.timeouts.ackMs },
        );
      case 'too-many-retries':
        throw ymodemError(
          'YMODEM_TOO_MANY_RETRIES',
          `${f.phase} (block ${f.block}) failed ${f.attempts} times (${f.naks} NAK)`,
          at,
        );
      case 'cancelled-by-receiver':
        throw ymodemError(
          'YMODEM_CANCELLED_BY_RECEIVER',
          `receiver cancelled the transfer in ${f.phase} (block ${f.block})`,
          { phase: f.phase, block: f.block },
        );
    }
  }

  private async writeFrame(
    frame: Uint8Array,
    kind: SenderAction['type'],
    block: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    // Checked here because withDeadline returns early on an aborted signal, leaving the write's rejection unhandled.
    throwIfAborted(signal);
    this.link.discardInput();
    if (this.log?.isLevelEnabled('trace')) this.log.trace({ dir: 'tx', kind, block, len: frame.length }, 'ymodem tx');
    const ms = this.opts.timeouts.writeMs;
    // No drain: the ACK wait that follows covers the frame's time on the line (an ACK cannot come
    // before the frame went out, and timeouts.ackMs is far longer than a frame takes), and a
    // tcdrain per block cost ~6 % of the transfer time at 921600 baud (test/bench/ymodem.bench.ts).
    await withDeadline(
      this.link.write(frame, signal, { drain: false }),
      ms,
      () =>
        ymodemError('YMODEM_WRITE_TIMEOUT', `link did not take ${frame.length} bytes within ${ms} ms`, {
          timeoutMs: ms,
          bytes: frame.length,
        }),
      signal,
    );
  }

  /** Best effort: the link may already be gone; a failure is logged, and the caller's error stands. */
  private async sendCancel(): Promise<void> {
    try {
      await withDeadline(this.link.write(CANCEL_SEQUENCE), CANCEL_WRITE_MS, () =>
        ymodemError('YMODEM_WRITE_TIMEOUT', 'cancel sequence not written', { timeoutMs: CANCEL_WRITE_MS }),
      );
    } catch (e) {
      this.log?.warn(
        { err: e instanceof BusError ? { code: e.code, message: e.message } : e },
        'ymodem: could not send the cancel sequence',
      );
    }
  }
}
