import type { StepContext, StepHandler } from '../../model/handler.js';
import { errorMessage } from '../../model/errors.js';
import { ResultCode, isSuccess, result, type AducResult } from '../../model/result-codes.js';

/** The versions a quick flash saw on one component: before the flash and after it. */
export interface VersionRecord {
  before?: string;
  after?: string;
  /** Why a read gave nothing (the device did not answer, it sits in its bootloader). */
  beforeNote?: string;
  afterNote?: string;
}

/**
 * Wraps a flash handler for quick flash: every action is the handler's own (the same IsInstalled,
 * install, verify, test and confirm as a manifest step); around them it reads the running version
 * through the handler's `readVersion` before the flash and after a successful install, so the CLI
 * can print "1.2.3 -> 1.4.2". With `alwaysInstall` (no version to compare, or --force) IsInstalled
 * answers "not installed" without asking the device, as `dfu-util -D` or `sb` always write.
 */
export class VersionRecordingHandler implements StepHandler {
  readonly id: string;
  readonly componentAware: boolean;
  /** By component id. */
  readonly versions = new Map<string, VersionRecord>();

  constructor(
    private readonly inner: StepHandler,
    private readonly opts: { alwaysInstall: boolean },
  ) {
    this.id = inner.id;
    this.componentAware = inner.componentAware;
  }

  /**
   * Reads and records the version the component runs before anything else is sent to it (quick
   * flash's first look at a target, before the plan runs); IsInstalled then does not ask again.
   * Returns the read's error, for the caller to judge (silence on CAN: nobody at those ids).
   */
  async readBefore(ctx: StepContext): Promise<{ error?: unknown }> {
    const v = await this.read(ctx);
    const rec = this.record(ctx);
    if (v.version !== undefined) rec.before = v.version;
    else rec.beforeNote = v.note;
    return v.error === undefined ? {} : { error: v.error };
  }

  async isInstalled(ctx: StepContext): Promise<AducResult> {
    const rec = this.record(ctx);
    if (rec.before === undefined && rec.beforeNote === undefined) {
      const v = await this.read(ctx);
      if (v.version !== undefined) rec.before = v.version;
      else rec.beforeNote = v.note;
    }
    if (this.opts.alwaysInstall)
      return result(
        ResultCode.IsInstalledNotInstalled,
        0,
        `running ${rec.before ?? 'unknown'}; quick flash writes the image whatever runs (no --version, or --force)`,
      );
    const r = await this.inner.isInstalled(ctx);
    // Skipped as installed: it runs now what it ran before.
    if (r.resultCode === ResultCode.IsInstalledInstalled && rec.before !== undefined) rec.after ??= rec.before;
    return r;
  }

  download(ctx: StepContext): Promise<AducResult> {
    return this.inner.download(ctx);
  }

  async install(ctx: StepContext): Promise<AducResult> {
    const r = await this.inner.install(ctx);
    if (isSuccess(r) && !ctx.signal.aborted) {
      const rec = this.record(ctx);
      const v = await this.read(ctx);
      if (v.version !== undefined) rec.after = v.version;
      else rec.afterNote = v.note;
    }
    return r;
  }

  apply(ctx: StepContext): Promise<AducResult> {
    return this.inner.apply(ctx);
  }

  cancel(ctx: StepContext): Promise<AducResult> {
    return this.inner.cancel(ctx);
  }

  async backup(ctx: StepContext): Promise<AducResult> {
    return this.inner.backup ? this.inner.backup(ctx) : result(ResultCode.BackupSuccessUnsupported);
  }

  async restore(ctx: StepContext): Promise<AducResult> {
    return this.inner.restore ? this.inner.restore(ctx) : result(ResultCode.RestoreSuccessUnsupported);
  }

  private record(ctx: StepContext): VersionRecord {
    const key = ctx.component?.id ?? 'host';
    let rec = this.versions.get(key);
    if (!rec) this.versions.set(key, (rec = {}));
    return rec;
  }

  /** A failed read is not a failed flash: IsInstalled and install report the device's errors themselves. */
  private async read(ctx: StepContext): Promise<{ version?: string; note?: string; error?: unknown }> {
    if (!this.inner.readVersion) return { note: `${this.inner.id} cannot read versions` };
    try {
      const version = await this.inner.readVersion(ctx);
      return version === undefined ? { note: 'the device reports no version' } : { version };
    } catch (e) {
      ctx.log.debug({ err: e }, 'version read failed');
      return { note: errorMessage(e), error: e };
    }
  }
}
