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

/** Opens a step's firmware file for streaming; an unreadable file fails with `imageReadFailedErc`. The caller closes `source`. */
export async function openStepFile(
  file: StepFile,
  imageReadFailedErc: number,
): Promise<{ ok: true; file: StepFile; source: FileImageSource } | { ok: false; failure: AducResult }> {
  try {
    return { ok: true, file, source: await FileImageSource.open(file.path) };
  } catch (e) {
    return {
      ok: false,
      failure: result(ResultCode.Failure, imageReadFailedErc, `cannot open ${file.path}: ${errorMessage(e)}`),
    };
  }
}
