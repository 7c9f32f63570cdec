import type { StepContext, StepFile } from '../model/handler.js';
import { ResultCode, result, type AducResult } from '../model/result-codes.js';

/**
 * The one firmware image a bus flash step carries (uds, smp, ymodem, dfu). A step with none or
 * several fails with the handler's own WrongFileCount ERC, before anything touches the device.
 */
export function singleFirmwareFile(ctx: StepContext, handlerId: string, wrongFileCountErc: number): { ok: true; file: StepFile } | { ok: false; failure: AducResult } {
  const file = ctx.files[0];
  if (ctx.files.length === 1 && file) return { ok: true, file };
  return { ok: false, failure: result(ResultCode.Failure, wrongFileCountErc, `a ${handlerId} step needs exactly one firmware file, it has ${ctx.files.length}`) };
}
