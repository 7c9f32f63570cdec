import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { isCancelled } from '../../drivers/shared/errors.js';
import { errorMessage } from '../model/errors.js';
import { dirname, resolve } from 'node:path';
import { loadManifestFile } from '../manifest/index.js';
import type { WorkflowEvent } from '../model/events.js';
import type { Component } from '../model/component.js';
import type { Logger } from '../model/logger.js';
import { Erc, ResultCode, formatErc, resultCodeName } from '../model/result-codes.js';
import { updateIdLabel } from '../model/update.js';
import { dryRun, type DryRunReport } from '../workflow/dry-run.js';
import { runWorkflow, type WorkflowOutcome } from '../workflow/engine.js';
import { LocalFileSource } from '../workflow/file-source.js';
import { planUpdate, type UpdatePlan } from '../workflow/update-plan.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { WorkflowStateStore } from '../workflow/workflow-state.js';
import { resultFromError } from '../workflow/error-map.js';
import { requestReboot } from '../workflow/system-restart.js';
import type { RestartRequest } from '../workflow/restart-requests.js';
import { buildGateway, loadConfig, logFileOf } from './gateway.js';
import type { LogFileSettings } from './log-file.js';
import { ExitCode, errorObject, formatHumanError, table, writeJsonLine } from './output.js';
import { PlainRenderer, TtyRenderer } from './progress-renderer.js';

export interface FlashOptions {
  manifest: string;
  files?: string;
  config?: string;
  inventories: string[];
  components: string[];
  dryRun: boolean;
  json: boolean;
  /** Reboot (config `rebootCommand`) when the update asks for a reboot. */
  reboot?: boolean;
  log: (level: string, file?: LogFileSettings) => Logger;
}

/**
 * `sensor-proxy flash`: validate the manifest, verify every file, select components, then run the
 * update with the workflow engine (or, with --dry-run, only ask IsInstalled and print the plan).
 * Returns the process exit code.
 */
export async function flashCommand(o: FlashOptions, signal: AbortSignal): Promise<number> {
  const config = await loadConfig(o.config).catch((e: unknown) => e as Error);
  if (config instanceof Error) return reportInputError(config, o.json);
  const log = o.log(config.logLevel, logFileOf(config));
  const gateway = (() => {
    try {
      return buildGateway(config, log, o.inventories);
    } catch (e) {
      return e as Error;
    }
  })();
  if (gateway instanceof Error) return reportInputError(gateway, o.json);

  const emit = pickRenderer(o.json);
  let state: WorkflowStateStore | undefined;
  try {
    const manifestPath = resolve(o.manifest);
    const filesDir = resolve(o.files ?? dirname(manifestPath));
    const loaded = await loadManifestFile(manifestPath);
    const sha = loaded.sha256 || createHash('sha256').update(loaded.raw).digest('hex');
    const workflowId = `local-${sha.slice(0, 16)}`;
    const store = new WorkflowStateStore(config.stateDir, workflowId);
    await store.lock(); // WORKFLOW_BUSY when another process runs it: then its lock is not ours to release
    state = store;
    const plan = await planUpdate({
      workflowId,
      update: loaded.update,
      manifestSha256: sha,
      workDir: config.workDir,
      fileSource: new LocalFileSource(filesDir),
      filesDir,
      inventory: gateway.inventory,
      handlers: gateway.handlers,
      referenceStepsOnHost: config.referenceStepsOnHost,
      ...(o.components.length > 0 && { onlyComponents: o.components }),
      signal,
    });
    emit.components(plan.steps.flatMap((s) => (s.kind === 'reference' ? s.components : [])));
    if (o.dryRun) {
      const report = await dryRun(plan, { signal, log });
      printDryRun(report, updateIdLabel(loaded.update.updateId), o.json);
      // A selected sensor that is absent or unreachable would fail the real run.
      return report.entries.some((e) => e.action === 'fail') ? ExitCode.Failed : ExitCode.Success;
    }
    return await executePlan({
      plan,
      state,
      config,
      log,
      emit,
      signal,
      json: o.json,
      label: updateIdLabel(loaded.update.updateId),
      reboot: !!o.reboot,
    });
  } catch (e) {
    emit.finish();
    if (isCancelled(e) || signal.aborted) return reportCancelledBeforeRun(e, o.json);
    return reportInputError(e, o.json);
  } finally {
    await state?.suspend();
    await gateway.inventory.close();
  }
}

export interface PlanExecution {
  plan: UpdatePlan;
  /** Locked by the caller. */
  state: WorkflowStateStore;
  config: GatewayConfig;
  log: Logger;
  emit: EventRenderer;
  signal: AbortSignal;
  json: boolean;
  /** How the result names the update (`provider/name/version`). */
  label: string;
  reboot: boolean;
  /** Extra fields for the JSON result and extra lines after the human result (quick flash's versions). */
  summary?: () => { json: Record<string, unknown>; lines: string[] };
}

/**
 * Runs a resolved plan with the workflow engine and reports it: the part of `flash` a manifest
 * flash and a quick flash share. Returns the exit code.
 */
export async function executePlan(x: PlanExecution): Promise<number> {
  const { plan, state, config, log, emit, signal } = x;
  let outcome: WorkflowOutcome;
  try {
    outcome = await runWorkflow({ plan, state, signal, log, emit: emit.onEvent, parallel: config.parallel });
  } catch (e) {
    // Steps may have run: this is not an input error. The state file tells what finished.
    emit.finish();
    return reportRunError(e, state.file, x.json);
  }
  emit.finish();
  // A finished run (not one waiting for a restart) needs its work folder no more (ADU deletes its sandbox).
  if (!outcome.suspended) {
    // Cleanup must not turn a reported outcome into an error.
    await rm(plan.rootWorkFolder, { recursive: true, force: true }).catch((e: unknown) =>
      log.warn({ err: e, folder: plan.rootWorkFolder }, 'could not remove the work folder'),
    );
  }
  printResult(outcome, x.label, plan.workflowId, x.json, x.summary?.());
  if (outcome.restartRequested) {
    await state.suspend(); // a reboot must not find the lock held
    await carryOutRestart(outcome.restartRequested, x.reboot, config.rebootCommand, log);
  }
  return outcome.succeeded ? ExitCode.Success : ExitCode.Failed;
}

/**
 * Tells the field engineer what the update is waiting for (on stderr, also with --json), and with
 * --reboot carries out a reboot request.
 */
async function carryOutRestart(
  req: RestartRequest,
  reboot: boolean,
  rebootCommand: string[] | undefined,
  log: Logger,
): Promise<void> {
  const again = 'run the same flash command again to finish the update (it resumes where it stopped)';
  if (req.kind === 'agent-restart') {
    process.stderr.write(`the update asked for an agent restart (${req.resultCode}): ${again}\n`);
    return;
  }
  if (!reboot) {
    process.stderr.write(
      `REBOOT NEEDED: the update asked for a reboot (${req.resultCode}). Reboot the gateway, then ${again};\n` +
        `or pass --reboot to reboot now (runs ${(rebootCommand ?? ['systemctl', 'reboot']).join(' ')}).\n`,
    );
    return;
  }
  try {
    const r = await requestReboot(rebootCommand, log);
    process.stderr.write(
      r === 'started'
        ? `rebooting; after the reboot, ${again}\n`
        : `REBOOT NEEDED: this host does not run systemd and no "rebootCommand" is configured; reboot it yourself, then ${again}\n`,
    );
  } catch (e) {
    process.stderr.write(`${formatHumanError(e)}\nREBOOT NEEDED: reboot the gateway yourself, then ${again}\n`);
  }
}

/** The run itself broke (e.g. the state file could not be written): some steps may have run. */
function reportRunError(e: unknown, stateFile: string, json: boolean): number {
  const hint = `steps may have run; ${stateFile} records what finished, and running the update again resumes it`;
  if (json) {
    const r = resultFromError(e, 'run');
    writeJsonLine({ type: 'error', ...errorObject(e), hint });
    writeJsonLine({
      type: 'result',
      succeeded: false,
      error: errorObject(e),
      lastInstallResult: {
        resultCode: r.resultCode,
        extendedResultCodes: formatErc(r.extendedResultCode),
        resultDetails: r.resultDetails ?? '',
        stepResults: {},
      },
    });
  } else {
    process.stderr.write(`${formatHumanError(e)}\nhint: ${hint}\n`);
  }
  return ExitCode.Failed;
}

/** Ctrl-C while the update was still being resolved: nothing ran, but it is a cancel, not bad input. */
export function reportCancelledBeforeRun(e: unknown, json: boolean): number {
  if (json) {
    writeJsonLine({
      type: 'result',
      succeeded: false,
      cancelled: true,
      lastInstallResult: {
        resultCode: ResultCode.FailureCancelled,
        extendedResultCodes: formatErc(Erc.WorkflowCancelled),
        resultDetails: 'cancelled before any step ran',
        stepResults: {},
      },
    });
  } else {
    process.stderr.write(`cancelled before any step ran (${errorMessage(e)})\n`);
  }
  return ExitCode.Failed;
}

export interface EventRenderer {
  onEvent: (e: WorkflowEvent) => void;
  /** The components the update will flash (their names and buses for the terminal view). */
  components: (list: Component[]) => void;
  finish: () => void;
}

export function pickRenderer(json: boolean): EventRenderer {
  if (json)
    return {
      onEvent: (e) => writeJsonLine(e as unknown as Record<string, unknown>),
      components: () => {},
      finish: () => {},
    };
  if (process.stderr.isTTY && !process.env.CI && process.env.TERM !== 'dumb') {
    const r = new TtyRenderer();
    return { onEvent: (e) => r.onEvent(e), components: (l) => r.components(l), finish: () => r.finish() };
  }
  const r = new PlainRenderer();
  return { onEvent: (e) => r.onEvent(e), components: () => {}, finish: () => r.finish() };
}

/** Bad input: nothing ran. JSON mode gets an `error` event and a failed `result` as the last line. */
export function reportInputError(e: unknown, json: boolean): number {
  if (json) {
    const r = resultFromError(e, 'input');
    writeJsonLine({ type: 'error', ...errorObject(e) });
    writeJsonLine({
      type: 'result',
      succeeded: false,
      error: errorObject(e),
      lastInstallResult: {
        resultCode: r.resultCode,
        extendedResultCodes: formatErc(r.extendedResultCode || Erc.ManifestValidationFailed),
        resultDetails: r.resultDetails ?? '',
        stepResults: {},
      },
    });
  } else {
    process.stderr.write(formatHumanError(e) + '\n');
  }
  return ExitCode.Usage;
}

function printResult(
  outcome: WorkflowOutcome,
  label: string,
  workflowId: string,
  json: boolean,
  summary?: { json: Record<string, unknown>; lines: string[] },
): void {
  if (json) {
    writeJsonLine({
      type: 'result',
      ...summary?.json,
      workflowId,
      succeeded: outcome.succeeded,
      cancelled: outcome.cancelled,
      resumed: outcome.resumed,
      ...(outcome.suspended && { suspended: outcome.suspended }),
      ...(outcome.restartRequested && { restartRequested: outcome.restartRequested }),
      ...(outcome.installedUpdateId && { installedUpdateId: outcome.installedUpdateId }),
      lastInstallResult: outcome.lastInstallResult,
      components: outcome.outcomes,
    });
    return;
  }
  const last = outcome.lastInstallResult;
  // A step that never started is "not run" (its reason in details), not a failure of its component.
  const rows = outcome.outcomes.map((o) => [
    o.step,
    o.componentId ?? 'host',
    o.handler,
    o.outcome === 'not-run' ? '-' : String(o.result.resultCode),
    o.outcome === 'not-run' ? 'not run' : resultCodeName(o.result.resultCode),
    o.outcome === 'not-run' ? '-' : formatErc(o.result.extendedResultCode),
    (o.outcome === 'not-run'
      ? (o.result.resultDetails ?? '').replace(/^not run: /, '')
      : (o.result.resultDetails ?? '')
    ).slice(0, 80),
  ]);
  const out = [
    table(['step', 'component', 'handler', 'code', 'result', 'erc', 'details'], rows),
    '',
    table(
      ['stepResults', 'resultCode', 'extendedResultCodes', 'resultDetails'],
      Object.entries(last.stepResults).map(([k, v]) => [
        k,
        String(v.resultCode),
        v.extendedResultCodes,
        v.resultDetails.slice(0, 80),
      ]),
    ),
    '',
    ...(summary && summary.lines.length > 0 ? [...summary.lines, ''] : []),
    `${label}: ${outcome.succeeded ? 'SUCCEEDED' : outcome.cancelled ? 'CANCELLED' : outcome.restartRequested ? `WAITING FOR ${outcome.restartRequested.kind === 'reboot' ? 'A REBOOT' : 'AN AGENT RESTART'}` : 'FAILED'} (resultCode ${last.resultCode} ${resultCodeName(last.resultCode)}, extendedResultCodes ${last.extendedResultCodes})${last.resultDetails ? `\n  ${last.resultDetails}` : ''}`,
  ];
  process.stdout.write(out.join('\n') + '\n');
}

function printDryRun(report: DryRunReport, label: string, json: boolean): void {
  if (json) {
    writeJsonLine({
      type: 'plan',
      update: label,
      entries: report.entries,
      noMatchingComponents: report.noMatchingComponents,
    });
    writeJsonLine({
      type: 'result',
      dryRun: true,
      succeeded: !report.entries.some((e) => e.action === 'fail'),
      plan: report.entries,
    });
    return;
  }
  const rows = report.entries.map((e) => [
    e.step,
    e.componentId ?? 'host',
    e.handler,
    e.action === 'skip-installed'
      ? 'skip (already installed)'
      : e.action === 'install'
        ? 'install'
        : e.action === 'fail'
          ? 'FAIL (sensor not present)'
          : `install? (IsInstalled ${e.isInstalled.resultCode})`,
    e.description ?? '',
  ]);
  const lines = [
    `dry run of ${label}: manifest valid, files verified, nothing installed`,
    table(['step', 'component', 'handler', 'would', 'description'], rows),
  ];
  for (const s of report.noMatchingComponents) lines.push(`step ${s}: no matching components (would report 604)`);
  for (const e of report.entries)
    if (e.action === 'fail') lines.push(`step ${e.step}: ${e.isInstalled.resultDetails ?? ''}`);
  process.stdout.write(lines.join('\n') + '\n');
}
