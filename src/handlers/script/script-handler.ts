import { chmod, copyFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { HandlerFactory, StepContext, StepFile, StepHandler } from '../../model/handler.js';
import type { Logger } from '../../model/logger.js';
import { ResultCode, result } from '../../model/result-codes.js';
import type { AducResult } from '../../model/result-codes.js';
import { buildScriptArgv, resultFilePath } from './argv.js';
import type { ScriptAction } from './argv.js';
import { readStepProperties, resolveScriptHandlerConfig } from './config.js';
import type { ScriptHandlerConfig, ScriptStepProperties } from './config.js';
import { runScript } from './run-script.js';
import type { Timers } from './run-script.js';
import { ScriptErc } from './script-erc.js';
import { capDetails, resultFromOutcome } from './script-result.js';
import { childLog } from '../../../drivers/shared/child-log.js';

/**
 * The `microsoft/script:1` step handler, run as the ADU agent runs scripts
 * (`reference/adu-agent.md` §3; ADU `script_handler.cpp`):
 *
 * | action      | what it does                                                                  |
 * |-------------|-------------------------------------------------------------------------------|
 * | isInstalled | `--action-is-installed`; the script must answer 900 or 901                    |
 * | download    | `--action-is-installed` first: 900 → 503; otherwise `--action-download`        |
 * | install     | `--action-install`                                                            |
 * | apply       | `--action-apply`                                                              |
 * | cancel      | `--action-cancel` (ADU does not run it, issue #776); 800 when it writes nothing |
 * | backup      | 1001 (unsupported, success)                                                   |
 * | restore     | 1101 (unsupported, success)                                                   |
 *
 * Works with and without `ctx.component` (no component → every placeholder is `n/a`).
 * Result codes 605-608/705-708 are returned as the script wrote them; acting on a reboot or
 * agent-restart request is the workflow engine's job.
 */

export const SCRIPT_HANDLER_ID = 'microsoft/script:1';

/** adu-shell makes the script `u=rwx,g=rx` before running it (`src/adu-shell/src/script_tasks.cpp`). */
const ADU_SHELL_SCRIPT_MODE = 0o750;

export interface ScriptHandlerOptions extends ScriptHandlerConfig {
  log: Logger;
  /** Test seam for the run timeout, kill grace and pipe drain timers. Default: Node's timers. */
  timers?: Timers;
}

/** A step that passed validation: what to run. */
interface PreparedStep {
  props: ScriptStepProperties;
  scriptPath: string;
  file: StepFile;
}

export class ScriptHandler implements StepHandler {
  readonly id = SCRIPT_HANDLER_ID;
  readonly componentAware = true;

  constructor(private readonly o: ScriptHandlerOptions) {}

  async isInstalled(ctx: StepContext): Promise<AducResult> {
    const r = await this.perform(ctx, 'is-installed');
    if (
      r.resultCode <= 0 ||
      r.resultCode === ResultCode.IsInstalledInstalled ||
      r.resultCode === ResultCode.IsInstalledNotInstalled
    )
      return r;
    return result(
      ResultCode.Failure,
      ScriptErc.IsInstalledUnexpectedResult,
      capDetails(
        `--action-is-installed must report 900 (installed) or 901 (not installed); the script reported ${r.resultCode}${r.resultDetails ? `: ${r.resultDetails}` : ''}`,
      ),
    );
  }

  async download(ctx: StepContext): Promise<AducResult> {
    const prepared = await this.prepare(ctx);
    if (!prepared.ok) return prepared.failure;
    const installed = await this.run(ctx, prepared.step, 'is-installed');
    if (installed.resultCode === ResultCode.IsInstalledInstalled)
      return result(ResultCode.DownloadSkippedUpdateAlreadyInstalled);
    if (installed.resultCode === ResultCode.FailureCancelled) return installed;
    // Like ADU, any other is-installed answer (901, or a failure such as an offline component) means "download".
    return this.run(ctx, prepared.step, 'download');
  }

  install(ctx: StepContext): Promise<AducResult> {
    return this.perform(ctx, 'install');
  }

  apply(ctx: StepContext): Promise<AducResult> {
    return this.perform(ctx, 'apply');
  }

  /**
   * Runs `--action-cancel` so the script can stop what it started. `ctx.signal` is usually already
   * aborted when cancel is called, so this run is bounded by `timeoutSeconds` only.
   * A step that cannot run its script answers 801 (Cancel_UnableToCancel, not a failure).
   */
  async cancel(ctx: StepContext): Promise<AducResult> {
    const prepared = await this.prepare(ctx);
    if (!prepared.ok) return { ...prepared.failure, resultCode: ResultCode.CancelUnableToCancel };
    return this.run(ctx, prepared.step, 'cancel', result(ResultCode.CancelSuccess));
  }

  async backup(): Promise<AducResult> {
    return result(ResultCode.BackupSuccessUnsupported);
  }

  async restore(): Promise<AducResult> {
    return result(ResultCode.RestoreSuccessUnsupported);
  }

  private async perform(ctx: StepContext, action: ScriptAction): Promise<AducResult> {
    const prepared = await this.prepare(ctx);
    if (!prepared.ok) return prepared.failure;
    return this.run(ctx, prepared.step, action);
  }

  /** Checks handlerProperties and the script file, and makes it executable. */
  private async prepare(
    ctx: StepContext,
  ): Promise<{ ok: true; step: PreparedStep } | { ok: false; failure: AducResult }> {
    const fail = (erc: number, details: string) => ({
      ok: false as const,
      failure: result(ResultCode.Failure, erc, capDetails(details)),
    });
    const read = readStepProperties(ctx.handlerProperties, this.o.timeoutSeconds);
    if (!read.ok) {
      return fail(
        read.problem.kind === 'missing-script' ? ScriptErc.MissingScriptFileName : ScriptErc.InvalidHandlerProperties,
        read.problem.details,
      );
    }
    const props = read.value;
    const wanted = props.scriptFileName.toLowerCase();
    const file = ctx.files.find((f) => f.fileName.toLowerCase() === wanted);
    if (file === undefined) {
      const names = ctx.files.map((f) => `'${f.fileName}'`).join(', ');
      return fail(
        ScriptErc.ScriptFileNotInStep,
        `script file '${props.scriptFileName}' is not one of the step's files (${names || 'the step has no files'})`,
      );
    }
    // The file as the engine placed it; its name equals scriptFileName up to case.
    const scriptPath = join(ctx.workFolder, file.fileName);
    try {
      const st = await stat(scriptPath);
      if (!st.isFile()) return fail(ScriptErc.ScriptFileMissingOnDisk, `script '${scriptPath}' is not a regular file`);
      if ((st.mode & 0o100) === 0) {
        // A file with another name on disk (a hard link into the user's update folder) is
        // replaced by a private copy first: chmod must never change the user's file (issue 13).
        if (st.nlink > 1) await replaceWithCopy(scriptPath);
        await chmod(scriptPath, ADU_SHELL_SCRIPT_MODE);
        ctx.log.debug({ scriptPath, mode: '0750' }, 'made script executable');
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT')
        return fail(
          ScriptErc.ScriptFileMissingOnDisk,
          `script '${file.fileName}' is not in the work folder '${ctx.workFolder}'`,
        );
      return fail(ScriptErc.SpawnFailed, `cannot make '${scriptPath}' executable: ${code ?? String(e)}`);
    }
    return { ok: true, step: { props, scriptPath, file } };
  }

  /**
   * One script run for `action`: argv, stale result file removed, run, result mapped.
   * `whenNoResultFile` is the answer to a clean exit without a result file (default: failure 0x30500205).
   */
  private async run(
    ctx: StepContext,
    step: PreparedStep,
    action: ScriptAction,
    whenNoResultFile?: AducResult,
  ): Promise<AducResult> {
    const argv = buildScriptArgv({
      action,
      apiVersion: step.props.apiVersion,
      arguments: step.props.arguments,
      component: ctx.component,
      workFolder: ctx.workFolder,
      installedCriteria: ctx.installedCriteria,
    });
    const what = `${step.file.fileName} ${step.props.apiVersion === '1.1' ? `--action ${action}` : `--action-${action}`}`;
    // ctx.log already names the step, the handler and the component (StepRunner): a repeat would duplicate the JSON key.
    const log = childLog(ctx.log, { action, script: step.file.fileName });
    const resultFile = resultFilePath(ctx.workFolder, action);
    try {
      await rm(resultFile, { force: true });
    } catch (e) {
      return result(
        ResultCode.Failure,
        ScriptErc.ResultFileUnreadable,
        capDetails(`cannot remove the stale result file '${resultFile}': ${String(e)}`),
      );
    }
    log.info({ argv }, 'running script');
    const outcome = await runScript({
      scriptPath: step.scriptPath,
      argv,
      cwd: ctx.workFolder,
      env: this.o.env,
      timeoutMs: step.props.timeoutSeconds * 1000,
      killGraceMs: this.o.killGraceMs,
      // Cancel is the answer to an abort: it must still run (bounded by the timeout).
      ...(action === 'cancel' ? {} : { signal: ctx.signal }),
      log,
      ...(this.o.timers ? { timers: this.o.timers } : {}),
    });
    const r = await resultFromOutcome(outcome, {
      what,
      resultFile,
      timeoutSeconds: step.props.timeoutSeconds,
      ...(whenNoResultFile ? { whenNoResultFile } : {}),
    });
    const fields = {
      outcome: outcome.kind,
      resultCode: r.resultCode,
      extendedResultCode: r.extendedResultCode,
      resultDetails: r.resultDetails,
    };
    if (r.resultCode > 0) log.info(fields, 'script finished');
    else log.warn(fields, 'script failed');
    return r;
  }
}

/**
 * The registry's factory: `env.config` is the gateway config section `handlers["microsoft/script:1"]`
 * (`timeoutSeconds` default 3600, `killGraceMs` default 5000, `env` default {}).
 * @throws SensorProxyError CONFIG_INVALID on a bad config value.
 */
export const createScriptHandler: HandlerFactory = (env) =>
  new ScriptHandler({ log: env.log, ...resolveScriptHandlerConfig(env.config) });

/** Breaks a hard link: copies `path` beside itself and renames the copy over it. */
async function replaceWithCopy(path: string): Promise<void> {
  const tmp = `${path}.${process.pid}.copy`;
  await copyFile(path, tmp);
  await rename(tmp, path);
}
