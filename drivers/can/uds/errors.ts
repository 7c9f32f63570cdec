import { BusError } from '../../shared/errors.js';
import { nrcName } from './nrc.js';

/**
 * UDS client failures (`UDS_`); ISO-TP and CAN errors pass through with their own codes.
 */
export type UdsErrorCode =
  /** The server answered 7F <SID> <NRC> (details: service, sid, nrc, nrcName). */
  | 'UDS_NEGATIVE_RESPONSE'
  /** No response within P2client (`timeouts.p2Ms`, or the server's P2 + margin after a session change). */
  | 'UDS_TIMEOUT_P2'
  /** No final response within P2*client after an NRC 0x78 (details.pending: how many 0x78 came). */
  | 'UDS_TIMEOUT_P2_STAR'
  /** More NRC 0x78 than `maxResponsePending`, or the whole request exceeded `timeouts.requestMs`. */
  | 'UDS_TIMEOUT_OVERALL'
  /** A positive response to another service, or a wrong echo (block counter, DID, routine id, sub-function). */
  | 'UDS_UNEXPECTED_RESPONSE'
  /** A response too short or malformed for its service. */
  | 'UDS_INVALID_RESPONSE'
  /** The security key function threw or returned nothing. */
  | 'UDS_KEY_FUNCTION'
  /** A parameter out of range for the service (e.g. address does not fit the address length). */
  | 'UDS_INVALID_REQUEST'
  /** The check routine reported the downloaded memory wrong (CRC mismatch; details.status). */
  | 'UDS_CHECK_FAILED'
  /** After the reset the ECU reports another version than expected (details.expected/actual). */
  | 'UDS_VERSION_MISMATCH'
  /** The ECU did not answer TesterPresent within `resetTimeoutMs` after ECUReset. */
  | 'UDS_ECU_NOT_BACK';

export function udsError(
  code: UdsErrorCode,
  message: string,
  details: Record<string, unknown> = {},
  cause?: unknown,
): BusError {
  return new BusError(code, message, details, cause);
}

/** The negative-response error, message naming service and NRC (e.g. "RequestDownload: 0x70 uploadDownloadNotAccepted"). */
export function negativeResponse(service: string, sid: number, nrc: number): BusError {
  const name = nrcName(nrc);
  return udsError(
    'UDS_NEGATIVE_RESPONSE',
    `${service} (0x${sid.toString(16)}) refused: NRC 0x${nrc.toString(16).padStart(2, '0')} ${name}`,
    {
      service,
      sid,
      nrc,
      nrcName: name,
    },
  );
}

/** True for a negative response, optionally with the given NRC. */
export function isNegativeResponse(e: unknown, nrc?: number): e is BusError {
  return e instanceof BusError && e.code === 'UDS_NEGATIVE_RESPONSE' && (nrc === undefined || e.details['nrc'] === nrc);
}
