import { isBusError, isCancelled } from '../../../drivers/shared/errors.js';
import { errorMessage } from '../../model/errors.js';
import { ercTable } from '../handler-erc.js';
import { Erc, ResultCode, result, type AducResult } from '../../model/result-codes.js';

/**
 * Extended result codes of `sensor-proxy/dfu:1`: facility 3 (content handler), component 32
 * (EXTERNAL), values 0x800-0x8FF. A user cancel is `FailureCancelled` with `Erc.WorkflowCancelled`.
 *
 * | values       | meaning                                                      |
 * |--------------|--------------------------------------------------------------|
 * | 0x801-0x80F  | step / configuration / file problems (nothing sent)          |
 * | 0x810-0x81F  | USB transport (backend, open, stall, timeout, disconnect)    |
 * | 0x820-0x82F  | DFU protocol (status errors, states, detach, verify)         |
 * | 0x830-0x83F  | the device after the flash (version)                         |
 */
export const DfuErc = ercTable({
  /** 0x32000801: the component carries no serialNumber / portPath / vid (nothing to flash). */
  NoTarget: 0x801,
  /** 0x32000802: a handlerProperty has the wrong type or range (details name it). */
  InvalidHandlerProperties: 0x802,
  /** 0x32000803: IsInstalled without `handlerProperties.installedCriteria`. */
  MissingInstalledCriteria: 0x803,
  /** 0x32000804: the step does not carry exactly one firmware file. */
  WrongFileCount: 0x804,
  /** 0x32000805: the firmware file cannot be opened or read. */
  ImageReadFailed: 0x805,
  /** 0x32000806: `.dfu` suffix CRC wrong, malformed, or missing with `requireSuffix`. */
  BadDfuFile: 0x806,
  /** 0x32000807: the `.dfu` suffix names another VID/PID than the device's. */
  DfuFileForOtherDevice: 0x807,
  /** 0x32000810: the USB backend cannot run here (npm usb missing, no /sys/bus/usb) or is unknown. */
  BackendUnavailable: 0x810,
  /** 0x32000811: the device is not on the bus. */
  DeviceNotFound: 0x811,
  /** 0x32000812: open/claim refused (permissions: udev uaccess rule; interface busy). */
  OpenFailed: 0x812,
  /** 0x32000813: the device stalled a request and recovery ran out. */
  Stalled: 0x813,
  /** 0x32000814: a control transfer timed out. */
  UsbTimeout: 0x814,
  /** 0x32000815: the device left the bus mid-operation (unplug, power loss). */
  Disconnected: 0x815,
  /** 0x32000816: other USB I/O error. */
  UsbIo: 0x816,
  /** 0x32000820: no DFU interface / alt setting on the device. */
  NoDfuInterface: 0x820,
  /** 0x32000821: bmAttributes forbid the operation (download / upload for verify). */
  NotSupported: 0x821,
  /** 0x32000822: the device reported dfuERROR (details name the bStatus: errTARGET … errSTALLEDPKT). */
  DeviceStatusError: 0x822,
  /** 0x32000823: the device is in a state that does not allow the step. */
  UnexpectedState: 0x823,
  /** 0x32000824: the device stayed busy (dfuDNBUSY / manifestation) past its timeout. */
  BusyTimeout: 0x824,
  /** 0x32000825: the device did not re-enumerate after detach or reset. */
  NoReenumeration: 0x825,
  /** 0x32000826: UPLOAD read-back differs from the image. */
  VerifyFailed: 0x826,
  /** 0x32000827: DfuSe address/size outside the writable memory map. */
  AddressRange: 0x827,
  /** 0x32000830: after the flash the device reports another version than `installedCriteria`. */
  VersionMismatch: 0x830,
  /** 0x32000831: the device came back in DFU mode (new firmware not started / rejected). */
  StillInDfuMode: 0x831,
  /** 0x320008FF: an error this table does not know. */
  Unexpected: 0x8ff,
});

/** Bus error code → ERC: the one table of this handler. */
const BY_CODE: Readonly<Record<string, number>> = {
  USB_NOT_AVAILABLE: DfuErc.BackendUnavailable,
  USB_UNKNOWN_BACKEND: DfuErc.BackendUnavailable,
  USB_NOT_FOUND: DfuErc.DeviceNotFound,
  USB_OPEN_FAILED: DfuErc.OpenFailed,
  USB_STALL: DfuErc.Stalled,
  USB_TIMEOUT: DfuErc.UsbTimeout,
  USB_DISCONNECTED: DfuErc.Disconnected,
  USB_IO: DfuErc.UsbIo,
  USB_CLOSED: DfuErc.UsbIo,
  DFU_NO_INTERFACE: DfuErc.NoDfuInterface,
  DFU_NOT_SUPPORTED: DfuErc.NotSupported,
  DFU_STATUS_ERROR: DfuErc.DeviceStatusError,
  DFU_UNEXPECTED_STATE: DfuErc.UnexpectedState,
  DFU_BUSY_TIMEOUT: DfuErc.BusyTimeout,
  DFU_NO_REENUMERATION: DfuErc.NoReenumeration,
  DFU_VERIFY_FAILED: DfuErc.VerifyFailed,
  DFU_FILE_INVALID: DfuErc.BadDfuFile,
  DFU_FILE_CRC: DfuErc.BadDfuFile,
  DFU_FILE_MISMATCH: DfuErc.DfuFileForOtherDevice,
  DFU_ADDRESS_RANGE: DfuErc.AddressRange,
  DFU_INVALID_OPTIONS: DfuErc.InvalidHandlerProperties,
};

/** The ADU result for an error thrown while talking to the device during `what`. */
export function resultFromDfuError(e: unknown, what: string): AducResult {
  if (isCancelled(e)) return result(ResultCode.FailureCancelled, Erc.WorkflowCancelled, `${what}: cancelled`);
  if (isBusError(e)) {
    const d = e.details;
    const named = typeof d.statusName === 'string' ? ` [${d.statusName} in ${String(d.stateName)}]` : '';
    return result(ResultCode.Failure, BY_CODE[e.code] ?? DfuErc.Unexpected, `${what}: ${e.code}${named}: ${e.message}`);
  }
  return result(ResultCode.Failure, DfuErc.Unexpected, `${what}: ${errorMessage(e)}`);
}
