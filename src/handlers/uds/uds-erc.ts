import { isBusError, isCancelled } from '../../../drivers/shared/errors.js';
import { errorMessage } from '../../model/errors.js';
import { ercTable, handlerErc } from '../handler-erc.js';
import { Erc, ResultCode, result, type AducResult } from '../../model/result-codes.js';

/**
 * Extended result codes of `sensor-proxy/uds:1`: facility 3 (content handler), component 32
 * (EXTERNAL), values 0x700-0x7FF, mapped in this one table.
 *
 * | values       | meaning                                                                       |
 * |--------------|-------------------------------------------------------------------------------|
 * | 0x700        | unclassified failure                                                           |
 * | 0x701-0x70F  | configuration, CAN and ISO-TP, UDS timing (nothing or not all sent)             |
 * | 0x710-0x794, 0x7F0-0x7FE | the ECU answered a negative response: value − 0x700 = NRC (ISO 14229-1 A.1) |
 * | 0x7A0-0x7AF  | programming outcome (check routine, version after reset, ECU not back)          |
 */
export const UdsErc = ercTable({
  /** 0x32000700: a failure no other code describes (see resultDetails). */
  Unknown: 0x700,
  /** 0x32000701: the component/handlerProperties lack interface, txId or rxId. */
  NoAddress: 0x701,
  /** 0x32000702: a handlerProperty has the wrong type or range. */
  InvalidHandlerProperties: 0x702,
  /** 0x32000703: IsInstalled without `installedCriteria`, or install without `memoryAddress`. */
  MissingProperty: 0x703,
  /** 0x32000704: the step does not carry exactly one firmware file. */
  WrongFileCount: 0x704,
  /** 0x32000705: the CAN interface could not be opened, the socketcan package is missing, or `isotp.backend: "kernel"` without can-isotp. */
  CanOpenFailed: 0x705,
  /** 0x32000706: CAN transmit failed (bus-off, tx queue full past N_As, interface down or gone: CAN_NETDOWN). */
  CanTxFailed: 0x706,
  /** 0x32000707: ISO-TP timeout (N_As, N_Bs, N_Cr) — the ECU stopped taking part. */
  IsoTpTimeout: 0x707,
  /** 0x32000708: ISO-TP protocol error (wrong sequence number, overflow, FC.WAIT limit, invalid FC). */
  IsoTpProtocol: 0x708,
  /** 0x32000709: no response within P2 (after retries). */
  UdsTimeoutP2: 0x709,
  /** 0x3200070A: no final response within P2* after NRC 0x78, or too many 0x78. */
  UdsTimeoutP2Star: 0x70a,
  /** 0x3200070B: a response of the wrong service, echo or length. */
  UdsBadResponse: 0x70b,
  /** 0x3200070C: the security key algorithm is unknown or failed. */
  SecurityKey: 0x70c,
  /** 0x320007A0: the check routine reported the downloaded memory wrong (CRC-32). */
  CheckFailed: 0x7a0,
  /** 0x320007A1: after the reset the ECU reports another version than installedCriteria. */
  VersionMismatch: 0x7a1,
  /** 0x320007A2: the ECU did not answer after ECUReset within resetTimeoutMs. */
  EcuNotBack: 0x7a2,
});

/** ERC of a negative response: 0x32000700 + NRC. */
export function nrcErc(nrc: number): number {
  return handlerErc(0x700 + (nrc & 0xff));
}

const BY_CODE: Record<string, number> = {
  CAN_OPEN_FAILED: UdsErc.CanOpenFailed,
  CAN_BACKEND_UNAVAILABLE: UdsErc.CanOpenFailed,
  CAN_BACKEND_UNKNOWN: UdsErc.CanOpenFailed,
  ISOTP_KERNEL_UNAVAILABLE: UdsErc.CanOpenFailed,
  CAN_CLOSED: UdsErc.CanTxFailed,
  CAN_NETDOWN: UdsErc.CanTxFailed,
  CAN_TX_TIMEOUT: UdsErc.CanTxFailed,
  CAN_TX_FAILED: UdsErc.CanTxFailed,
  CAN_BUS_OFF: UdsErc.CanTxFailed,
  CAN_FRAME_INVALID: UdsErc.CanTxFailed,
  ISOTP_TIMEOUT_AS: UdsErc.IsoTpTimeout,
  ISOTP_TIMEOUT_BS: UdsErc.IsoTpTimeout,
  ISOTP_TIMEOUT_CR: UdsErc.IsoTpTimeout,
  ISOTP_RX_TIMEOUT: UdsErc.UdsTimeoutP2,
  ISOTP_WRONG_SN: UdsErc.IsoTpProtocol,
  ISOTP_OVERFLOW: UdsErc.IsoTpProtocol,
  ISOTP_WAIT_LIMIT: UdsErc.IsoTpProtocol,
  ISOTP_INVALID_FC: UdsErc.IsoTpProtocol,
  ISOTP_MALFORMED: UdsErc.IsoTpProtocol,
  ISOTP_RX_INTERRUPTED: UdsErc.IsoTpProtocol,
  ISOTP_CONFIG: UdsErc.InvalidHandlerProperties,
  ISOTP_BUSY: UdsErc.IsoTpProtocol,
  ISOTP_PAYLOAD_SIZE: UdsErc.IsoTpProtocol,
  UDS_TIMEOUT_P2: UdsErc.UdsTimeoutP2,
  UDS_TIMEOUT_P2_STAR: UdsErc.UdsTimeoutP2Star,
  UDS_TIMEOUT_OVERALL: UdsErc.UdsTimeoutP2Star,
  UDS_UNEXPECTED_RESPONSE: UdsErc.UdsBadResponse,
  UDS_INVALID_RESPONSE: UdsErc.UdsBadResponse,
  UDS_INVALID_REQUEST: UdsErc.InvalidHandlerProperties,
  UDS_KEY_FUNCTION: UdsErc.SecurityKey,
  UDS_CHECK_FAILED: UdsErc.CheckFailed,
  UDS_VERSION_MISMATCH: UdsErc.VersionMismatch,
  UDS_ECU_NOT_BACK: UdsErc.EcuNotBack,
};

/** The one place CAN/ISO-TP/UDS errors become ADU results. */
export function resultFromUdsError(e: unknown, what: string): AducResult {
  if (isCancelled(e)) return result(ResultCode.FailureCancelled, Erc.WorkflowCancelled, `cancelled during ${what}`);
  if (isBusError(e)) {
    if (e.code === 'UDS_NEGATIVE_RESPONSE')
      return result(ResultCode.Failure, nrcErc(Number(e.details['nrc'])), `${what}: ${e.message}`);
    return result(ResultCode.Failure, BY_CODE[e.code] ?? UdsErc.Unknown, `${what}: ${e.code}: ${e.message}`);
  }
  return result(ResultCode.Failure, UdsErc.Unknown, `${what}: ${errorMessage(e)}`);
}
