import { hashHex, sameHash, type ImageSlotState } from '../../../drivers/serial/smp/image-management.js';
import {
  compareImageVersions,
  formatImageVersion,
  MCUBOOT_HEADER_SIZE,
  parseImageVersion,
  parseMcubootHeader,
} from '../../../drivers/serial/smp/mcuboot-header.js';
import { isCancelled } from '../../../drivers/shared/errors.js';
import { FileImageSource } from '../../../drivers/shared/image-source.js';
import type { Component } from '../../model/component.js';
import type { HandlerFactory, StepContext, StepFile } from '../../model/handler.js';
import type { Logger } from '../../model/logger.js';
import { Erc, ResultCode, result, type AducResult } from '../../model/result-codes.js';
import {
  resolveSmpHandlerConfig,
  resolveStepSettings,
  type SmpHandlerConfig,
  type SmpStepSettings,
} from './smp-config.js';
import { isReconnectable, SmpConnection, type OpenLink } from './smp-connection.js';
import { resultFromSmpError, SmpErc } from './smp-erc.js';
import { BusFlashHandler, type StepSettings } from '../bus-flash-handler.js';

export const SMP_HANDLER_ID = 'sensor-proxy/smp:1';

/**
 * `sensor-proxy/smp:1`: flashes an MCUboot image into a Zephyr/MCUmgr device over the SMP serial
 * transport (reference/bus-protocols.md §2.2), component-aware (the component says where the
 * device is: `properties.port`, `properties.baudRate`).
 *
 * The lifecycle and the shared checks are BusFlashHandler's; this class holds the SMP decisions.
 *
 * | action      | what it does                                                                     |
 * |-------------|----------------------------------------------------------------------------------|
 * | isInstalled | image state read; running image version vs `installedCriteria` → 900 / 901       |
 * | download    | checks the step has one firmware file → 500 (the engine downloads and verifies)   |
 * | install     | mcumgr params (request size) → upload (resumes at the device's offset) → mark test |
 * |             | → reset → wait for the device                                                    |
 * |             | → runs the new image? confirm → 600; came back on the old one → failure           |
 * | apply       | 700 (install already activated the image)                                        |
 * | cancel      | 800: `ctx.signal` stops the upload at a chunk boundary, the image stays unconfirmed |
 */
export class SmpHandler extends BusFlashHandler<SmpStepSettings> {
  readonly id = SMP_HANDLER_ID;
  protected readonly ercs = {
    noDevice: SmpErc.NoPort,
    invalidHandlerProperties: SmpErc.InvalidHandlerProperties,
    missingInstalledCriteria: SmpErc.MissingInstalledCriteria,
    wrongFileCount: SmpErc.WrongFileCount,
  };
  protected readonly installedCriteriaMeans = 'image version';

  constructor(
    private readonly cfg: SmpHandlerConfig,
    private readonly log: Logger,
    private readonly openLink?: OpenLink,
  ) {
    super();
  }

  protected resolveStep(component: Component | undefined, hp: Record<string, unknown>): StepSettings<SmpStepSettings> {
    return resolveStepSettings(this.cfg, component, hp);
  }

  protected async readInstalled(ctx: StepContext, step: SmpStepSettings, wanted: string): Promise<AducResult> {
    const conn = new SmpConnection(step, this.cfg, ctx.log, this.openLink);
    try {
      const states = await (await conn.client()).imageStateRead({ signal: ctx.signal });
      const active = activeImage(states, step.image);
      if (!active)
        return result(
          ResultCode.Failure,
          SmpErc.NoActiveImage,
          `device on ${step.port} lists no active image ${step.image ?? 0}`,
        );
      const same = versionsEqual(active.version, wanted);
      ctx.log.info({ running: active.version, wanted, installed: same }, 'smp is-installed');
      return same
        ? result(ResultCode.IsInstalledInstalled, 0, `running ${active.version}`)
        : result(ResultCode.IsInstalledNotInstalled, 0, `running ${active.version}, wanted ${wanted}`);
    } catch (e) {
      return resultFromSmpError(e, `is-installed on ${step.port}`);
    } finally {
      await conn.close();
    }
  }

  protected async readRunningVersion(ctx: StepContext, step: SmpStepSettings): Promise<string | undefined> {
    const conn = new SmpConnection(step, this.cfg, ctx.log, this.openLink);
    try {
      return activeImage(await (await conn.client()).imageStateRead({ signal: ctx.signal }), step.image)?.version;
    } finally {
      await conn.close();
    }
  }

  protected async flash(ctx: StepContext, step: SmpStepSettings, file: StepFile): Promise<AducResult> {
    const source = await FileImageSource.open(file.path);
    const conn = new SmpConnection(step, this.cfg, ctx.log, this.openLink);
    let phase = 'read image header';
    try {
      const newVersion = formatImageVersion(parseMcubootHeader(await source.readAt(0, MCUBOOT_HEADER_SIZE)).version);
      phase = 'read image state';
      ctx.onPhase('connect');
      const before = activeImage(await (await conn.client()).imageStateRead({ signal: ctx.signal }), step.image);
      const oldVersion = before?.version ?? 'unknown';
      ctx.log.info(
        { port: step.port, file: file.fileName, size: source.size, from: oldVersion, to: newVersion },
        'smp install',
      );

      phase = 'read the SMP buffer size (mcumgr params)';
      await conn.sizeRequests(ctx.signal);

      phase = 'upload';
      ctx.onPhase('transfer');
      await this.upload(ctx, conn, step, source);

      phase = 'mark for test';
      ctx.onPhase('test');
      const states = await (await conn.client()).imageStateRead({ signal: ctx.signal });
      const uploaded = states.find((s) => s.image === (step.image ?? 0) && s.slot === 1);
      if (!uploaded?.hash)
        return result(
          ResultCode.Failure,
          SmpErc.UploadedImageNotListed,
          `after the upload the device lists no image in slot 1 (image ${step.image ?? 0})`,
        );
      if (!versionsEqual(uploaded.version, newVersion)) {
        return result(
          ResultCode.Failure,
          SmpErc.UploadedImageNotListed,
          `after the upload slot 1 holds ${uploaded.version}, not the file's ${newVersion}`,
        );
      }
      await (await conn.client()).imageStateWrite({ hash: uploaded.hash, confirm: false }, { signal: ctx.signal });

      phase = 'reset';
      ctx.onPhase('reset');
      await (await conn.client()).reset({ signal: ctx.signal });
      await conn.close(); // many devices drop the port on reset; start from a fresh open
      phase = 'wait for the device after reset';
      const client = await conn.waitForDevice(step.resetTimeoutSeconds * 1000, ctx.signal);

      phase = 'verify the running image';
      ctx.onPhase('verify');
      const now = activeImage(await client.imageStateRead({ signal: ctx.signal }), step.image);
      if (!now || !sameHash(now.hash, uploaded.hash)) {
        const runs = now?.version ?? 'unknown';
        return result(
          ResultCode.Failure,
          SmpErc.DeviceReverted,
          `device reverted to ${runs} (new image ${newVersion}, hash ${hashHex(uploaded.hash).slice(0, 16)}…, did not stay active)`,
        );
      }
      if (!step.confirm)
        return result(
          ResultCode.InstallSuccess,
          0,
          `running ${now.version} for test (not confirmed: handlerProperties.confirm is false)`,
        );

      phase = 'confirm';
      ctx.onPhase('confirm');
      const after = activeImage(
        await client.imageStateWrite({ hash: uploaded.hash, confirm: true }, { signal: ctx.signal }),
        step.image,
      );
      if (!after?.confirmed)
        return result(
          ResultCode.Failure,
          SmpErc.ConfirmFailed,
          `device accepted the confirm but shows ${now.version} unconfirmed`,
        );
      return result(ResultCode.InstallSuccess, 0, `running ${now.version} (was ${oldVersion}), confirmed`);
    } catch (e) {
      if (isCancelled(e))
        return result(
          ResultCode.FailureCancelled,
          Erc.WorkflowCancelled,
          `cancelled during ${phase}; the new image is not confirmed, the device keeps running its confirmed image`,
        );
      return resultFromSmpError(e, `install (${phase}) on ${step.port}`);
    } finally {
      await conn.close();
      await source.close();
    }
  }

  /**
   * Uploads, and on a lost link or an unanswered request waits for the device and runs the
   * upload again: the device answers the first request with the offset it already holds.
   */
  private async upload(
    ctx: StepContext,
    conn: SmpConnection,
    step: SmpStepSettings,
    source: FileImageSource,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const client = await conn.client();
        const r = await client.imageUpload(source, {
          image: step.image,
          signal: ctx.signal,
          shrinkOnTimeout: conn.requestSizeIsGuess,
          requestsInFlight: conn.requestsInFlight,
          onMtuShrunk: (mtu) => conn.noteRequestLimit(mtu),
          onProgress: (p) => ctx.onProgress({ bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, phase: 'upload' }),
        });
        ctx.log.info(
          {
            attempt,
            resumedFrom: r.resumedFrom,
            bytesSent: r.bytesSent,
            requests: r.requests,
            mtu: r.mtu,
            requestsInFlight: r.requestsInFlight,
          },
          'upload finished',
        );
        return;
      } catch (e) {
        if (!isReconnectable(e) || attempt >= this.cfg.uploadAttempts) throw e;
        ctx.log.info({ err: e, attempt }, 'upload interrupted; waiting for the device to resume');
        await conn.close();
        await conn.waitForDevice(step.resetTimeoutSeconds * 1000, ctx.signal);
      }
    }
  }
}

/** The active slot of `image` (default image 0). */
function activeImage(states: ImageSlotState[], image: number | undefined): ImageSlotState | undefined {
  return states.find((s) => s.image === (image ?? 0) && s.active);
}

/** `1.2.3` equals `1.2.3.0` and `1.2.3+0`; non-version strings compare as text. */
function versionsEqual(running: string, wanted: string): boolean {
  const a = parseImageVersion(running);
  const b = parseImageVersion(wanted);
  return a && b ? compareImageVersions(a, b) === 0 : running.trim() === wanted.trim();
}

/** Factory for the registry: `handlers["sensor-proxy/smp:1"]` of the gateway config. */
export const createSmpHandler: HandlerFactory = (env) => new SmpHandler(resolveSmpHandlerConfig(env.config), env.log);
