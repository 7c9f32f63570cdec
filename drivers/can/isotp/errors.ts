import { BusError } from '../../shared/errors.js';

/**
 * ISO-TP failures (python-can-isotp `isotp/errors.py` one-per-failure style); each doc names the
 * option that governs it. Thrown as {@link BusError} with `details` giving ids and counters.
 */
export type IsoTpErrorCode =
  /** No flow control within `timeouts.nBsMs` after a FF or the last CF of a block (N_Bs, ISO 15765-2 §9.8.2). */
  | 'ISOTP_TIMEOUT_BS'
  /** No consecutive frame within `timeouts.nCrMs` (N_Cr). */
  | 'ISOTP_TIMEOUT_CR'
  /** A frame could not be handed to the bus within `timeouts.nAsMs` (N_As). */
  | 'ISOTP_TIMEOUT_AS'
  /** No complete message within the caller's receive timeout. */
  | 'ISOTP_RX_TIMEOUT'
  /** Consecutive frame with an unexpected sequence number (Linux EILSEQ). */
  | 'ISOTP_WRONG_SN'
  /** The receiver answered FC.OVFLW: message larger than its buffer (Linux EMSGSIZE). */
  | 'ISOTP_OVERFLOW'
  /** More FC.WAIT frames in a row than `maxWaitFrames` (WFTmax). */
  | 'ISOTP_WAIT_LIMIT'
  /** A flow control frame with a reserved flow status. */
  | 'ISOTP_INVALID_FC'
  /** A new SF/FF arrived while a multi-frame reception was in progress; the old one is dropped. */
  | 'ISOTP_RX_INTERRUPTED'
  /** Payload too large for ISO-TP (> 2^32-1 bytes) or empty. */
  | 'ISOTP_PAYLOAD_SIZE'
  /** A send was started while another one is in progress on the same channel. */
  | 'ISOTP_BUSY'
  /** The options are inconsistent (details.field). */
  | 'ISOTP_CONFIG'
  /** A frame with a wrong layout or padding (Linux EBADMSG; kernel backend only). */
  | 'ISOTP_MALFORMED'
  /**
   * `isotp.backend: "kernel"` where the kernel has no CAN_ISOTP sockets (can-isotp not loaded and not
   * loadable: `modprobe can-isotp`, CONFIG_CAN_ISOTP) or the addon is not built (`make native`).
   */
  | 'ISOTP_KERNEL_UNAVAILABLE';

export function isoTpError(
  code: IsoTpErrorCode,
  message: string,
  details: Record<string, unknown> = {},
  cause?: unknown,
): BusError {
  return new BusError(code, message, details, cause);
}

/** `ISOTP_RX_TIMEOUT` of a receive on `rxId` that waited `timeoutMs` (either backend; `details` adds its own). */
export function rxTimeoutError(rxId: number, timeoutMs: number, details: Record<string, unknown>): BusError {
  return isoTpError('ISOTP_RX_TIMEOUT', `no ISO-TP message on 0x${rxId.toString(16)} within ${timeoutMs} ms`, {
    rxId,
    timeoutMs,
    ...details,
  });
}
