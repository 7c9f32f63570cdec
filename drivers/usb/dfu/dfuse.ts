import { throwIfAborted } from '../../shared/errors.js';
import type { ImageSource } from '../../shared/image-source.js';
import { DfuseCommand, DfuState, DFUSE_DATA_BLOCK_BASE } from './constants.js';
import { manifest, withDfuRecovery, type DfuTransferOptions, type ManifestOutcome } from './dfu-download.js';
import { dfuError } from './dfu-errors.js';
import type { DfuHost } from './dfu-host.js';
import { ProgressThrottle } from './progress-throttle.js';
import { ReadAheadSource } from './read-ahead.js';

/** One segment of a DfuSe memory map (reference §3.2, dfu-util `src/dfuse_mem.c`). */
export interface DfuseSegment {
  start: number;
  end: number;
  pageSize: number;
  readable: boolean;
  erasable: boolean;
  writable: boolean;
}

/**
 * Parses an alt-setting name such as `@Internal Flash  /0x08000000/04*016Kg,01*064Kg`: after each
 * `/address/` come `count*size[unit]type` groups; type letter & 7 = readable(1)/erasable(2)/writable(4).
 */
export function parseDfuseMemoryMap(name: string | undefined): DfuseSegment[] {
  if (!name?.startsWith('@')) return [];
  const out: DfuseSegment[] = [];
  const parts = name.split('/').slice(1);
  for (let i = 0; i + 1 < parts.length; i += 2) {
    let addr = parseInt(parts[i]!, 16);
    for (const g of parts[i + 1]!.split(',')) {
      const m = /^\s*(\d+)\*\s*(\d+)\s*([ KM]?)([a-g])/.exec(g);
      if (!m) continue;
      const size = Number(m[2]) * (m[3] === 'K' ? 1024 : m[3] === 'M' ? 1024 * 1024 : 1);
      const type = m[4]!.charCodeAt(0) & 7;
      for (let n = 0; n < Number(m[1]); n++) {
        out.push({
          start: addr,
          end: addr + size,
          pageSize: size,
          readable: (type & 1) !== 0,
          erasable: (type & 2) !== 0,
          writable: (type & 4) !== 0,
        });
        addr += size;
      }
    }
  }
  return out;
}

const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

/** A DfuSe command (DNLOAD wValue 0), then GETSTATUS through dfuDNBUSY to DNLOAD-IDLE (reference §3.2). */
export async function dfuseCommand(host: DfuHost, bytes: number[], what: string, signal?: AbortSignal): Promise<void> {
  await host.dnload(0, Uint8Array.from(bytes));
  await host.pollUntil(DfuState.dfuDNLOAD_IDLE, host.options.timeouts.busyMs, what, signal, { command: what });
}

export const dfuseSetAddress = (host: DfuHost, address: number, signal?: AbortSignal) =>
  dfuseCommand(host, [DfuseCommand.SET_ADDRESS, ...le32(address)], `set address 0x${address.toString(16)}`, signal);
export const dfuseErasePage = (host: DfuHost, address: number, signal?: AbortSignal) =>
  dfuseCommand(host, [DfuseCommand.ERASE, ...le32(address)], `erase page 0x${address.toString(16)}`, signal);
export const dfuseMassErase = (host: DfuHost, signal?: AbortSignal) =>
  dfuseCommand(host, [DfuseCommand.ERASE], 'mass erase', signal);

export interface DfuseDownloadOptions extends DfuTransferOptions {
  /** Start address of the image. */
  address: number;
  /** Leave DFU mode afterwards (jump to the application). Default true. */
  leave?: boolean;
}

export interface DfuseDownloadResult {
  bytes: number;
  erasedPages: number;
  restarts: number;
  manifest: ManifestOutcome | 'stay';
}

/**
 * DfuSe download at an address (dfu-util `src/dfuse.c` `dfuse_dnload_element`): pass 1 erases every
 * page the image touches, pass 2 sets the address pointer before each chunk and writes it with
 * wValue 2; then optionally leave. Pages come from the alt setting's memory map.
 * @throws BusError DFU_ADDRESS_RANGE, DFU_STATUS_ERROR, DFU_BUSY_TIMEOUT, USB_*, CANCELLED.
 */
export async function dfuseDownload(
  host: DfuHost,
  source: ImageSource,
  opts: DfuseDownloadOptions,
): Promise<DfuseDownloadResult> {
  const { address, signal, onProgress } = opts;
  const image = new ReadAheadSource(source);
  const map = parseDfuseMemoryMap(host.altName);
  const end = address + image.size;
  const pages = map.filter((s) => s.start < end && s.end > address);
  const covered = pages.reduce((n, s) => n + (Math.min(s.end, end) - Math.max(s.start, address)), 0);
  if (map.length > 0 && (covered !== image.size || pages.some((p) => !p.writable))) {
    throw dfuError(
      'DFU_ADDRESS_RANGE',
      `0x${address.toString(16)}..0x${end.toString(16)} is not writable memory of "${host.altName}"`,
      { address, size: image.size },
    );
  }
  const t = host.transferSize;
  return withDfuRecovery(host, 'dfuse download', signal, async (restarts) => {
    let erased = 0;
    for (const p of pages) {
      if (!p.erasable) continue;
      await dfuseErasePage(host, p.start, signal);
      erased++;
      onProgress?.({ phase: 'erase', bytesDone: Math.min(image.size, p.end - address), bytesTotal: image.size });
    }
    const progress = new ProgressThrottle(onProgress, 'download', image.size);
    let off = 0;
    const where = () => ({ address: address + off }); // error details, built only when an error is thrown
    while (off < image.size) {
      throwIfAborted(signal);
      const chunk = image.cached(off, t) ?? (await image.readAt(off, t));
      if (chunk.length === 0) break;
      await dfuseSetAddress(host, address + off, signal);
      await host.dnload(DFUSE_DATA_BLOCK_BASE, chunk);
      await host.pollUntil(DfuState.dfuDNLOAD_IDLE, host.options.timeouts.busyMs, 'dfuse write', signal, where);
      off += chunk.length;
      progress.update(off);
    }
    let outcome: ManifestOutcome | 'stay' = 'stay';
    if (opts.leave ?? true) {
      await dfuseSetAddress(host, address, signal);
      outcome = await manifest(host, DFUSE_DATA_BLOCK_BASE, signal);
    }
    return { bytes: image.size, erasedPages: erased, restarts, manifest: outcome };
  });
}

/**
 * Reads `image.size` bytes back from `address` (set address, ABORT to dfuIDLE, UPLOAD wValue 2, 3…)
 * and compares them with the image.
 * @throws BusError DFU_VERIFY_FAILED, DFU_NOT_SUPPORTED, USB_*, CANCELLED.
 */
export async function dfuseVerify(
  host: DfuHost,
  source: ImageSource,
  address: number,
  opts: DfuTransferOptions = {},
): Promise<void> {
  const image = new ReadAheadSource(source);
  if (!host.functional.canUpload) throw dfuError('DFU_NOT_SUPPORTED', 'device cannot upload (bitCanUpload clear)');
  await host.ensureIdle(opts.signal);
  await dfuseSetAddress(host, address, opts.signal);
  await host.abort();
  const t = host.transferSize;
  const progress = new ProgressThrottle(opts.onProgress, 'verify', image.size);
  for (let off = 0, block = DFUSE_DATA_BLOCK_BASE; off < image.size; block++) {
    throwIfAborted(opts.signal);
    const want = image.cached(off, t) ?? (await image.readAt(off, t));
    const got = await host.upload(block, want.length);
    for (let i = 0; i < want.length; i++) {
      if (got[i] !== want[i])
        throw dfuError('DFU_VERIFY_FAILED', `read-back differs at 0x${(address + off + i).toString(16)}`, {
          offset: off + i,
          address: address + off + i,
        });
    }
    off += want.length;
    progress.update(off);
  }
  await host.abort();
}
