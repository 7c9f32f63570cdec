import type { Clock } from '../../../drivers/can/clock.js';
import type { CanBusOpener } from '../../../drivers/can/open-bus.js';
import { decodeVersion, flashUds } from '../../../drivers/can/uds/flash-session.js';
import type { SecurityKeyFunction } from '../../../drivers/can/uds/services/security-access.js';
import { FileImageSource } from '../../../drivers/shared/image-source.js';
import type { Component } from '../../model/component.js';
import type { HandlerEnvironment, StepContext, StepFile } from '../../model/handler.js';
import type { Logger } from '../../model/logger.js';
import { ResultCode, result, type AducResult } from '../../model/result-codes.js';
import { resolveUdsSettings, validateUdsHandlerConfig, type UdsSettings } from './uds-config.js';
import { UdsConnection } from './uds-connection.js';
import { resultFromUdsError, UdsErc } from './uds-erc.js';
import { BusFlashHandler, type StepSettings } from '../bus-flash-handler.js';

export const UDS_HANDLER_ID = 'sensor-proxy/uds:1';

/** Seams for embedding and tests: how buses are opened, extra key algorithms, the protocol clock. */
export interface UdsHandlerOptions {
  /** Default: `openCanBus` (`mem:<name>` → memory bus, else SocketCAN). */
  openBus?: CanBusOpener;
  /** Key algorithms by name, selectable with `keyAlgorithm` (besides the built-in `xor` and `none`). */
  keyFunctions?: Record<string, SecurityKeyFunction>;
  clock?: Clock;
}

/**
 * `sensor-proxy/uds:1`: flashes an ECU over CAN with UDS (ISO 14229-1) on ISO-TP (ISO 15765-2),
 * component-aware (the CAN enumerator puts `interface`, `txId`, `rxId` in the component's properties).
 *
 * The lifecycle and the shared checks are BusFlashHandler's; this class holds the UDS decisions.
 *
 * | action      | what it does                                                                          |
 * |-------------|---------------------------------------------------------------------------------------|
 * | isInstalled | ReadDataByIdentifier `versionDid` (0xF189) vs `installedCriteria` → 900 / 901          |
 * | download    | checks the step has one firmware file → 500                                           |
 * | install     | 10 02 → 27 → erase → 34 → 36… (streamed from the file) → 37 → CRC-32 check → 11 01 →  |
 * |             | TesterPresent until back → version == installedCriteria → 600                          |
 * | apply       | 700 (the ECU runs the new image after install's reset)                                 |
 * | cancel      | 800: `ctx.signal` stops at the next block; the ECU stays in its bootloader (no valid   |
 * |             | application until a new install), which a later install recovers                       |
 */
export class UdsHandler extends BusFlashHandler<UdsSettings> {
  readonly id = UDS_HANDLER_ID;
  protected readonly ercs = {
    noDevice: UdsErc.NoAddress,
    invalidHandlerProperties: UdsErc.InvalidHandlerProperties,
    missingInstalledCriteria: UdsErc.MissingProperty,
    wrongFileCount: UdsErc.WrongFileCount,
  };
  protected readonly installedCriteriaMeans = 'software version';

  constructor(
    private readonly config: Partial<UdsSettings>,
    private readonly log: Logger,
    private readonly opts: UdsHandlerOptions = {},
  ) {
    super();
  }

  protected resolveStep(component: Component | undefined, hp: Record<string, unknown>): StepSettings<UdsSettings> {
    return resolveUdsSettings(this.config, component, hp);
  }

  protected async readInstalled(ctx: StepContext, step: UdsSettings, wanted: string): Promise<AducResult> {
    let conn: UdsConnection | undefined;
    try {
      conn = await UdsConnection.open(step, ctx.log, this.opts.openBus, this.opts.clock);
      const version = decodeVersion(await conn.client.readDataByIdentifier(step.versionDid, { signal: ctx.signal }));
      const installed = version === wanted.trim();
      ctx.log.info({ running: version, wanted, installed }, 'uds is-installed');
      return installed
        ? result(ResultCode.IsInstalledInstalled, 0, `running ${version}`)
        : result(ResultCode.IsInstalledNotInstalled, 0, `running ${version}, wanted ${wanted}`);
    } catch (e) {
      return resultFromUdsError(e, `is-installed on ${step.interface} 0x${step.txId.toString(16)}`);
    } finally {
      await conn?.close();
    }
  }

  protected async readRunningVersion(ctx: StepContext, step: UdsSettings): Promise<string | undefined> {
    let conn: UdsConnection | undefined;
    try {
      conn = await UdsConnection.open(step, ctx.log, this.opts.openBus, this.opts.clock);
      return decodeVersion(await conn.client.readDataByIdentifier(step.versionDid, { signal: ctx.signal }));
    } finally {
      await conn?.close();
    }
  }

  protected async flash(ctx: StepContext, s: UdsSettings, file: StepFile): Promise<AducResult> {
    if (s.memoryAddress === undefined)
      return result(
        ResultCode.Failure,
        UdsErc.MissingProperty,
        'handlerProperties.memoryAddress (download start address) is missing',
      );
    const keyFunction = this.keyFunction(s);
    if (keyFunction === 'unknown')
      return result(
        ResultCode.Failure,
        UdsErc.SecurityKey,
        `unknown keyAlgorithm "${s.keyAlgorithm}" (known: xor, none${Object.keys(this.opts.keyFunctions ?? {})
          .map((k) => `, ${k}`)
          .join('')})`,
      );
    let source: FileImageSource | undefined;
    let conn: UdsConnection | undefined;
    const where = `${s.interface} 0x${s.txId.toString(16)}`;
    let phase = 'open';
    try {
      ctx.onPhase('connect');
      source = await FileImageSource.open(file.path);
      conn = await UdsConnection.open(s, ctx.log, this.opts.openBus, this.opts.clock);
      ctx.log.info(
        {
          iface: s.interface,
          txId: s.txId,
          rxId: s.rxId,
          file: file.fileName,
          size: source.size,
          expected: ctx.installedCriteria,
        },
        'uds install',
      );
      const r = await flashUds({
        client: conn.client,
        image: source,
        memory: {
          address: s.memoryAddress,
          addressLength: s.addressLength,
          sizeLength: s.sizeLength,
          dataFormat: s.dataFormat,
          eraseRoutineId: s.eraseRoutineId,
          eraseOptionRecord: s.eraseOptionRecord,
          checkRoutineId: s.checkRoutineId,
          ...(s.maxBlockData === undefined ? {} : { maxBlockData: s.maxBlockData }),
        },
        ...(keyFunction ? { security: { level: s.securityLevel, keyFunction } } : {}),
        resetType: s.resetType,
        resetTimeoutMs: s.resetTimeoutMs,
        versionDid: s.versionDid,
        ...(ctx.installedCriteria === undefined ? {} : { expectedVersion: ctx.installedCriteria.trim() }),
        attempts: s.flashAttempts,
        signal: ctx.signal,
        log: ctx.log,
        ...(this.opts.clock ? { clock: this.opts.clock } : {}),
        onProgress: (p) => {
          phase = p.phase;
          ctx.onProgress({ bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, phase: p.phase });
        },
      });
      ctx.log.info(
        { version: r.version, attempts: r.attempts, blocks: r.blocks, crc32: r.crc32 },
        'uds install finished',
      );
      return result(
        ResultCode.InstallSuccess,
        0,
        `running ${r.version} (${r.bytes} bytes in ${r.blocks} blocks, attempt ${r.attempts})`,
      );
    } catch (e) {
      return resultFromUdsError(e, `install (${phase}) on ${where}`);
    } finally {
      await conn?.close();
      await source?.close();
    }
  }

  private keyFunction(s: UdsSettings): SecurityKeyFunction | undefined | 'unknown' {
    if (s.securityLevel === 0 || s.keyAlgorithm === 'none') return undefined;
    const custom = this.opts.keyFunctions?.[s.keyAlgorithm];
    if (custom) return custom;
    if (s.keyAlgorithm !== 'xor') return 'unknown';
    const mask = Uint8Array.from(Buffer.from(s.keyMask.replace(/\s+/g, ''), 'hex'));
    if (mask.length === 0) return 'unknown';
    return (seed) => seed.map((b, i) => b ^ mask[i % mask.length]!);
  }
}

/** Factory for the registry: `handlers["sensor-proxy/uds:1"]` of the gateway config. */
export function createUdsHandler(env: HandlerEnvironment, opts: UdsHandlerOptions = {}): UdsHandler {
  return new UdsHandler(validateUdsHandlerConfig(env.config), env.log, opts);
}
