import { flashDfu } from '../../../drivers/usb/dfu/dfu-flasher.js';
import { DfuHost } from '../../../drivers/usb/dfu/dfu-host.js';
import { matchesDevice } from '../../../drivers/usb/find-device.js';
import { openUsbBackend } from '../../../drivers/usb/open-backend.js';
import type { UsbBackend } from '../../../drivers/usb/usb-device.js';
import type { Component } from '../../model/component.js';
import type { HandlerFactory, StepContext, StepFile } from '../../model/handler.js';
import type { Logger } from '../../model/logger.js';
import { ResultCode, result, type AducResult } from '../../model/result-codes.js';
import { resolveDfuHandlerConfig, resolveDfuStepSettings, type DfuSettings, type DfuTarget } from './dfu-config.js';
import { DfuErc, resultFromDfuError } from './dfu-erc.js';
import { formatBcd, readDfuVersion, sameDfuVersion } from './dfu-version.js';
import { BusFlashHandler, type StepSettings } from '../bus-flash-handler.js';
import { openStepFile } from '../firmware-file.js';

export const DFU_HANDLER_ID = 'sensor-proxy/dfu:1';

/** Picks the USB backend for a step (tests inject one; config `backend`/`memoryBus` otherwise). */
export type UsbBackendProvider = (s: DfuSettings) => UsbBackend;

/** A step's settings and the USB device it targets (from the component's properties). */
export interface DfuStep {
  settings: DfuSettings;
  target: DfuTarget;
}

/**
 * `sensor-proxy/dfu:1`: flashes a USB DFU 1.1 / DfuSe device (reference/bus-protocols.md §3),
 * component-aware (`component.properties.serialNumber`, `vid`, `pid`, `portPath` from the `usb`
 * enumerator). Settings and defaults: dfu-config.ts; result codes: dfu-erc.ts.
 *
 * The lifecycle and the shared checks are BusFlashHandler's; this class holds the DFU decisions.
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
export class DfuHandler extends BusFlashHandler<DfuStep> {
  readonly id = DFU_HANDLER_ID;
  protected readonly ercs = {
    noDevice: DfuErc.NoTarget,
    invalidHandlerProperties: DfuErc.InvalidHandlerProperties,
    missingInstalledCriteria: DfuErc.MissingInstalledCriteria,
    wrongFileCount: DfuErc.WrongFileCount,
  };
  protected readonly installedCriteriaMeans = 'firmware version';

  constructor(
    private readonly cfg: DfuSettings,
    private readonly log: Logger,
    private readonly backendFor: UsbBackendProvider = (s) => openUsbBackend(s.backend, s.memoryBus, log),
  ) {
    super();
  }

  protected resolveStep(component: Component | undefined, hp: Record<string, unknown>): StepSettings<DfuStep> {
    const r = resolveDfuStepSettings(this.cfg, component, hp);
    if (r.ok) return { ok: true, value: { settings: r.value, target: r.target } };
    return r;
  }

  protected async readInstalled(ctx: StepContext, step: DfuStep, wanted: string): Promise<AducResult> {
    const s = step.settings;
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
  protected async readRunningVersion(ctx: StepContext, step: DfuStep): Promise<string | undefined> {
    const s = step.settings;
    const device = (await this.backendFor(s).list()).find((d) => matchesDevice(d, targetMatch(step.target)));
    if (!device) return undefined;
    const probe = await DfuHost.probe(device, s.controlTimeoutMs).finally(() => device.close());
    return probe.mode === 'dfu' ? undefined : readDfuVersion(device, device.info, s);
  }

  protected async flash(ctx: StepContext, step: DfuStep, file: StepFile): Promise<AducResult> {
    const image = await openStepFile(file, DfuErc.ImageReadFailed);
    if (!image.ok) return image.failure;
    const { source } = image;
    const s = step.settings;
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
