import { throwIfAborted } from '../../shared/errors.js';
import type { ImageSource } from '../../shared/image-source.js';
import { DfuState } from './constants.js';
import type { DfuTransferOptions } from './dfu-download.js';
import { dfuError } from './dfu-errors.js';
import type { DfuHost } from './dfu-host.js';
import { ProgressThrottle } from './progress-throttle.js';
import { ReadAheadSource } from './read-ahead.js';

/**
 * Reads the firmware back with UPLOAD (DFU 1.1 §6.2; block numbers 0, 1, 2…; a short block ends
 * the upload) and compares it chunk by chunk with `image`, never holding either whole.
 * Needs bitCanUpload and a device in dfuIDLE (after a tolerant manifestation).
 * @throws BusError DFU_NOT_SUPPORTED, DFU_VERIFY_FAILED (details.offset), USB_*, CANCELLED.
 */
export async function dfuVerifyByUpload(
  host: DfuHost,
  source: ImageSource,
  opts: DfuTransferOptions = {},
): Promise<void> {
  const image = new ReadAheadSource(source);
  if (!host.functional.canUpload) throw dfuError('DFU_NOT_SUPPORTED', 'device cannot upload (bitCanUpload clear)');
  await host.ensureIdle(opts.signal);
  const t = host.transferSize;
  const progress = new ProgressThrottle(opts.onProgress, 'verify', image.size);
  let off = 0;
  for (let block = 0; ; block++) {
    throwIfAborted(opts.signal);
    const got = await host.upload(block, t);
    const want = image.cached(off, got.length) ?? (await image.readAt(off, got.length));
    if (got.length > want.length)
      throw dfuError('DFU_VERIFY_FAILED', `device holds more than the ${image.size}-byte image`, {
        offset: image.size,
      });
    for (let i = 0; i < got.length; i++) {
      if (got[i] !== want[i])
        throw dfuError('DFU_VERIFY_FAILED', `read-back differs at byte ${off + i}`, { offset: off + i });
    }
    off += got.length;
    progress.update(off);
    if (got.length < t) break;
  }
  if (off !== image.size)
    throw dfuError('DFU_VERIFY_FAILED', `device returned ${off} bytes, image has ${image.size}`, { offset: off });
  const s = await host.getStatus();
  if (s.state === DfuState.dfuUPLOAD_IDLE) await host.abort();
}
