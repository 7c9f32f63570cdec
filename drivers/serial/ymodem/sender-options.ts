import type { Logger } from 'pino';
import {
  BLOCK_128,
  BLOCK_1K,
  DEFAULT_ACK_TIMEOUT_MS,
  DEFAULT_END_OF_BATCH_TIMEOUT_MS,
  DEFAULT_MAX_RETRIES,
  DEFAULT_START_TIMEOUT_MS,
  type BlockSize,
} from './constants.js';
import { ymodemError } from './errors.js';

/** YMODEM sender timeouts, in milliseconds. */
export interface YmodemTimeouts {
  /** Wait for the receiver's first 'C' (ymodem.txt §7.3.3: "say one minute"). Expiry: `YMODEM_NO_RECEIVER`. Default 60000. */
  startMs: number;
  /**
   * Wait for the answer to a frame, counted from the moment the frame was handed to the link. It
   * must cover the frame's line time (1029 bytes ≈ 1.07 s at 9600 baud) plus the receiver's flash
   * write. Expiry: retransmit (§7.3.3: 10 s). Default 10000.
   */
  ackMs: number;
  /** Wait for the 'C' after the EOT's ACK and for the ACK of the null block 0; expiry is only a warning. Default 3000. */
  endOfBatchMs: number;
  /** Wait for the link to take one frame. Expiry: `YMODEM_WRITE_TIMEOUT`. Default 10000. */
  writeMs: number;
}

/** Options of a {@link YmodemSender}; all optional, merged over {@link YMODEM_SENDER_DEFAULTS}. */
export interface YmodemSenderOptions {
  /** Data block size: 1024 (STX, YMODEM-1K) or 128 (SOH). Default 1024. */
  blockSize?: BlockSize;
  /**
   * Send the tail as a 128-byte block when at most 128 bytes remain, as lrzsz `sb` does (§4.3
   * figure 2: receivers must accept a mixture). Default true.
   */
  shortLastBlock?: boolean;
  /** Send the null block 0 that ends the batch after the EOT (§5). Default true. */
  endOfBatch?: boolean;
  /**
   * A receiver that starts with NAK instead of 'C' gets the batch in checksum mode with 128-byte
   * blocks (§6.1, §7.2); false keeps waiting for 'C'. Default true.
   */
  checksumFallback?: boolean;
  timeouts?: Partial<YmodemTimeouts>;
  attempts?: {
    /** Retransmissions of one frame (block, EOT) after a NAK or a timeout, before giving up (§7.3.1: 10). Default 10. */
    maxRetries?: number;
  };
  /** pino logger; frames are logged at `trace`. Default: silent. */
  log?: Logger;
}

export interface ResolvedYmodemSenderOptions {
  blockSize: BlockSize;
  shortLastBlock: boolean;
  endOfBatch: boolean;
  checksumFallback: boolean;
  timeouts: YmodemTimeouts;
  maxRetries: number;
  log: Logger | undefined;
}

/** Defaults with their reasons in {@link YmodemTimeouts} and constants.ts. */
export const YMODEM_SENDER_DEFAULTS = Object.freeze({
  blockSize: BLOCK_1K as BlockSize,
  shortLastBlock: true,
  endOfBatch: true,
  checksumFallback: true,
  timeouts: Object.freeze({
    startMs: DEFAULT_START_TIMEOUT_MS,
    ackMs: DEFAULT_ACK_TIMEOUT_MS,
    endOfBatchMs: DEFAULT_END_OF_BATCH_TIMEOUT_MS,
    writeMs: 10_000,
  }),
  maxRetries: DEFAULT_MAX_RETRIES,
});

/**
 * Preset for bootloaders that erase a flash sector before ACKing a block (seconds per sector):
 * a longer answer wait, same retries.
 */
export const SLOW_FLASH_BOOTLOADER = { timeouts: { ackMs: 30_000 } } satisfies YmodemSenderOptions;

function positiveInt(v: unknown, field: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw ymodemError(
      'YMODEM_INVALID_OPTIONS',
      `YMODEM option ${field} must be an integer >= ${min}, got ${String(v)}`,
      { field },
    );
  }
  return v;
}

/**
 * Merges `partial` over the defaults and validates it.
 * @throws BusError `YMODEM_INVALID_OPTIONS` naming the field (`timeouts.ackMs`, `blockSize`, ...).
 */
export function resolveYmodemSenderOptions(partial: YmodemSenderOptions = {}): ResolvedYmodemSenderOptions {
  const d = YMODEM_SENDER_DEFAULTS;
  const blockSize = partial.blockSize ?? d.blockSize;
  if (blockSize !== BLOCK_1K && blockSize !== BLOCK_128) {
    throw ymodemError(
      'YMODEM_INVALID_OPTIONS',
      `YMODEM option blockSize must be 128 or 1024, got ${String(blockSize)}`,
      { field: 'blockSize' },
    );
  }
  const t = { ...d.timeouts, ...partial.timeouts };
  return {
    blockSize,
    shortLastBlock: partial.shortLastBlock ?? d.shortLastBlock,
    endOfBatch: partial.endOfBatch ?? d.endOfBatch,
    checksumFallback: partial.checksumFallback ?? d.checksumFallback,
    timeouts: {
      startMs: positiveInt(t.startMs, 'timeouts.startMs', 1),
      ackMs: positiveInt(t.ackMs, 'timeouts.ackMs', 1),
      endOfBatchMs: positiveInt(t.endOfBatchMs, 'timeouts.endOfBatchMs', 1),
      writeMs: positiveInt(t.writeMs, 'timeouts.writeMs', 1),
    },
    maxRetries: positiveInt(partial.attempts?.maxRetries ?? d.maxRetries, 'attempts.maxRetries', 0),
    log: partial.log,
  };
}
