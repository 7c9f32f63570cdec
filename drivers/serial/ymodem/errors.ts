import { BusError } from '../../shared/errors.js';

/**
 * Error codes the YMODEM sender throws (as {@link BusError}). Link errors (`SERIAL_CLOSED`,
 * `SERIAL_DISCONNECTED`) pass through unchanged; a user abort is `CancelledError` (`CANCELLED`).
 *
 * - `YMODEM_NO_RECEIVER`: no 'C' arrived within `timeouts.startMs` (bootloader not entered, wrong
 *   port or baud rate). Details `{ timeoutMs }`.
 * - `YMODEM_TIMEOUT`: a frame went unanswered `attempts.maxRetries + 1` times in a row, each wait
 *   `timeouts.ackMs` long (receiver stalled or gone). Details `{ phase, block, timeoutMs, attempts }`.
 * - `YMODEM_TOO_MANY_RETRIES`: a frame was rejected (NAK) or unanswered more than
 *   `attempts.maxRetries` times in a row, at least once by NAK. Details `{ phase, block, attempts, naks }`.
 * - `YMODEM_CANCELLED_BY_RECEIVER`: the receiver sent two CANs in a row (ymodem.txt §4.1).
 *   Details `{ phase, block }`.
 * - `YMODEM_WRITE_TIMEOUT`: the link did not take a frame within `timeouts.writeMs` (output
 *   blocked, e.g. the peer stopped reading a pty). Details `{ timeoutMs, bytes }`.
 * - `YMODEM_IMAGE_READ`: the image source returned fewer bytes than its `size` promised.
 *   Details `{ offset, expected, got }`.
 * - `YMODEM_INVALID_OPTIONS`: an option is out of range or the file name cannot go in block 0.
 *   Details `{ field }`.
 * - `YMODEM_VERSION_NO_ANSWER` (`queryVersion`): no text matching `responsePattern` arrived
 *   within `timeoutMs` after the request. Details `{ timeoutMs, received }` (last 80 characters).
 */
export type YmodemErrorCode =
  | 'YMODEM_NO_RECEIVER'
  | 'YMODEM_TIMEOUT'
  | 'YMODEM_TOO_MANY_RETRIES'
  | 'YMODEM_CANCELLED_BY_RECEIVER'
  | 'YMODEM_WRITE_TIMEOUT'
  | 'YMODEM_IMAGE_READ'
  | 'YMODEM_INVALID_OPTIONS'
  | 'YMODEM_VERSION_NO_ANSWER';

/** Builds a {@link BusError} with a YMODEM code. */
export function ymodemError(
  code: YmodemErrorCode,
  message: string,
  details: Record<string, unknown> = {},
  cause?: unknown,
): BusError {
  return new BusError(code, message, details, cause);
}
