import type { StepContext, StepHandler } from '../../src/model/handler.js';
import { ResultCode, result, type AducResult } from '../../src/model/result-codes.js';

export interface RecordedCall {
  action: string;
  step: string;
  componentId: string | undefined;
  installedCriteria: string | undefined;
}

/**
 * A handler for engine tests: records every action, keeps an "installed" set keyed by
 * `installedCriteria@component`, and lets a test script failures or a slow install.
 */
export class RecordingHandler implements StepHandler {
  readonly componentAware = true;
  readonly calls: RecordedCall[] = [];
  readonly installed = new Set<string>();
  /** Returns a result to force for an action, or undefined for the default behaviour. */
  override: (action: string, ctx: StepContext) => AducResult | undefined = () => undefined;
  /** Called inside install before it records success (e.g. to wait for an abort). */
  duringInstall: (ctx: StepContext) => Promise<void> = async () => {};
  /** Called inside isInstalled before it answers (e.g. to see which reads overlap). */
  duringIsInstalled: (ctx: StepContext) => Promise<void> = async () => {};

  constructor(readonly id = 'test/recording:1') {}

  private key(ctx: StepContext): string {
    return `${ctx.installedCriteria ?? ctx.step}@${ctx.component?.id ?? 'host'}`;
  }

  private record(action: string, ctx: StepContext): AducResult | undefined {
    this.calls.push({
      action,
      step: ctx.step,
      componentId: ctx.component?.id,
      installedCriteria: ctx.installedCriteria,
    });
    return this.override(action, ctx);
  }

  async isInstalled(ctx: StepContext): Promise<AducResult> {
    const forced = this.record('isInstalled', ctx);
    await this.duringIsInstalled(ctx);
    return (
      forced ??
      result(this.installed.has(this.key(ctx)) ? ResultCode.IsInstalledInstalled : ResultCode.IsInstalledNotInstalled)
    );
  }
  async download(ctx: StepContext): Promise<AducResult> {
    return this.record('download', ctx) ?? result(ResultCode.DownloadSuccess);
  }
  async install(ctx: StepContext): Promise<AducResult> {
    const forced = this.record('install', ctx);
    if (forced) return forced;
    ctx.onProgress({ bytesDone: 0, bytesTotal: 100 });
    await this.duringInstall(ctx);
    ctx.onProgress({ bytesDone: 100, bytesTotal: 100 });
    this.installed.add(this.key(ctx));
    return result(ResultCode.InstallSuccess);
  }
  async apply(ctx: StepContext): Promise<AducResult> {
    return this.record('apply', ctx) ?? result(ResultCode.ApplySuccess);
  }
  async cancel(ctx: StepContext): Promise<AducResult> {
    return this.record('cancel', ctx) ?? result(ResultCode.CancelSuccess);
  }
  async restore(ctx: StepContext): Promise<AducResult> {
    return this.record('restore', ctx) ?? result(ResultCode.RestoreSuccess);
  }
}
