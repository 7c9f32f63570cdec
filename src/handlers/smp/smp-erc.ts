import { isBusError, isCancelled } from '../../../drivers/shared/errors.js';
import { errorMessage } from '../../model/errors.js';
import { ercTable, handlerErc } from '../handler-erc.js';
import { Erc, ResultCode, result, type AducResult } from '../../model/result-codes.js';

/**
 * Extended result codes of `sensor-proxy/smp:1`: facility 3 (content handler), component 32
 * (EXTERNAL), values 0x500-0x5FF (the SMP range of `src/model/result-codes.ts`).
 *
 * | values       | meaning                                                                  |
 * |--------------|--------------------------------------------------------------------------|
 * | 0x501-0x50F  | step / configuration problems (nothing sent to the device)               |
 * | 0x510-0x51F  | link and transport (port, disconnect, no response, garbled response)      |
 * | 0x520-0x53F  | upload and activation (mismatch, stall, revert, device not back)          |
 * | 0x540-0x55F  | device answered SMP v1 `rc` = value − 0x540 (MGMT_ERR_*)                   |
 * | 0x580-0x5BF  | device answered SMP v2 image-group error `rc` = value − 0x580 (IMG_MGMT_ERR_*) |
 * | 0x5C0        | device answered an SMP v2 error of another group                           |
 */
export const SmpErc = ercTable({
  /** 0x32000501: neither `component.properties.port` nor `handlerProperties.port` names the device. */
  NoPort: 0x501,
  /** 0x32000502: a handlerProperty has the wrong type or range. */
  InvalidHandlerProperties: 0x502,
  /** 0x32000503: IsInstalled without `handlerProperties.installedCriteria`. */
  MissingInstalledCriteria: 0x503,
  /** 0x32000504: the step does not carry exactly one firmware file. */
  WrongFileCount: 0x504,
  /** 0x32000505: the firmware file is not an MCUboot image (header magic 0x96f3b83d). */
  InvalidImage: 0x505,
  /** 0x32000510: the serial port could not be opened (details: errno, hint). */
  PortOpenFailed: 0x510,
  /** 0x32000511: the port went away (unplug, device re-enumerated) and did not come back in time. */
  Disconnected: 0x511,
  /** 0x32000512: the device did not answer an SMP request (after retries). */
  NoResponse: 0x512,
  /** 0x32000513: the device answered with a malformed packet, CBOR body or offset. */
  BadResponse: 0x513,
  /** 0x32000520: the device reports the uploaded image does not match its SHA-256 (`match: false`). */
  ImageMismatch: 0x520,
  /** 0x32000521: the device stopped taking data (same offset again and again). */
  UploadStalled: 0x521,
  /** 0x32000522: the configured MTU leaves no room for image data. */
  MtuTooSmall: 0x522,
  /** 0x32000523: after the upload the device lists no image in the secondary slot. */
  UploadedImageNotListed: 0x523,
  /** 0x32000530: after reset the device did not answer within `resetTimeoutSeconds`. */
  DeviceNotBack: 0x530,
  /** 0x32000531: after reset the device runs its old image (MCUboot reverted the new one). */
  DeviceReverted: 0x531,
  /** 0x32000532: the confirm was accepted but the image does not show as confirmed. */
  ConfirmFailed: 0x532,
  /** 0x32000533: the device lists no active image for the configured image number. */
  NoActiveImage: 0x533,
  /** 0x320005FF: an error this table does not know. */
  Unexpected: 0x5ff,
});

/** ERC of an SMP error response: v1 rc → 0x540+rc, v2 image group → 0x580+rc, other v2 groups → 0x5C0. */
export function smpRcErc(rc: number, group: number | undefined): number {
  if (group === undefined) return handlerErc(0x540 + Math.min(Math.max(rc, 0), 0x1f));
  if (group === 1) return handlerErc(0x580 + Math.min(Math.max(rc, 0), 0x3f));
  return handlerErc(0x5c0);
}

/** Bus error code → ERC: the one table of this handler. */
const BY_CODE: Readonly<Record<string, number>> = {
  SERIAL_OPEN_FAILED: SmpErc.PortOpenFailed,
  SERIAL_DISCONNECTED: SmpErc.Disconnected,
  SERIAL_CLOSED: SmpErc.Disconnected,
  SERIAL_IO: SmpErc.Disconnected,
  SMP_TIMEOUT: SmpErc.NoResponse,
  SMP_BAD_PACKET: SmpErc.BadResponse,
  SMP_BAD_CBOR: SmpErc.BadResponse,
  SMP_BAD_RESPONSE: SmpErc.BadResponse,
  SMP_UPLOAD_BAD_OFFSET: SmpErc.BadResponse,
  SMP_IMAGE_MISMATCH: SmpErc.ImageMismatch,
  SMP_UPLOAD_STALLED: SmpErc.UploadStalled,
  SMP_MTU_TOO_SMALL: SmpErc.MtuTooSmall,
  SMP_MSG_TOO_LARGE: SmpErc.MtuTooSmall,
  SMP_BAD_IMAGE: SmpErc.InvalidImage,
  SMP_DEVICE_NOT_BACK: SmpErc.DeviceNotBack,
};

/** The ADU result for an error thrown while talking to the device during `what`. */
export function resultFromSmpError(e: unknown, what: string): AducResult {
  if (isCancelled(e)) return result(ResultCode.FailureCancelled, Erc.WorkflowCancelled, `${what}: cancelled`);
  if (isBusError(e)) {
    const code =
      e.code === 'SMP_RC'
        ? smpRcErc(Number(e.details.rc), e.details.group === undefined ? undefined : Number(e.details.group))
        : (BY_CODE[e.code] ?? SmpErc.Unexpected);
    const hint = typeof e.details.hint === 'string' ? ` (${e.details.hint})` : '';
    return result(ResultCode.Failure, code, `${what}: ${e.code}: ${e.message}${hint}`);
  }
  return result(ResultCode.Failure, SmpErc.Unexpected, `${what}: ${errorMessage(e)}`);
}
