import type { Component } from '../model/component.js';
import type { StepContext, StepFile, StepHandler } from '../model/handler.js';
import { ResultCode, result, type AducResult } from '../model/result-codes.js';
import { singleFirmwareFile } from './firmware-file.js';

/**
 * A step's settings, merged by the protocol's config module: its defaults, then the gateway config
 * section `handlers["<id>"]` (resolved once, when the handler is built), then the component's
 * `properties` (as the protocol's enumerator writes them), then the step's `handlerProperties`;
 * later layers win. `no-device`: no layer names the device to flash; `invalid`: a value has the
 * wrong type or range (`details` names it and its layer).
 */
export type StepSettings<S> = { ok: true; value: S } | { ok: false; kind: 'no-device' | 'invalid'; details: string };

/** The ERCs the shared lifecycle reports, from the protocol's own ERC table. */
export interface BusFlashErcs {
  /** No layer of the settings names the device (port, CAN address, USB target). */
  noDevice: number;
  /** A setting has the wrong type or range. */
  invalidHandlerProperties: number;
  /** IsInstalled without `handlerProperties.installedCriteria`. */
  missingInstalledCriteria: number;
  /** The step does not carry exactly one firmware file. */
  wrongFileCount: number;
}

/**
 * The skeleton of a component-aware bus flash handler (smp, ymodem, uds, dfu): one firmware file
 * per step, flashed into the component the step targets. It owns the ADU lifecycle the four share
 * (reference/adu-agent.md §2.1):
 *
 * | action      | here                                                                   | the protocol      |
 * |-------------|------------------------------------------------------------------------|-------------------|
 * | isInstalled | step settings, `installedCriteria` present                             | {@link readInstalled} |
 * | download    | exactly one firmware file → 500 (the engine downloads and verifies it)  | -                 |
 * | install     | step settings, exactly one firmware file                               | {@link flash}     |
 * | apply       | 700: install has already activated the new image                       | -                 |
 * | cancel      | 800: `ctx.signal` stops the transfer; the protocol's own stop runs there | -                 |
 * | readVersion | step settings                                                          | {@link readRunningVersion} |
 *
 * A new bus protocol extends this class and writes only its protocol's decisions: how a step's
 * settings are merged ({@link resolveStep}), how the running version is read, how an image is
 * flashed. docs/extending.md walks through one.
 */
export abstract class BusFlashHandler<S> implements StepHandler {
  abstract readonly id: string;
  readonly componentAware = true;

  /** The ERCs of the shared checks, from the protocol's table. */
  protected abstract readonly ercs: BusFlashErcs;
  /** What `installedCriteria` is to this protocol, for the message when it is missing ("firmware version"). */
  protected abstract readonly installedCriteriaMeans: string;

  /** The step's settings: the handler's config, then `component.properties`, then `handlerProperties`. */
  protected abstract resolveStep(
    component: Component | undefined,
    handlerProperties: Record<string, unknown>,
  ): StepSettings<S>;

  /** Reads what the device runs and compares it with `wanted` → 900 / 901 (or a failure). */
  protected abstract readInstalled(ctx: StepContext, step: S, wanted: string): Promise<AducResult>;

  /** Flashes `file` into the device and checks it runs the new image → 600 (or a failure). */
  protected abstract flash(ctx: StepContext, step: S, file: StepFile): Promise<AducResult>;

  /** The version the device runs, read as {@link readInstalled} reads it; undefined when it does not tell. */
  protected abstract readRunningVersion(ctx: StepContext, step: S): Promise<string | undefined>;

  /** StepHandler.readVersion: for display (quick flash prints it before and after), never a decision. */
  async readVersion(ctx: StepContext): Promise<string | undefined> {
    const step = this.settings(ctx);
    return step.ok ? this.readRunningVersion(ctx, step.value) : undefined;
  }

  async isInstalled(ctx: StepContext): Promise<AducResult> {
    const step = this.settings(ctx);
    if (!step.ok) return step.failure;
    if (ctx.installedCriteria === undefined)
      return result(
        ResultCode.Failure,
        this.ercs.missingInstalledCriteria,
        `handlerProperties.installedCriteria (the expected ${this.installedCriteriaMeans}) is missing`,
      );
    return this.readInstalled(ctx, step.value, ctx.installedCriteria);
  }

  download(ctx: StepContext): Promise<AducResult> {
    const image = singleFirmwareFile(ctx, this.id, this.ercs.wrongFileCount);
    return Promise.resolve(image.ok ? result(ResultCode.DownloadSuccess) : image.failure);
  }

  async install(ctx: StepContext): Promise<AducResult> {
    const step = this.settings(ctx);
    if (!step.ok) return step.failure;
    const image = singleFirmwareFile(ctx, this.id, this.ercs.wrongFileCount);
    if (!image.ok) return image.failure;
    return this.flash(ctx, step.value, image.file);
  }

  /** Install has already activated the new image (every bus protocol here resets the device in install). */
  apply(): Promise<AducResult> {
    return Promise.resolve(result(ResultCode.ApplySuccess));
  }

  /** The transfer stops through `ctx.signal` (the protocol sends its own abort there); nothing else to undo. */
  cancel(): Promise<AducResult> {
    return Promise.resolve(result(ResultCode.CancelSuccess));
  }

  private settings(ctx: StepContext): { ok: true; value: S } | { ok: false; failure: AducResult } {
    const r = this.resolveStep(ctx.component, ctx.handlerProperties);
    if (r.ok) return r;
    const erc = r.kind === 'no-device' ? this.ercs.noDevice : this.ercs.invalidHandlerProperties;
    return { ok: false, failure: result(ResultCode.Failure, erc, r.details) };
  }
}
