import type { ImageSource } from '../../shared/image-source.js';
import { isBusError } from '../../shared/errors.js';
import { matchesDevice, waitForDevice, type UsbDeviceMatch } from '../find-device.js';
import type { UsbBackend, UsbDevice, UsbDeviceInfo } from '../usb-device.js';
import { dfuDownload, manifest, type DfuProgress } from './dfu-download.js';
import { DFUSE_DATA_BLOCK_BASE } from './constants.js';
import { dfuError } from './dfu-errors.js';
import { DfuHost, type DfuProbe } from './dfu-host.js';
import { resolveDfuHostOptions, type DfuHostOptions, type DfuHostOptionsInput } from './dfu-options.js';
import { checkSuffixMatches, ImageSlice, readDfuSuffix } from './dfu-suffix.js';
import { dfuVerifyByUpload } from './dfu-upload.js';
import { dfuseDownload, dfuseSetAddress, dfuseVerify, parseDfuseMemoryMap } from './dfuse.js';
import { childLog } from '../../shared/child-log.js';

export type DfuFlashPhase = 'find' | 'detach' | 'download' | 'verify' | 'manifest' | 'reset' | 'reenumerate';

export interface DfuFlashRequest {
  /** The device: serial number (preferred, survives re-enumeration) and/or VID/PID/port path. */
  target: UsbDeviceMatch;
  /** The file as given (a `.dfu` suffix is checked and stripped). */
  image: ImageSource;
  /** DFU-mode alt setting, default 0. */
  alt?: number;
  /** DfuSe start address; default: start of the alt setting's first writable segment. */
  dfuseAddress?: number;
  /** UPLOAD read-back: `auto` when the device can upload and stays answering, `always`, `never`. */
  verify?: 'auto' | 'always' | 'never';
  /** USB-reset after manifestation and wait for the run-time device (default true). */
  reset?: boolean;
  /** Refuse files without a `.dfu` suffix (default false: dfu-util only warns). */
  requireSuffix?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: DfuProgress) => void;
  onPhase?: (phase: DfuFlashPhase) => void;
}

export interface DfuFlashResult {
  /** The device as found (run-time or DFU mode). */
  before: UsbDeviceInfo;
  /** The run-time device after reset (undefined when `reset: false`). */
  after: UsbDeviceInfo | undefined;
  detached: boolean;
  bytes: number;
  restarts: number;
  verified: boolean;
  dfuse: boolean;
}

async function probeQuietly(d: UsbDevice, o: DfuHostOptions): Promise<DfuProbe | undefined> {
  try {
    return await DfuHost.probe(d, o.timeouts.controlMs);
  } catch (e) {
    if (isBusError(e) && e.code.startsWith('USB_')) return undefined; // vanishing or busy while re-enumerating: look again next scan
    throw e;
  } finally {
    await d.close().catch((e: unknown) => o.log?.debug({ err: e }, 'closing a probed device failed'));
  }
}

/**
 * The whole DFU flash of one device (reference/bus-protocols.md §3.1 "dfu-util step by step"):
 *
 * ```
 * find ─ run-time? ─ DETACH (+ reset without bitWillDetach) ─ wait for DFU mode (same serial/port)
 *      ─ ensure dfuIDLE ─ DNLOAD… ─ [DfuSe: erase, set address, write] ─ UPLOAD verify
 *      ─ manifestation / DfuSe leave ─ USB reset ─ wait for run-time ─ new bcdDevice
 * ```
 * @throws BusError DFU_* / USB_* / CANCELLED (see dfu-errors.ts, usb-errors.ts).
 */
export async function flashDfu(
  backend: UsbBackend,
  req: DfuFlashRequest,
  input: DfuHostOptionsInput = {},
): Promise<DfuFlashResult> {
  const o = resolveDfuHostOptions(input);
  const log = o.log && childLog(o.log, { component: 'usb.dfu', serialNumber: req.target.serialNumber });
  const { signal } = req;
  const wait = { timeoutMs: o.timeouts.reenumerateMs, intervalMs: o.timeouts.scanIntervalMs, sleep: o.sleep, signal };
  const phase = (p: DfuFlashPhase) => {
    log?.info({ phase: p }, `dfu ${p}`);
    req.onPhase?.(p);
  };

  const suffix = await readDfuSuffix(req.image);
  if (!suffix && req.requireSuffix) throw dfuError('DFU_FILE_INVALID', 'file has no .dfu suffix');
  const payload = suffix ? new ImageSlice(req.image, suffix.payloadSize) : req.image;

  phase('find');
  let probe: DfuProbe | undefined;
  let device = await waitForDevice(
    backend,
    async (d) =>
      matchesDevice(d, req.target) && (probe = await probeQuietly(d, o)) !== undefined && probe.mode !== 'none',
    'find DFU device',
    { ...wait, timeoutMs: Math.min(wait.timeoutMs, 2000) },
  );
  const before = device.info;
  const same: UsbDeviceMatch = before.serialNumber
    ? { serialNumber: before.serialNumber }
    : { portPath: before.portPath };
  const ids = [{ vendorId: before.vendorId, productId: before.productId }];
  let detached = false;

  if (probe?.mode === 'runtime') {
    if (suffix) checkSuffixMatches(suffix, ids);
    phase('detach');
    const rt = await DfuHost.open(device, {}, o);
    try {
      await rt
        .getStatus()
        .catch((e: unknown) => log?.debug({ err: e }, 'run-time GETSTATUS not answered (optional in run-time mode)'));
      await rt.detach();
      if (!rt.functional.willDetach)
        await device.reset().catch((e: unknown) => log?.debug({ err: e }, 'reset after detach: device already gone'));
    } finally {
      await rt.close();
    }
    detached = true;
    phase('reenumerate');
    device = await waitForDevice(
      backend,
      async (d) => matchesDevice(d, same) && (await probeQuietly(d, o))?.mode === 'dfu',
      'wait for DFU mode after DETACH',
      { ...wait, exclude: [device] },
    ).catch((e: unknown) => {
      throw isBusError(e, 'USB_NOT_FOUND')
        ? dfuError(
            'DFU_NO_REENUMERATION',
            `device did not come back in DFU mode within ${o.timeouts.reenumerateMs} ms`,
            {},
            e,
          )
        : e;
    });
  }
  ids.push({ vendorId: device.info.vendorId, productId: device.info.productId });
  if (suffix) checkSuffixMatches(suffix, ids);

  const host = await DfuHost.open(device, { alt: req.alt ?? 0 }, o);
  let bytes: number;
  let restarts: number;
  let verified = false;
  let gone = false;
  try {
    if (!host.functional.canDownload)
      throw dfuError('DFU_NOT_SUPPORTED', 'device cannot download (bitCanDnload clear)');
    const wantVerify = req.verify ?? 'auto';
    phase('download');
    if (host.dfuse) {
      const address = req.dfuseAddress ?? parseDfuseMemoryMap(host.altName).find((s) => s.writable)?.start;
      if (address === undefined)
        throw dfuError(
          'DFU_ADDRESS_RANGE',
          'DfuSe device: no dfuseAddress given and no writable segment in the memory map',
        );
      const r = await dfuseDownload(host, payload, { address, leave: false, signal, onProgress: req.onProgress });
      bytes = r.bytes;
      restarts = r.restarts;
      if (wantVerify !== 'never' && (host.functional.canUpload || wantVerify === 'always')) {
        phase('verify');
        await dfuseVerify(host, payload, address, { signal, onProgress: req.onProgress });
        verified = true;
      }
      if (req.reset ?? true) {
        phase('manifest');
        await dfuseSetAddress(host, address, signal);
        gone = (await manifest(host, DFUSE_DATA_BLOCK_BASE, signal)) === 'gone';
      }
    } else {
      const r = await dfuDownload(host, payload, { signal, onProgress: req.onProgress });
      bytes = r.bytes;
      restarts = r.restarts;
      gone = r.manifest === 'gone';
      const canVerify = host.functional.canUpload && r.manifest === 'idle';
      if (wantVerify === 'always' && !canVerify)
        throw dfuError(
          'DFU_NOT_SUPPORTED',
          `cannot verify by UPLOAD (bitCanUpload ${host.functional.canUpload}, after manifestation: ${r.manifest})`,
        );
      if (wantVerify !== 'never' && canVerify) {
        phase('verify');
        await dfuVerifyByUpload(host, payload, { signal, onProgress: req.onProgress });
        verified = true;
      }
    }
    if ((req.reset ?? true) && !gone) {
      phase('reset');
      await device.reset().catch((e: unknown) => {
        if (!(isBusError(e) && e.code.startsWith('USB_'))) throw e;
        log?.debug({ err: e }, 'USB reset: the device left the bus while resetting');
      });
    }
  } finally {
    await host.close();
  }
  if (!(req.reset ?? true)) return { before, after: undefined, detached, bytes, restarts, verified, dfuse: host.dfuse };
  phase('reenumerate');
  const isApp = async (d: UsbDevice) => {
    if (!matchesDevice(d, same)) return false;
    const p = await probeQuietly(d, o); // undefined: vanished while we looked (the old DFU-mode device going away)
    return p !== undefined && p.mode !== 'dfu';
  };
  const app = await waitForDevice(backend, isApp, 'wait for run-time mode after reset', {
    ...wait,
    exclude: [device],
  }).catch((e: unknown) => {
    throw isBusError(e, 'USB_NOT_FOUND')
      ? dfuError(
          'DFU_NO_REENUMERATION',
          `device did not come back in run-time mode within ${o.timeouts.reenumerateMs} ms`,
          {},
          e,
        )
      : e;
  });
  return { before, after: app.info, detached, bytes, restarts, verified, dfuse: host.dfuse };
}
