import { flashDfu } from '../../../drivers/usb/dfu/dfu-flasher.js';
import { DfuHost } from '../../../drivers/usb/dfu/dfu-host.js';
import { matchesDevice } from '../../../drivers/usb/find-device.js';
import { openUsbBackend } from '../../../drivers/usb/open-backend.js';
import type { UsbBackend } from '../../../drivers/usb/usb-device.js';
import type { HandlerFactory, StepContext, StepHandler } from '../../model/handler.js';
import type { Logger } from '../../model/logger.js';
import { ResultCode, result, type AducResult } from '../../model/result-codes.js';
import { resolveDfuHandlerConfig, resolveDfuStepSettings, type DfuSettings, type DfuTarget } from './dfu-config.js';
import { DfuErc, resultFromDfuError } from './dfu-erc.js';
import { formatBcd, readDfuVersion, sameDfuVersion } from './dfu-version.js';
import { openFirmwareImage, singleFirmwareFile } from '../firmware-file.js';

export const DFU_HANDLER_ID = 'sensor-proxy/dfu:1';

/** Picks the USB backend for a step (tests inject one; config `backend`/`memoryBus` otherwise). */
export type UsbBackendProvider = (s: DfuSettings) => UsbBackend;

/**
 * `sensor-proxy/dfu:1`: flashes a USB DFU 1.1 / DfuSe device (reference/bus-protocols.md §3),
 * component-aware (`component.properties.serialNumber`, `vid`, `pid`, `portPath` from the `usb`
 * enumerator). Settings and defaults: dfu-config.ts; result codes: dfu-erc.ts.
 *
 * | action      | what it does                                                                       |
 * |-------------|------------------------------------------------------------------------------------|
 * | isInstalled | version (`versionSource`: bcdDevice or a string) vs `installedCriteria` → 900/901;  |
 * |             | a device found only in DFU mode → 901 (stuck in its bootloader needs the flash)     |
 * | download    | checks the step has one firmware file → 500                                         |
 * | install     | detach → DNLOAD (DfuSe: erase + write at `dfuseAddress`) → UPLOAD verify (auto) →   |
 * |             | manifestation → USB reset → re-enumeration → version must equal installedCriteria  |
 * | apply       | 700 (the device runs the new firmware after the reset)                              |
 * | cancel      | 800: `ctx.signal` stops between blocks and sends DFU_ABORT                          |
 */
export class DfuHandler implements StepHandler {
  readonly id = DFU_HANDLER_ID;
  readonly componentAware = true;

  constructor(
    private readonly cfg: DfuSettings,
    private readonly log: Logger,
    private readonly backendFor: UsbBackendProvider = (s) => openUsbBackend(s.backend, s.memoryBus),
  ) {}

  async isInstalled(ctx: StepContext): Promise<AducResult> {
    const step = this.settings(ctx);
    if (!step.ok) return step.failure;
    const wanted = ctx.installedCriteria;
    if (wanted === undefined)
      return result(
        ResultCode.Failure,
        DfuErc.MissingInstalledCriteria,
        'handlerProperties.installedCriteria (the expected firmware version) is missing',
      );
    const s = step.value;
    try {
      const backend = this.backendFor(s);
      const device = (await backend.list()).find((d) => matchesDevice(d, targetMatch(step.target)));
      if (!device)
        return result(ResultCode.Failure, DfuErc.DeviceNotFound, `no USB device matching ${describe(step.target)}`);
      const probe = await DfuHost.probe(device, s.controlTimeoutMs).finally(() => device.close());
      if (probe.mode === 'dfu')
        return result(
          ResultCode.IsInstalledNotInstalled,
          0,
          `device ${describe(step.target)} is in DFU mode (bootloader): not installed`,
        );
      const running = await readDfuVersion(device, device.info, s);
      ctx.log.info({ running, wanted, source: s.versionSource }, 'dfu is-installed');
      if (running === undefined)
        return result(
          ResultCode.IsInstalledNotInstalled,
          0,
          `no version in ${s.versionSource} (pattern ${s.versionPattern ?? 'none'})`,
        );
      return sameDfuVersion(running, wanted)
        ? result(ResultCode.IsInstalledInstalled, 0, `running ${running}`)
        : result(ResultCode.IsInstalledNotInstalled, 0, `running ${running}, wanted ${wanted}`);
    } catch (e) {
      return resultFromDfuError(e, `is-installed on ${describe(step.target)}`);
    }
  }

  /** The run-time firmware's version; undefined in DFU mode (the bootloader has none) or when absent. */
  async readVersion(ctx: StepContext): Promise<string | undefined> {
    const step = this.settings(ctx);
    if (!step.ok) return undefined;
    const s = step.value;
    const device = (await this.backendFor(s).list()).find((d) => matchesDevice(d, targetMatch(step.target)));
    if (!device) return undefined;
    const probe = await DfuHost.probe(device, s.controlTimeoutMs).finally(() => device.close());
    return probe.mode === 'dfu' ? undefined : readDfuVersion(device, device.info, s);
  }

  async download(ctx: StepContext): Promise<AducResult> {
    const image = singleFirmwareFile(ctx, DFU_HANDLER_ID, DfuErc.WrongFileCount);
    return image.ok ? result(ResultCode.DownloadSuccess) : image.failure;
  }

  async install(ctx: StepContext): Promise<AducResult> {
    const step = this.settings(ctx);
    if (!step.ok) return step.failure;
    const image = await openFirmwareImage(ctx, DFU_HANDLER_ID, {
      wrongFileCount: DfuErc.WrongFileCount,
      imageReadFailed: DfuErc.ImageReadFailed,
    });
    if (!image.ok) return image.failure;
    const { file, source } = image;
    const s = step.value;
    let phase = 'find';
    try {
      const backend = this.backendFor(s);
      ctx.log.info({ target: step.target, file: file.fileName, size: source.size, backend: s.backend }, 'dfu install');
      const r = await flashDfu(
        backend,
        {
          target: targetMatch(step.target),
          image: source,
          alt: s.alt,
          dfuseAddress: s.dfuseAddress,
          verify: s.verify,
          requireSuffix: s.requireSuffix,
          signal: ctx.signal,
          onPhase: (p) => {
            phase = p;
            ctx.onPhase(p === 'download' ? 'transfer' : p === 'find' ? 'connect' : p);
          },
          onProgress: (p) => ctx.onProgress({ bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, phase: p.phase }),
        },
        {
          transferSize: s.transferSize,
          timeouts: {
            controlMs: s.controlTimeoutMs,
            busyMs: s.busyTimeoutMs,
            manifestMs: s.manifestTimeoutMs,
            reenumerateMs: s.reenumerateTimeoutMs,
          },
          attempts: { restarts: s.restarts },
          log: ctx.log,
        },
      );
      phase = 'version after install';
      ctx.onPhase('confirm');
      const after = r.after!;
      const app = (await backend.list()).find((d) =>
        matchesDevice(d, { serialNumber: after.serialNumber, portPath: after.portPath }),
      );
      const running = app ? await readDfuVersion(app, after, s) : formatBcd(after.bcdDevice);
      const wanted = ctx.installedCriteria;
      const how = `${r.bytes} bytes${r.dfuse ? ' (DfuSe)' : ''}, ${r.restarts} restarts, ${r.verified ? 'verified by UPLOAD' : 'not read back'}`;
      if (wanted !== undefined && (running === undefined || !sameDfuVersion(running, wanted))) {
        return result(
          ResultCode.Failure,
          DfuErc.VersionMismatch,
          `after the flash the device runs ${running ?? '(no version)'}, wanted ${wanted} (${how})`,
        );
      }
      return result(ResultCode.InstallSuccess, 0, `running ${running ?? '?'} (${how})`);
    } catch (e) {
      ctx.log.warn({ err: e, phase }, 'dfu install failed');
      return resultFromDfuError(e, `install (${phase}) on ${describe(step.target)}`);
    } finally {
      await source.close();
    }
  }

  async apply(): Promise<AducResult> {
    return result(ResultCode.ApplySuccess);
  }

  /** The transfer stops through `ctx.signal` (DFU_ABORT is sent); nothing else to undo. */
  async cancel(): Promise<AducResult> {
    return result(ResultCode.CancelSuccess);
  }

  private settings(
    ctx: StepContext,
  ): { ok: true; value: DfuSettings; target: DfuTarget } | { ok: false; failure: AducResult } {
    const r = resolveDfuStepSettings(this.cfg, ctx.component, ctx.handlerProperties);
    if (r.ok) return r;
    return {
      ok: false,
      failure: result(
        ResultCode.Failure,
        r.kind === 'no-target' ? DfuErc.NoTarget : DfuErc.InvalidHandlerProperties,
        r.details,
      ),
    };
  }
}

/** Serial number identifies the device in both modes; VID/PID only when there is no serial (the PID changes in DFU mode). */
function targetMatch(t: DfuTarget) {
  return t.serialNumber
    ? { serialNumber: t.serialNumber }
    : t.portPath
      ? { portPath: t.portPath }
      : { vendorId: t.vendorId, productId: t.productId };
}

function describe(t: DfuTarget): string {
  const hex = (v: number | undefined) => (v === undefined ? '*' : v.toString(16).padStart(4, '0'));
  return `${hex(t.vendorId)}:${hex(t.productId)}${t.serialNumber ? ` serial ${t.serialNumber}` : ''}${t.portPath ? ` at ${t.portPath}` : ''}`;
}

/** Factory for the registry: `handlers["sensor-proxy/dfu:1"]` of the gateway config. */
export const createDfuHandler: HandlerFactory = (env) => new DfuHandler(resolveDfuHandlerConfig(env.config), env.log);
