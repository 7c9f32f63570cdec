import { isBusError, isCancelled, throwIfAborted } from '../../shared/errors.js';
import type { ImageSource } from '../../shared/image-source.js';
import { DfuState } from './constants.js';
import type { DfuHost } from './dfu-host.js';
import { ProgressThrottle } from './progress-throttle.js';
import { ReadAheadSource } from './read-ahead.js';
import { childLog } from '../../shared/child-log.js';

/** Progress of a download, upload or erase (bytes of the image). */
export interface DfuProgress {
  phase: 'download' | 'verify' | 'erase';
  bytesDone: number;
  bytesTotal: number;
}

export interface DfuTransferOptions {
  signal?: AbortSignal;
  onProgress?: (p: DfuProgress) => void;
}

/** How manifestation ended (DFU 1.1 §7). */
export type ManifestOutcome = 'idle' | 'wait-reset' | 'gone';

export interface DfuDownloadResult {
  bytes: number;
  blocks: number;
  /** Restarts from block 0 after dfuERROR / a stall (bounded by `attempts.restarts`). */
  restarts: number;
  manifest: ManifestOutcome;
}

/** Errors after which a restart from dfuIDLE can help (the device is still there). */
export function isRecoverable(e: unknown): boolean {
  return isBusError(e, 'DFU_STATUS_ERROR') || isBusError(e, 'USB_STALL') || isBusError(e, 'DFU_UNEXPECTED_STATE');
}

/**
 * Runs `attempt` with dfu-util's recovery around it (reference §3.1 "bounded recovery"): on
 * dfuERROR or a stalled request, CLRSTATUS/ABORT back to dfuIDLE and start again from block 0 (most
 * devices cannot resume mid-image), at most `attempts.restarts` times. On cancel: DFU_ABORT.
 */
export async function withDfuRecovery<T>(
  host: DfuHost,
  what: string,
  signal: AbortSignal | undefined,
  attempt: (restarts: number) => Promise<T>,
): Promise<T> {
  const log = host.options.log && childLog(host.options.log, { component: 'usb.dfu' });
  for (let restarts = 0; ; restarts++) {
    try {
      await host.ensureIdle(signal);
      return await attempt(restarts);
    } catch (e) {
      if (isCancelled(e)) {
        await host.abortQuietly(e);
        throw e;
      }
      if (!isRecoverable(e) || restarts >= host.options.attempts.restarts) {
        // Leave the device in dfuIDLE for whoever comes next (dfu-util, a later retry).
        if (isBusError(e, 'DFU_STATUS_ERROR'))
          await host.clearStatus().catch((e2: unknown) => log?.warn({ err: e2 }, 'CLRSTATUS after giving up failed'));
        throw e;
      }
      log?.warn({ err: e, restarts: restarts + 1 }, `${what} failed; recovering and starting again from block 0`);
    }
  }
}

/**
 * Plain DFU download (DFU 1.1 §6.1; dfu-util `src/dfu_load.c`): DNLOAD(block n, ≤ transferSize
 * bytes) then GETSTATUS until dfuDNLOAD-IDLE, sleeping bwPollTimeout; the image streams from
 * `image`. Then the zero-length DNLOAD and manifestation (see {@link manifest}).
 * @throws BusError DFU_STATUS_ERROR (named bStatus), DFU_BUSY_TIMEOUT, DFU_NOT_SUPPORTED, USB_*, CANCELLED.
 */
export async function dfuDownload(
  host: DfuHost,
  source: ImageSource,
  opts: DfuTransferOptions = {},
): Promise<DfuDownloadResult> {
  const { signal, onProgress } = opts;
  const image = new ReadAheadSource(source);
  const t = host.transferSize;
  const busy = host.options.timeouts.busyMs;
  return withDfuRecovery(host, 'download', signal, async (restarts) => {
    const progress = new ProgressThrottle(onProgress, 'download', image.size);
    let block = 0;
    let off = 0;
    const where = () => ({ block, offset: off }); // error details, built only when an error is thrown
    for (; off < image.size; block++) {
      throwIfAborted(signal);
      const chunk = image.cached(off, t) ?? (await image.readAt(off, t));
      if (chunk.length === 0) break;
      await host.dnload(block, chunk);
      await host.pollUntil(DfuState.dfuDNLOAD_IDLE, busy, 'download', signal, where);
      off += chunk.length;
      progress.update(off);
    }
    const outcome = await manifest(host, block, signal);
    return { bytes: image.size, blocks: block, restarts, manifest: outcome };
  });
}

/**
 * The zero-length DNLOAD and manifestation (DFU 1.1 §7; dfu-util `src/dfu_load.c`): poll through
 * MANIFEST-SYNC/MANIFEST; tolerant devices return to dfuIDLE, others stop in MANIFEST-WAIT-RESET
 * (the caller resets); a device that leaves the bus instead has reset itself (`gone`).
 */
export async function manifest(host: DfuHost, blockNum: number, signal?: AbortSignal): Promise<ManifestOutcome> {
  await host.dnload(blockNum, new Uint8Array(0));
  try {
    const r = await host.pollUntil(
      (s) => s.state === DfuState.dfuIDLE || s.state === DfuState.dfuMANIFEST_WAIT_RESET,
      host.options.timeouts.manifestMs,
      'manifestation',
      signal,
    );
    return r.state === DfuState.dfuIDLE ? 'idle' : 'wait-reset';
  } catch (e) {
    if (isBusError(e, 'USB_DISCONNECTED') || isBusError(e, 'USB_IO') || isBusError(e, 'USB_TIMEOUT')) return 'gone';
    throw e;
  }
}
