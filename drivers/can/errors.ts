import { BusError } from '../shared/errors.js';

/**
 * Codes of the CAN layer (`CAN_`), ISO-TP (`ISOTP_`) and UDS (`UDS_`) errors. Each layer throws
 * {@link BusError} with one of these codes; the doc says which option governs it.
 */
export type CanErrorCode =
  /** The interface does not exist or cannot be opened (details: iface, errno text). */
  | 'CAN_OPEN_FAILED'
  /** `socketcan` is not installed or its addon failed to load (gateway without CAN support). */
  | 'CAN_BACKEND_UNAVAILABLE'
  /** Unknown interface scheme in config (details: valid). */
  | 'CAN_BACKEND_UNKNOWN'
  /** The bus was closed; pending receives reject with this. */
  | 'CAN_CLOSED'
  /** The tx queue stayed full (ENOBUFS) longer than `txTimeoutMs` despite backoff (details: retries). */
  | 'CAN_TX_TIMEOUT'
  /** The backend refused the frame (e.g. FD frame on a classic interface: MTU 16). */
  | 'CAN_TX_FAILED'
  /** The controller went bus-off; sends fail until it restarts. */
  | 'CAN_BUS_OFF'
  /** The frame does not fit the bus (FD on a classic bus, bad id/length). */
  | 'CAN_FRAME_INVALID'
  /** No matching frame within the receive timeout. */
  | 'CAN_RX_TIMEOUT'
  /** The interface went down or was removed during the operation (Linux ENETDOWN/ENODEV; details: iface, errno). */
  | 'CAN_NETDOWN';

/** Throws-helper for the CAN layer. */
export function canError(
  code: CanErrorCode,
  message: string,
  details: Record<string, unknown> = {},
  cause?: unknown,
): BusError {
  return new BusError(code, message, details, cause);
}
