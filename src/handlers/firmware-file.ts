import { FileImageSource } from '../../drivers/shared/image-source.js';
import { errorMessage } from '../model/errors.js';
import type { StepContext, StepFile } from '../model/handler.js';
import { ResultCode, result, type AducResult } from '../model/result-codes.js';

/**
 * The one firmware image a bus flash step carries (uds, smp, ymodem, dfu). A step with none or
 * several fails with the handler's own WrongFileCount ERC, before anything touches the device.
 */
export function singleFirmwareFile(
  ctx: StepContext,
  handlerId: string,
  wrongFileCountErc: number,
): { ok: true; file: StepFile } | { ok: false; failure: AducResult } {
  const file = ctx.files[0];
  if (ctx.files.length === 1 && file) return { ok: true, file };
  return {
    ok: false,
    failure: result(
      ResultCode.Failure,
      wrongFileCountErc,
      `a ${handlerId} step needs exactly one firmware file, it has ${ctx.files.length}`,
    ),
  };
}

/**
 * {@link singleFirmwareFile}, opened for streaming. An unreadable file fails with the handler's
 * `imageReadFailed` ERC. The caller closes `source`.
 */
export async function openFirmwareImage(
  ctx: StepContext,
  handlerId: string,
  ercs: { wrongFileCount: number; imageReadFailed: number },
): Promise<{ ok: true; file: StepFile; source: FileImageSource } | { ok: false; failure: AducResult }> {
  const image = singleFirmwareFile(ctx, handlerId, ercs.wrongFileCount);
  if (!image.ok) return image;
  try {
    return { ok: true, file: image.file, source: await FileImageSource.open(image.file.path) };
  } catch (e) {
    return {
      ok: false,
      failure: result(ResultCode.Failure, ercs.imageReadFailed, `cannot open ${image.file.path}: ${errorMessage(e)}`),
    };
  }
}
