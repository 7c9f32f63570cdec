/**
 * YMODEM-1K wire constants. Source: Forsberg, *XMODEM/YMODEM Protocol Reference* (1988,
 * "ymodem.txt"), digested in `reference/bus-protocols.md` §2.3. Section numbers below are the
 * ymodem.txt chapters.
 *
 * ```
 *  frame  = type | blk# | 255-blk# | data[128 or 1024] | crc16 hi | crc16 lo
 *  type   = SOH (128-byte data) | STX (1024-byte data)
 *  batch  = 'C' → block 0 (name NUL size) → ACK, 'C' → blocks 1..n (each ACK) → EOT (NAK/ACK)
 *           → ACK → 'C' → null block 0 → ACK
 * ```
 */

/** Start of a 128-byte block (§7.1). */
export const SOH = 0x01;
/** Start of a 1024-byte block (§4.3, XMODEM-1k). */
export const STX = 0x02;
/** End of file (§7.1). */
export const EOT = 0x04;
/** Block received correctly (§7.1). */
export const ACK = 0x06;
/** Block rejected: retransmit (§7.1). */
export const NAK = 0x15;
/** Cancel; two in succession abort the transfer (§4.1). */
export const CAN = 0x18;
/** Backspace, sent after the CANs by Pro-YAM to clean a remote's keyboard buffer (§4.1). */
export const BS = 0x08;
/** 'C': the receiver asks for a block in CRC-16 mode (§4.2). */
export const CRC_REQUEST = 0x43;
/** CP/M end-of-file byte that pads the last data block (§4.3 figures 1-2, §7.2). */
export const CPMEOF = 0x1a;

/** Data bytes of an SOH block (§7.2 figure 9). */
export const BLOCK_128 = 128;
/** Data bytes of an STX block (§4.3). */
export const BLOCK_1K = 1024;
/** Bytes around the data: type, blk#, 255-blk#, CRC hi, CRC lo (§4.2, §7.2). */
export const FRAME_OVERHEAD = 5;
/** Bytes around the data in checksum mode: type, blk#, 255-blk#, one 8-bit arithmetic checksum (§7.2, §6.1). */
export const CHECKSUM_FRAME_OVERHEAD = 4;

/**
 * How a frame's data is checked: CRC-16/XMODEM (the receiver started with 'C', §4.2) or the
 * original XMODEM 8-bit arithmetic sum of the data bytes (the receiver started with NAK, §6.1,
 * §7.2: "the receiver ... sends NAK ... to indicate checksum mode").
 */
export type BlockCheck = 'crc' | 'checksum';

/** Data-block size in bytes: SOH (128) or STX (1024). */
export type BlockSize = typeof BLOCK_128 | typeof BLOCK_1K;

/**
 * Abort sequence: YAM sends eight CANs, Pro-YAM then eight backspaces so a remote that already
 * left the transfer and sits at a prompt drops them (§4.1). Receivers need two in a row.
 */
export const CANCEL_SEQUENCE: Uint8Array = Uint8Array.of(
  CAN,
  CAN,
  CAN,
  CAN,
  CAN,
  CAN,
  CAN,
  CAN,
  BS,
  BS,
  BS,
  BS,
  BS,
  BS,
  BS,
  BS,
);

/**
 * Retries per block: "All errors are retried 10 times" (§7.3.1); "the sending program shall send
 * EOT up to ten times until it receives an ACK" (§2).
 */
export const DEFAULT_MAX_RETRIES = 10;
/** "While waiting for transmission to begin, the sender has only a single very long timeout, say one minute" (§7.3.3). */
export const DEFAULT_START_TIMEOUT_MS = 60_000;
/** "The sender has a 10 second timeout before retrying" (§7.3.3); the receiver also times out after 10 s (§7.3.2). */
export const DEFAULT_ACK_TIMEOUT_MS = 10_000;
/**
 * Wait for the receiver's 'C' after the EOT is ACKed, and for the ACK of the null block 0. Not in
 * the spec. lrzsz `rb` 0.12.21 ACKs the EOT about 1 s after it and sends its 'C' about 1 s later
 * (traced over a pty, test/integration/serial-ymodem-lrzsz.test.ts); many vendor bootloaders jump
 * to the application instead and never answer, so the wait is short and its expiry only a warning.
 */
export const DEFAULT_END_OF_BATCH_TIMEOUT_MS = 3_000;

/**
 * In checksum mode, how long the sender waits after block 0's ACK for the receiver's NAK that
 * starts the data before it sends block 1 anyway. Not in the spec: a YMODEM receiver asks at
 * once, but an XMODEM checksum receiver (lrzsz `rb -X`) takes block 0 as a duplicate, ACKs it and
 * waits for block 1 without asking, until its own 10 s timeout (traced over a pty,
 * test/integration/serial-ymodem-lrzsz.test.ts).
 */
export const CHECKSUM_DATA_START_MS = 1_000;
