import { FileImageSource } from '../../../../drivers/shared/image-source.js';
import { isBusError, isCancelled } from '../../../../drivers/shared/errors.js';
import { BusFlashHandler, type StepSettings } from '../../../../src/handlers/bus-flash-handler.js';
import type { Component } from '../../../../src/model/component.js';
import { errorMessage } from '../../../../src/model/errors.js';
import type { HandlerFactory, StepContext, StepFile } from '../../../../src/model/handler.js';
import { ercTable } from '../../../../src/handlers/handler-erc.js';
import { Erc, ResultCode, result, type AducResult } from '../../../../src/model/result-codes.js';
import { ToyClient, type ToyBus } from '../drivers/toy-bus.js';

export const TOY_HANDLER_ID = 'example/toy:1';

/**
 * The toy handler's extended result codes: facility 3 (content handler), component 32 (EXTERNAL),
 * in a value block no built-in handler uses (0xF00-0xFFF; the built-ins are listed in
 * docs/result-codes.md). A real handler documents each one there.
 */
export const ToyErc = ercTable({
  Unexpected: 0xf00,
  NoAddress: 0xf01,
  InvalidHandlerProperties: 0xf02,
  MissingInstalledCriteria: 0xf03,
  WrongFileCount: 0xf04,
  ImageReadFailed: 0xf05,
  NoDevice: 0xf06,
  Refused: 0xf07,
  HashMismatch: 0xf08,
  WrongVersionAfterFlash: 0xf09,
});

const BY_CODE: Record<string, number> = {
  TOY_NO_DEVICE: ToyErc.NoDevice,
  TOY_NAK: ToyErc.Refused,
  TOY_HASH_MISMATCH: ToyErc.HashMismatch,
};

/** The one place driver errors become ADU results (a cancel is -1 with the engine's cancel ERC). */
function resultFromToyError(e: unknown, what: string): AducResult {
  if (isCancelled(e)) return result(ResultCode.FailureCancelled, Erc.WorkflowCancelled, `${what}: cancelled`);
  if (isBusError(e)) return result(ResultCode.Failure, BY_CODE[e.code] ?? ToyErc.Unexpected, `${what}: ${e.message}`);
  return result(ResultCode.Failure, ToyErc.Unexpected, `${what}: ${errorMessage(e)}`);
}

/** A step's settings: `address` (from the toy enumerator's component properties) and `chunkSize`. */
export interface ToySettings {
  address: number;
  chunkSize: number;
}

const DEFAULTS = { chunkSize: 64 };

/**
 * Merges defaults → gateway config `handlers["example/toy:1"]` → `component.properties` →
 * `handlerProperties` (later wins), the order every bus handler follows.
 */
export function resolveToySettings(
  config: Record<string, unknown>,
  component: Component | undefined,
  handlerProperties: Record<string, unknown>,
): StepSettings<ToySettings> {
  const layers: [string, Record<string, unknown>][] = [
    ['handlers["example/toy:1"]', config],
    ['component.properties', component?.properties ?? {}],
    ['handlerProperties', handlerProperties],
  ];
  const merged: Partial<ToySettings> = { ...DEFAULTS };
  for (const [where, raw] of layers) {
    for (const key of ['address', 'chunkSize'] as const) {
      const v = raw[key];
      if (v === undefined) continue;
      const min = key === 'chunkSize' ? 1 : 0;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
        return { ok: false, kind: 'invalid', details: `${where}.${key} must be an integer >= ${min}` };
      merged[key] = v;
    }
  }
  if (merged.address === undefined)
    return {
      ok: false,
      kind: 'no-device',
      details: 'the component (properties.address) or handlerProperties must name the toy address',
    };
  return { ok: true, value: merged as ToySettings };
}

/**
 * `example/toy:1`: flashes a TOY/1 device. The lifecycle (settings, installedCriteria, one file,
 * apply, cancel) is BusFlashHandler's; this class holds only the protocol's decisions.
 */
export class ToyHandler extends BusFlashHandler<ToySettings> {
  readonly id = TOY_HANDLER_ID;
  protected readonly ercs = {
    noDevice: ToyErc.NoAddress,
    invalidHandlerProperties: ToyErc.InvalidHandlerProperties,
    missingInstalledCriteria: ToyErc.MissingInstalledCriteria,
    wrongFileCount: ToyErc.WrongFileCount,
  };
  protected readonly installedCriteriaMeans = 'firmware version';

  constructor(
    private readonly bus: ToyBus,
    private readonly config: Record<string, unknown>,
  ) {
    super();
  }

  protected resolveStep(component: Component | undefined, hp: Record<string, unknown>): StepSettings<ToySettings> {
    return resolveToySettings(this.config, component, hp);
  }

  protected async readInstalled(ctx: StepContext, step: ToySettings, wanted: string): Promise<AducResult> {
    try {
      const { version } = await new ToyClient(this.bus, step.address).identify(ctx.signal);
      return version === wanted
        ? result(ResultCode.IsInstalledInstalled, 0, `running ${version}`)
        : result(ResultCode.IsInstalledNotInstalled, 0, `running ${version}, wanted ${wanted}`);
    } catch (e) {
      return resultFromToyError(e, `is-installed on toy ${step.address}`);
    }
  }

  /** What the device runs, for quick flash's "before → after" (IDENTIFY). */
  protected async readRunningVersion(ctx: StepContext, step: ToySettings): Promise<string | undefined> {
    return (await new ToyClient(this.bus, step.address).identify(ctx.signal)).version;
  }

  protected async flash(ctx: StepContext, step: ToySettings, file: StepFile): Promise<AducResult> {
    let source: FileImageSource;
    try {
      source = await FileImageSource.open(file.path);
    } catch (e) {
      return result(ResultCode.Failure, ToyErc.ImageReadFailed, `cannot open ${file.path}: ${errorMessage(e)}`);
    }
    const client = new ToyClient(this.bus, step.address, step.chunkSize);
    try {
      ctx.onPhase('transfer');
      await client.flash(
        source,
        (bytesDone) => ctx.onProgress({ bytesDone, bytesTotal: source.size, phase: 'transfer' }),
        ctx.signal,
      );
      ctx.onPhase('verify');
      const { version } = await client.identify(ctx.signal);
      if (ctx.installedCriteria !== undefined && version !== ctx.installedCriteria)
        return result(
          ResultCode.Failure,
          ToyErc.WrongVersionAfterFlash,
          `toy ${step.address} runs ${version} after the flash, the step expects ${ctx.installedCriteria}`,
        );
      return result(ResultCode.InstallSuccess, 0, `toy ${step.address} runs ${version}`);
    } catch (e) {
      return resultFromToyError(e, `install on toy ${step.address}`);
    } finally {
      await source.close();
    }
  }
}

/** The factory the handler registry takes (`registry.register(TOY_HANDLER_ID, toyHandlerFactory(bus))`). */
export function toyHandlerFactory(bus: ToyBus): HandlerFactory {
  return (env) => new ToyHandler(bus, env.config);
}
