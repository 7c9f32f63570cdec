import type { Logger } from 'pino';
import { CancelledError, isBusError, throwIfAborted } from '../../shared/errors.js';
import { decodeStringDescriptor, DescriptorType, parseConfigDescriptor } from '../descriptors.js';
import type { UsbControlSetup, UsbDevice } from '../usb-device.js';
import { DFU_FUNCTIONAL_DESCRIPTOR_TYPE, DfuRequest, DfuState, DfuStatus } from './constants.js';
import { dfuError } from './dfu-errors.js';
import { resolveDfuHostOptions, type DfuHostOptions, type DfuHostOptionsInput } from './dfu-options.js';
import { dfuSetup, getDescriptorSetup, parseStatus, type DfuStatusReport } from './dfu-requests.js';
import {
  findDfuInterfaces,
  isDfuse,
  parseFunctionalDescriptor,
  type DfuFunctionalDescriptor,
  type DfuInterfaceInfo,
} from './functional-descriptor.js';
import { childLog } from '../../shared/child-log.js';

/** Which DFU interface/alt setting to use. */
export interface DfuInterfaceSelection {
  /** Alt setting (DfuSe: memory region), default 0. */
  alt?: number;
}

/** What {@link DfuHost.probe} finds without claiming anything. */
export interface DfuProbe {
  interfaces: DfuInterfaceInfo[];
  /** `runtime` when a run-time DFU interface is present, `dfu` when a DFU-mode one is, `none` otherwise. */
  mode: 'runtime' | 'dfu' | 'none';
}

/**
 * A DFU 1.1 / DfuSe host on one {@link UsbDevice} interface (DFU 1.1 §6; dfu-util 0.11 `src/dfu.c`,
 * `src/dfu_load.c`; reference/bus-protocols.md §3.1). One method per request, plus status polling
 * honouring bwPollTimeout and dfu-util's start-of-session recovery. Download/upload/DfuSe
 * sequences live in their own files and use these methods.
 *
 * ```
 *  dfu-flasher ─┬─ dfu-download / dfu-upload / dfuse
 *               └─ DfuHost (requests, polling) ── UsbDevice (usb | memory backend)
 * ```
 */
export class DfuHost {
  private readonly log: Logger | undefined;
  /** Setups of the per-block requests, built once (the hot loop allocates none). */
  private readonly getStatusSetup: UsbControlSetup;
  private readonly dnloadSetup: UsbControlSetup;

  private constructor(
    readonly device: UsbDevice,
    readonly iface: DfuInterfaceInfo,
    readonly functional: DfuFunctionalDescriptor,
    /** The alt setting's name (DfuSe: the memory map string). */
    readonly altName: string | undefined,
    readonly options: DfuHostOptions,
  ) {
    this.log =
      options.log &&
      childLog(options.log, {
        component: 'usb.dfu',
        serialNumber: device.info.serialNumber,
        alt: iface.alternateSetting,
      });
    this.getStatusSetup = dfuSetup(DfuRequest.GETSTATUS, iface.interfaceNumber);
    this.dnloadSetup = dfuSetup(DfuRequest.DNLOAD, iface.interfaceNumber);
  }

  /** Reads the configuration descriptor and lists the DFU interfaces (opens the device). */
  static async probe(device: UsbDevice, controlMs = 5000): Promise<DfuProbe> {
    await device.open();
    const head = await device.controlIn(getDescriptorSetup(DescriptorType.CONFIGURATION, 0), 9, controlMs);
    const total = head.length >= 4 ? head[2]! | (head[3]! << 8) : 9;
    const full =
      total > head.length
        ? await device.controlIn(getDescriptorSetup(DescriptorType.CONFIGURATION, 0), total, controlMs)
        : head;
    const interfaces = findDfuInterfaces(parseConfigDescriptor(full)?.interfaces ?? []);
    const mode = interfaces.some((i) => i.mode === 'runtime') ? 'runtime' : interfaces.length > 0 ? 'dfu' : 'none';
    return { interfaces, mode };
  }

  /**
   * Opens the DFU interface of `device`, claims it and selects the alt setting.
   * @throws BusError DFU_NO_INTERFACE, USB_*.
   */
  static async open(
    device: UsbDevice,
    selection: DfuInterfaceSelection = {},
    input: DfuHostOptionsInput = {},
  ): Promise<DfuHost> {
    const options = resolveDfuHostOptions(input);
    const probe = await DfuHost.probe(device, options.timeouts.controlMs);
    const alt = selection.alt ?? 0;
    const iface =
      probe.interfaces.find((i) => i.alternateSetting === alt) ??
      (probe.mode === 'runtime' ? probe.interfaces[0] : undefined);
    if (!iface)
      throw dfuError('DFU_NO_INTERFACE', `no DFU interface with alt setting ${alt}`, {
        alts: probe.interfaces.map((i) => i.alternateSetting),
      });
    let functional = iface.functional;
    if (!functional) {
      // dfu-util's last resort (`src/dfu_util.c`): ask for the functional descriptor directly.
      const raw = await device
        .controlIn(getDescriptorSetup(DFU_FUNCTIONAL_DESCRIPTOR_TYPE, 0), 9, options.timeouts.controlMs)
        .catch(() => new Uint8Array(0));
      functional = parseFunctionalDescriptor(raw);
    }
    if (!functional) throw dfuError('DFU_NO_INTERFACE', 'DFU interface without a functional descriptor');
    await device.claimInterface(iface.interfaceNumber);
    if (iface.mode === 'dfu') await device.selectAlternateInterface(iface.interfaceNumber, iface.alternateSetting);
    let altName: string | undefined;
    if (iface.iInterface !== 0) {
      const s = await device
        .controlIn(getDescriptorSetup(DescriptorType.STRING, iface.iInterface, 0x0409), 255, options.timeouts.controlMs)
        .catch((e: unknown) => {
          if (isBusError(e, 'USB_STALL')) return new Uint8Array(0); // optional string; a device may not have it
          throw e;
        });
      altName = decodeStringDescriptor(s) || undefined;
    }
    return new DfuHost(device, iface, functional, altName, options);
  }

  get mode(): 'runtime' | 'dfu' {
    return this.iface.mode;
  }
  get dfuse(): boolean {
    return isDfuse(this.functional);
  }
  /** Bytes per DNLOAD/UPLOAD: wTransferSize, or the smaller configured override. */
  get transferSize(): number {
    const t = this.functional.transferSize;
    return this.options.transferSize !== undefined
      ? Math.min(this.options.transferSize, t || this.options.transferSize)
      : t;
  }

  private get n(): number {
    return this.iface.interfaceNumber;
  }
  private get ms(): number {
    return this.options.timeouts.controlMs;
  }

  async getStatus(): Promise<DfuStatusReport> {
    const b = await this.device.controlIn(this.getStatusSetup, 6, this.ms);
    const r = parseStatus(b);
    if (!r) throw dfuError('DFU_UNEXPECTED_STATE', `GETSTATUS answered ${b.length} bytes, expected 6`);
    if (this.log?.isLevelEnabled('trace')) this.log.trace({ ...r }, 'dfu status');
    return r;
  }
  async getState(): Promise<number> {
    const b = await this.device.controlIn(dfuSetup(DfuRequest.GETSTATE, this.n), 1, this.ms);
    return b[0] ?? -1;
  }
  async clearStatus(): Promise<void> {
    await this.device.controlOut(dfuSetup(DfuRequest.CLRSTATUS, this.n), new Uint8Array(0), this.ms);
  }
  async abort(): Promise<void> {
    await this.device.controlOut(dfuSetup(DfuRequest.ABORT, this.n), new Uint8Array(0), this.ms);
  }
  /** DFU_DETACH with wTimeout = the device's wDetachTimeOut (capped at 1000 ms like dfu-util). */
  async detach(): Promise<void> {
    const t = Math.min(this.functional.detachTimeoutMs || 1000, 1000);
    await this.device.controlOut(dfuSetup(DfuRequest.DETACH, this.n, t), new Uint8Array(0), this.ms);
  }
  async dnload(blockNum: number, data: Uint8Array): Promise<void> {
    // One setup object for every block (the backend copies its fields when the transfer is submitted).
    this.dnloadSetup.value = blockNum & 0xffff;
    await this.device.controlOut(this.dnloadSetup, data, this.ms);
  }
  async upload(blockNum: number, length: number): Promise<Uint8Array> {
    return this.device.controlIn(dfuSetup(DfuRequest.UPLOAD, this.n, blockNum & 0xffff), length, this.ms);
  }

  /**
   * Polls GETSTATUS until `done` (a state, or a predicate on the report), sleeping bwPollTimeout
   * after each answer that is not done, exactly like dfu-util 0.11's loop (`src/dfu_load.c`,
   * reference/bus-protocols.md §3.1 step 5; DFU 1.1 §6.1.2: no GETSTATUS before bwPollTimeout has
   * elapsed): no sleep before the first GETSTATUS and none once the device is done. `budgetMs`
   * bounds the total time slept. `ctx` (details for an error) may be a function: it is called only
   * when an error is thrown, so the hot loop builds nothing per block.
   * @throws BusError DFU_STATUS_ERROR (dfuERROR or bStatus ≠ OK), DFU_BUSY_TIMEOUT, CANCELLED, USB_*.
   */
  async pollUntil(
    done: number | ((r: DfuStatusReport) => boolean),
    budgetMs: number,
    what: string,
    signal?: AbortSignal,
    ctx?: Record<string, unknown> | (() => Record<string, unknown>),
  ): Promise<DfuStatusReport> {
    let slept = 0;
    for (let polls = 0; ; polls++) {
      throwIfAborted(signal);
      const r = await this.getStatus();
      const answeredAt = this.options.now();
      if (r.state === DfuState.dfuERROR || r.status !== DfuStatus.OK) {
        throw dfuError('DFU_STATUS_ERROR', `${what}: device reports ${r.statusName} in ${r.stateName}`, {
          ...(typeof ctx === 'function' ? ctx() : ctx),
          status: r.status,
          statusName: r.statusName,
          state: r.state,
          stateName: r.stateName,
        });
      }
      if (typeof done === 'number' ? r.state === done : done(r)) return r;
      if (slept + r.pollTimeoutMs > budgetMs || polls > 100_000) {
        throw dfuError('DFU_BUSY_TIMEOUT', `${what}: still ${r.stateName} after ${slept} ms`, {
          ...(typeof ctx === 'function' ? ctx() : ctx),
          stateName: r.stateName,
          waitedMs: slept,
        });
      }
      // bwPollTimeout is the minimum time from this answer to the next GETSTATUS: time already spent
      // since the answer counts, so only the remainder is slept (none on a slow host).
      const rest = Math.ceil(r.pollTimeoutMs - (this.options.now() - answeredAt));
      if (rest > 0) await this.options.sleep(rest, signal);
      slept += Math.max(1, r.pollTimeoutMs);
    }
  }

  /**
   * Brings the interface to dfuIDLE the way dfu-util 0.11 does at session start (`src/main.c`):
   * dfuERROR → CLRSTATUS; DNLOAD-IDLE/UPLOAD-IDLE → ABORT; a stalled GETSTATUS → CLRSTATUS and
   * again. Bounded to a few rounds.
   * @throws BusError DFU_UNEXPECTED_STATE when the device stays elsewhere.
   */
  async ensureIdle(signal?: AbortSignal): Promise<void> {
    let last = 'unknown';
    for (let round = 0; round < 4; round++) {
      throwIfAborted(signal);
      let r: DfuStatusReport;
      try {
        r = await this.getStatus();
      } catch (e) {
        if (!isBusError(e, 'USB_STALL')) throw e;
        this.log?.warn('GETSTATUS stalled; clearing status');
        await this.clearStatus().catch((e2: unknown) =>
          this.log?.warn({ err: e2 }, 'CLRSTATUS after a stall failed too'),
        );
        continue;
      }
      last = r.stateName;
      if (r.state === DfuState.dfuIDLE && r.status === DfuStatus.OK) return;
      if (r.state === DfuState.dfuERROR || r.status !== DfuStatus.OK) {
        this.log?.warn({ statusName: r.statusName, stateName: r.stateName }, 'device in error; clearing status');
        await this.clearStatus();
      } else if (
        r.state === DfuState.dfuDNLOAD_IDLE ||
        r.state === DfuState.dfuUPLOAD_IDLE ||
        r.state === DfuState.dfuDNLOAD_SYNC
      ) {
        this.log?.info({ stateName: r.stateName }, 'aborting previous incomplete transfer');
        await this.abort();
      } else if (
        r.state === DfuState.dfuDNBUSY ||
        r.state === DfuState.dfuMANIFEST ||
        r.state === DfuState.dfuMANIFEST_SYNC
      ) {
        await this.options.sleep(Math.max(1, r.pollTimeoutMs), signal);
      } else {
        break;
      }
    }
    throw dfuError('DFU_UNEXPECTED_STATE', `device does not reach dfuIDLE (last ${last})`, { stateName: last });
  }

  /** Best-effort DFU_ABORT on cancel (style-anchors §12): errors are logged, never thrown. */
  async abortQuietly(reason: unknown): Promise<void> {
    try {
      await this.abort();
      this.log?.info('sent DFU_ABORT after cancel');
    } catch (e) {
      this.log?.warn(
        { err: e, reason: reason instanceof CancelledError ? 'cancel' : String(reason) },
        'DFU_ABORT after cancel failed',
      );
    }
  }

  /** Releases the interface (when the device is still there) and closes the handle. */
  async close(): Promise<void> {
    await this.device.releaseInterface(this.iface.interfaceNumber).catch((e: unknown) => {
      if (!(isBusError(e) && e.code.startsWith('USB_'))) throw e;
      this.log?.debug({ err: e }, 'release interface: device gone or handle closed');
    });
    await this.device.close();
  }
}
