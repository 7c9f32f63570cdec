import { performLineAction } from '../../../drivers/serial/ymodem/line-action.js';
import { YmodemSender } from '../../../drivers/serial/ymodem/sender.js';
import { isBusError } from '../../../drivers/shared/errors.js';
import type { Component } from '../../model/component.js';
import type { HandlerFactory, StepContext, StepFile } from '../../model/handler.js';
import type { Logger } from '../../model/logger.js';
import { ResultCode, result, type AducResult } from '../../model/result-codes.js';
import {
  resolveYmodemHandlerConfig,
  resolveYmodemStepSettings,
  type YmodemSettings,
  type YmodemStepSettings,
} from './ymodem-config.js';
import { resultFromYmodemError, YmodemErc } from './ymodem-erc.js';
import { YmodemSession, type OpenLink } from './ymodem-session.js';
import { BusFlashHandler, type StepSettings } from '../bus-flash-handler.js';
import { openStepFile } from '../firmware-file.js';

export const YMODEM_HANDLER_ID = 'sensor-proxy/ymodem:1';

/**
 * `sensor-proxy/ymodem:1`: flashes a device whose bootloader takes firmware over YMODEM-1K
 * (reference/bus-protocols.md §2.3), component-aware (`component.properties.port`, `baudRate`).
 * Settings and their defaults: ymodem-config.ts.
 *
 * The lifecycle and the shared checks are BusFlashHandler's; this class holds the YMODEM decisions.
 *
 * | action      | what it does                                                                      |
 * |-------------|-----------------------------------------------------------------------------------|
 * | isInstalled | version query vs `installedCriteria` → 900 / 901 (no answer → 901: a device stuck  |
 * |             | in its bootloader needs the flash)                                                |
 * | download    | checks the step has one firmware file → 500 (the engine downloads and verifies)    |
 * | install     | bootloaderEntry → YMODEM batch → resetAfter → version query until `bootTimeoutMs`; |
 * |             | must equal `installedCriteria` when set → 600                                     |
 * | apply       | 700 (the bootloader starts the new firmware itself, or `resetAfter` did)           |
 * | cancel      | 800: `ctx.signal` stops the transfer at a block boundary and sends CAN×8 + BS×8    |
 */
export class YmodemHandler extends BusFlashHandler<YmodemStepSettings> {
  readonly id = YMODEM_HANDLER_ID;
  protected readonly ercs = {
    noDevice: YmodemErc.NoPort,
    invalidHandlerProperties: YmodemErc.InvalidHandlerProperties,
    missingInstalledCriteria: YmodemErc.MissingInstalledCriteria,
    wrongFileCount: YmodemErc.WrongFileCount,
  };
  protected readonly installedCriteriaMeans = 'firmware version';

  constructor(
    private readonly cfg: YmodemSettings,
    private readonly log: Logger,
    private readonly openLink?: OpenLink,
  ) {
    super();
  }

  protected resolveStep(
    component: Component | undefined,
    hp: Record<string, unknown>,
  ): StepSettings<YmodemStepSettings> {
    return resolveYmodemStepSettings(this.cfg, component, hp);
  }

  protected async readInstalled(ctx: StepContext, step: YmodemStepSettings, wanted: string): Promise<AducResult> {
    if (!step.versionQuery)
      return result(
        ResultCode.IsInstalledNotInstalled,
        0,
        'versionQuery is null: the version cannot be read, so the step is treated as not installed',
      );
    const session = new YmodemSession(step, ctx.log, this.openLink);
    try {
      const running = await session.version(ctx.signal);
      const same = sameVersion(running, wanted);
      ctx.log.info({ running, wanted, installed: same }, 'ymodem is-installed');
      return same
        ? result(ResultCode.IsInstalledInstalled, 0, `running ${running}`)
        : result(ResultCode.IsInstalledNotInstalled, 0, `running ${running}, wanted ${wanted}`);
    } catch (e) {
      if (isBusError(e, 'YMODEM_VERSION_NO_ANSWER')) {
        ctx.log.warn({ err: e }, 'no version answer; treating as not installed');
        return result(
          ResultCode.IsInstalledNotInstalled,
          0,
          `no answer to the version query on ${step.port} (device in its bootloader or off?)`,
        );
      }
      return resultFromYmodemError(e, `is-installed on ${step.port}`);
    } finally {
      await session.close();
    }
  }

  protected async readRunningVersion(ctx: StepContext, step: YmodemStepSettings): Promise<string | undefined> {
    if (!step.versionQuery) return undefined;
    const session = new YmodemSession(step, ctx.log, this.openLink);
    try {
      return await session.version(ctx.signal);
    } catch (e) {
      if (!isBusError(e, 'YMODEM_VERSION_NO_ANSWER')) throw e;
      ctx.log.debug({ err: e }, 'no version answer (device in its bootloader?)');
      return undefined;
    } finally {
      await session.close();
    }
  }

  protected async flash(ctx: StepContext, s: YmodemStepSettings, file: StepFile): Promise<AducResult> {
    const image = await openStepFile(file, YmodemErc.ImageReadFailed);
    if (!image.ok) return image.failure;
    const { source } = image;
    const session = new YmodemSession(s, ctx.log, this.openLink);
    let phase = 'open port';
    try {
      ctx.onPhase('connect');
      const link = await session.link();
      phase = 'enter bootloader';
      ctx.onPhase('bootloader');
      link.discardInput();
      await performLineAction(link, s.bootloaderEntry, ctx.signal);
      phase = 'transfer';
      ctx.onPhase('transfer');
      ctx.log.info(
        { port: s.port, file: file.fileName, size: source.size, entry: s.bootloaderEntry.type },
        'ymodem install',
      );
      const sent = await new YmodemSender(link, {
        blockSize: s.blockSize,
        timeouts: { startMs: s.startTimeoutMs, ackMs: s.ackTimeoutMs, endOfBatchMs: s.endOfBatchTimeoutMs },
        attempts: { maxRetries: s.maxRetries },
        log: ctx.log,
      }).send(source, {
        fileName: blockZeroName(file.fileName),
        signal: ctx.signal,
        onProgress: (p) => ctx.onProgress({ bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, phase: 'transfer' }),
      });
      ctx.log.info(
        { bytes: sent.bytesSent, blocks: sent.blocks, retries: sent.retries, warnings: sent.warnings },
        'ymodem transfer done',
      );
      phase = 'reset';
      ctx.onPhase('reset');
      await performLineAction(link, s.resetAfter, ctx.signal);
      if (!s.versionQuery)
        return result(
          ResultCode.InstallSuccess,
          0,
          `sent ${sent.bytesSent} bytes; versionQuery is null, so the new version was not checked`,
        );
      phase = 'version after install';
      ctx.onPhase('verify');
      const running = await session.waitForVersion(s.bootTimeoutMs, ctx.signal);
      const wanted = ctx.installedCriteria;
      if (wanted !== undefined && !sameVersion(running, wanted)) {
        return result(
          ResultCode.Failure,
          YmodemErc.VersionMismatch,
          `after the transfer the device runs ${running}, wanted ${wanted} (image rejected by the bootloader, or wrong file?)`,
        );
      }
      return result(
        ResultCode.InstallSuccess,
        0,
        `running ${running} (${sent.bytesSent} bytes, ${sent.retries} resends)`,
      );
    } catch (e) {
      if (phase === 'transfer' || phase === 'reset')
        ctx.log.warn({ err: e, phase }, 'ymodem install failed; the device may be left in its bootloader');
      return resultFromYmodemError(e, `install (${phase}) on ${s.port}`);
    } finally {
      await session.close();
      await source.close();
    }
  }
}

/** `v1.2.3` equals `1.2.3`; otherwise trimmed text equality. */
export function sameVersion(a: string, b: string): boolean {
  const norm = (v: string) => v.trim().replace(/^[vV](?=\d)/, '');
  return norm(a) === norm(b);
}

/** Block 0 carries no spaces (ymodem.txt §5): they become '_'. */
function blockZeroName(fileName: string): string {
  return fileName.replace(/[\s\0]/g, '_') || 'firmware.bin';
}

/** Factory for the registry: `handlers["sensor-proxy/ymodem:1"]` of the gateway config. */
export const createYmodemHandler: HandlerFactory = (env) =>
  new YmodemHandler(resolveYmodemHandlerConfig(env.config), env.log);
