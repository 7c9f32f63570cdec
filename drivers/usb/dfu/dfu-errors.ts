import { BusError } from '../../shared/errors.js';

/**
 * Codes of the DFU layer (`details` carries `status`/`statusName`, `state`/`stateName`, `block`,
 * `offset` where they apply). USB transport failures stay `USB_*` (usb-errors.ts).
 *
 * | code                    | meaning (governing option)                                          |
 * |-------------------------|---------------------------------------------------------------------|
 * | `DFU_NO_INTERFACE`      | the device has no DFU interface / alt setting asked for             |
 * | `DFU_NOT_SUPPORTED`     | bmAttributes forbid the operation (no bitCanDnload / bitCanUpload)   |
 * | `DFU_STATUS_ERROR`      | the device reports dfuERROR with a bStatus (errTARGET…errSTALLEDPKT) after recovery attempts ran out (`attempts.restarts`) |
 * | `DFU_UNEXPECTED_STATE`  | the device is in a state the step does not allow (details.stateName) |
 * | `DFU_BUSY_TIMEOUT`      | still dfuDNBUSY/dfuMANIFEST after `timeouts.busyMs` / `timeouts.manifestMs` |
 * | `DFU_NO_REENUMERATION`  | the device did not come back after detach/reset within `timeouts.reenumerateMs` |
 * | `DFU_VERIFY_FAILED`     | UPLOAD read back other bytes than were downloaded (details.offset)   |
 * | `DFU_FILE_INVALID`      | `.dfu` suffix malformed (bLength, signature)                         |
 * | `DFU_FILE_CRC`          | `.dfu` suffix dwCRC does not match the file                          |
 * | `DFU_FILE_MISMATCH`     | `.dfu` suffix idVendor/idProduct do not match the device             |
 * | `DFU_ADDRESS_RANGE`     | DfuSe target address/size outside the alt setting's memory map       |
 * | `DFU_INVALID_OPTIONS`   | a host option is out of range (details.field)                        |
 */
export type DfuErrorCode =
  | 'DFU_NO_INTERFACE'
  | 'DFU_NOT_SUPPORTED'
  | 'DFU_STATUS_ERROR'
  | 'DFU_UNEXPECTED_STATE'
  | 'DFU_BUSY_TIMEOUT'
  | 'DFU_NO_REENUMERATION'
  | 'DFU_VERIFY_FAILED'
  | 'DFU_FILE_INVALID'
  | 'DFU_FILE_CRC'
  | 'DFU_FILE_MISMATCH'
  | 'DFU_ADDRESS_RANGE'
  | 'DFU_INVALID_OPTIONS';

export function dfuError(
  code: DfuErrorCode,
  message: string,
  details: Record<string, unknown> = {},
  cause?: unknown,
): BusError {
  return new BusError(code, message, details, cause);
}
