import { isBusError, isCancelled } from '../../../drivers/shared/errors.js';
import { errorMessage } from '../../model/errors.js';
import { ercTable } from '../handler-erc.js';
import { Erc, ResultCode, result, type AducResult } from '../../model/result-codes.js';

/**
 * Extended result codes of `sensor-proxy/ymodem:1`: facility 3 (content handler), component 32
 * (EXTERNAL), values 0x600-0x6FF. A user cancel is `FailureCancelled` with `Erc.WorkflowCancelled`.
 *
 * | values       | meaning                                                     |
 * |--------------|-------------------------------------------------------------|
 * | 0x601-0x60F  | step / configuration problems (nothing sent to the device)  |
 * | 0x610-0x61F  | link (port, disconnect, output blocked)                     |
 * | 0x620-0x62F  | bootloader entry and YMODEM transfer                        |
 * | 0x630-0x63F  | the device after the transfer (version)                     |
 */
export const YmodemErc = ercTable({
  /** 0x32000601: neither `component.properties.port` nor `handlerProperties.port` names the device. */
  NoPort: 0x601,
  /** 0x32000602: a handlerProperty or component property has the wrong type or range (details name it). */
  InvalidHandlerProperties: 0x602,
  /** 0x32000603: IsInstalled without `handlerProperties.installedCriteria`. */
  MissingInstalledCriteria: 0x603,
  /** 0x32000604: the step does not carry exactly one firmware file. */
  WrongFileCount: 0x604,
  /** 0x32000610: the serial port could not be opened (details: errno, hint). */
  PortOpenFailed: 0x610,
  /** 0x32000611: the port went away (unplug, device reset that re-enumerates) or failed. */
  Disconnected: 0x611,
  /** 0x32000612: the port did not take a frame within its write timeout (output blocked). */
  WriteStalled: 0x612,
  /** 0x32000620: no 'C' from a bootloader within `startTimeoutMs` after the entry (entry not understood, wrong port or baud rate). */
  NoBootloader: 0x620,
  /** 0x32000621: the bootloader stopped answering mid-transfer (`ackTimeoutMs` × `maxRetries`). */
  TransferTimeout: 0x621,
  /** 0x32000622: a block was NAKed more than `maxRetries` times (line noise, wrong baud rate, flash errors). */
  TooManyRetries: 0x622,
  /** 0x32000623: the bootloader cancelled the transfer (CAN CAN): image rejected, too large, flash error. */
  CancelledByDevice: 0x623,
  /** 0x32000624: the firmware file could not be read to its announced size. */
  ImageReadFailed: 0x624,
  /** 0x32000630: after the transfer the device did not answer the version query within `bootTimeoutMs`. */
  NoVersionAfterInstall: 0x630,
  /** 0x32000631: after the transfer the device reports a version other than `installedCriteria`. */
  VersionMismatch: 0x631,
  /** 0x320006FF: an error this table does not know. */
  Unexpected: 0x6ff,
});

/** Bus error code → ERC: the one table of this handler. */
const BY_CODE: Readonly<Record<string, number>> = {
  SERIAL_OPEN_FAILED: YmodemErc.PortOpenFailed,
  SERIAL_DISCONNECTED: YmodemErc.Disconnected,
  SERIAL_CLOSED: YmodemErc.Disconnected,
  SERIAL_IO: YmodemErc.Disconnected,
  YMODEM_WRITE_TIMEOUT: YmodemErc.WriteStalled,
  YMODEM_NO_RECEIVER: YmodemErc.NoBootloader,
  YMODEM_TIMEOUT: YmodemErc.TransferTimeout,
  YMODEM_TOO_MANY_RETRIES: YmodemErc.TooManyRetries,
  YMODEM_CANCELLED_BY_RECEIVER: YmodemErc.CancelledByDevice,
  YMODEM_IMAGE_READ: YmodemErc.ImageReadFailed,
  YMODEM_INVALID_OPTIONS: YmodemErc.InvalidHandlerProperties,
  YMODEM_VERSION_NO_ANSWER: YmodemErc.NoVersionAfterInstall,
};

/** The ADU result for an error thrown while talking to the device during `what`. */
export function resultFromYmodemError(e: unknown, what: string): AducResult {
  if (isCancelled(e)) return result(ResultCode.FailureCancelled, Erc.WorkflowCancelled, `${what}: cancelled`);
  if (isBusError(e)) {
    const hint = typeof e.details.hint === 'string' ? ` (${e.details.hint})` : '';
    return result(
      ResultCode.Failure,
      BY_CODE[e.code] ?? YmodemErc.Unexpected,
      `${what}: ${e.code}: ${e.message}${hint}`,
    );
  }
  return result(ResultCode.Failure, YmodemErc.Unexpected, `${what}: ${errorMessage(e)}`);
}
