import type { Component } from '../model/component.js';
import type { EventSink } from '../model/events.js';
import type { Logger } from '../model/logger.js';
import { Erc, ResultCode, isSuccess, result, type AducResult } from '../model/result-codes.js';
import { updateIdString } from '../model/update.js';
import { restartRequestOf, type RestartRequest } from './restart-requests.js';
import { StepRunner } from './step-runner.js';
import { aggregateReference, toReport, type ComponentOutcome, type LastInstallResult } from './results.js';
import type { PlannedInlineStep, UpdatePlan } from './update-plan.js';
import { stepKey, type WorkflowStateStore } from './workflow-state.js';
import { childLog } from '../../drivers/shared/child-log.js';

export interface WorkflowOutcome {
  succeeded: boolean;
  cancelled: boolean;
  /** ADU `installedUpdateId` (serialized JSON string), set only on success. */
  installedUpdateId?: string;
  lastInstallResult: LastInstallResult;
  outcomes: ComponentOutcome[];
  resumed: boolean;
  /**
   * The run stopped without ending: the agent is shutting down (abort reason
   * {@link WorkflowInterrupted}) or a handler asked for a reboot / agent restart. The state stays
   * `running`, so the next run of this workflow resumes it.
   */
  suspended?: 'interrupted' | 'restart-requested';
  /** Set when a handler returned 605–608 / 705–708. */
  restartRequested?: RestartRequest;
}

/** Abort reason for "stop now, resume later" (agent shutdown), as opposed to a user's cancel. */
export class WorkflowInterrupted extends Error {
  constructor(message = 'workflow interrupted') {
    super(message);
    this.name = 'WorkflowInterrupted';
  }
}

export interface RunOptions {
  plan: UpdatePlan;
  state: WorkflowStateStore;
  signal: AbortSignal;
  log: Logger;
  emit: EventSink;
  /** See StepRunner: how long a handler may ignore a cancel, ms. Default 30000. */
  cancelGraceMs?: number;
}

/** A step × component to run: the host (component undefined) for parent inline steps. */
interface Instance {
  planned: PlannedInlineStep;
  component: Component | undefined;
  /** Index of the parent step it belongs to. */
  parentIndex: number;
}

/**
 * Multi-step ordered execution (reference/adu-agent.md §2.4): a Download phase over every step ×
 * component, then an Install phase, component-major within a reference step and step-minor, each
 * guarded by IsInstalled (900 → skipped as 603). The first failure stops everything; the results
 * are aggregated into `lastInstallResult` with `stepResults` keyed `step_<i>`. Every finished
 * step × component is persisted before the next starts, so a crashed run resumes.
 */
export async function runWorkflow(opts: RunOptions): Promise<WorkflowOutcome> {
  const { plan, state, signal, emit } = opts;
  const log = childLog(opts.log, { workflowId: plan.workflowId });
  const runner = new StepRunner({
    workflowId: plan.workflowId,
    signal,
    log,
    emit,
    ...(opts.cancelGraceMs !== undefined && { cancelGraceMs: opts.cancelGraceMs }),
  });
  const resumed = await state.begin(plan.update.updateId, plan.manifestSha256);
  if (resumed) log.info({ stateFile: state.file }, 'resuming an interrupted run of this workflow');
  emit({
    type: 'update.started',
    workflowId: plan.workflowId,
    updateId: plan.update.updateId,
    steps: plan.steps.length,
    dryRun: false,
  });

  for (const planned of plan.steps) {
    if (planned.kind === 'reference') {
      emit({
        type: 'components.selected',
        step: planned.path,
        selector: planned.selectors[0] ?? {},
        componentIds: planned.components.map((c) => c.id),
      });
    }
  }
  const groups = instanceGroups(plan);
  const outcomes: ComponentOutcome[] = [];
  const downloadFailure = await downloadPhase(groups.flat(), runner, state);
  let failure: { index: number; result: AducResult } | undefined = downloadFailure;
  if (downloadFailure) outcomes.push(downloadFailure.outcome);
  const parentResults: (AducResult | undefined)[] = plan.steps.map(() => undefined);

  let restart: RestartRequest | undefined;
  if (!failure) {
    steps: for (const [i, planned] of plan.steps.entries()) {
      const mine: ComponentOutcome[] = [];
      const waitingForRestart = new Set<string>();
      for (const inst of groups[i]!) {
        if (inst.component && waitingForRestart.has(inst.component.id)) continue;
        const o = await installInstance(inst, runner, state, emit);
        mine.push(o);
        if (!isSuccess(o.result)) break;
        const req = restartRequestOf(o.result.resultCode);
        if (!req) continue;
        restart = restart?.immediate ? restart : req;
        log.warn(
          { step: o.step, componentId: o.componentId, request: req },
          `handler requests ${req.immediate ? 'an immediate' : 'a deferred'} ${req.kind}`,
        );
        if (req.immediate) {
          outcomes.push(...mine);
          parentResults[i] = o.result;
          break steps;
        }
        // Deferred (ADU §2.4): this component's remaining steps wait for the restart; other components go on.
        if (inst.component) waitingForRestart.add(inst.component.id);
      }
      outcomes.push(...mine);
      parentResults[i] =
        planned.kind === 'reference'
          ? aggregateReference(mine, planned.components.length)
          : (mine[0]?.result ?? result(ResultCode.Failure));
      if (!isSuccess(parentResults[i]!)) {
        failure = { index: i, result: parentResults[i]! };
        break;
      }
    }
  } else {
    parentResults[failure.index] = failure.result;
  }

  const common = { outcomes, resumed };
  if (signal.aborted && signal.reason instanceof WorkflowInterrupted) {
    await state.suspend();
    log.info('workflow interrupted; it resumes at the next run');
    emit({ type: 'update.finished', workflowId: plan.workflowId, succeeded: false });
    return {
      ...common,
      succeeded: false,
      cancelled: false,
      suspended: 'interrupted',
      lastInstallResult: finalResult(plan, parentResults, failure, false),
    };
  }
  if (restart && !failure) {
    await state.suspend();
    const what = restart.kind === 'reboot' ? 'reboot the gateway' : 'restart the agent';
    const last = {
      ...toReport(result(restart.resultCode, 0, `${what}, then run this update again to finish it`)),
      stepResults: finalResult(plan, parentResults, undefined, false, 'waiting for the requested restart').stepResults,
    };
    emit({ type: 'update.finished', workflowId: plan.workflowId, succeeded: false });
    return {
      ...common,
      succeeded: false,
      cancelled: false,
      suspended: 'restart-requested',
      restartRequested: restart,
      lastInstallResult: last,
    };
  }
  // A cancel that arrives after the last step succeeded changes nothing: the update is installed.
  const cancelled = !!failure && (signal.aborted || failure.result.resultCode === ResultCode.FailureCancelled);
  const last = finalResult(plan, parentResults, failure, cancelled);
  const succeeded = !failure;
  await state.finish(succeeded ? 'succeeded' : cancelled ? 'cancelled' : 'failed', last);
  emit({ type: 'update.finished', workflowId: plan.workflowId, succeeded });
  return {
    ...common,
    succeeded,
    cancelled,
    lastInstallResult: last,
    ...(succeeded && { installedUpdateId: updateIdString(plan.update.updateId) }),
  };
}

/** Per parent step, the instances it runs: the host once for inline steps; each selected component × child step otherwise. */
function instanceGroups(plan: UpdatePlan): Instance[][] {
  return plan.steps.map((planned, parentIndex) =>
    planned.kind === 'inline'
      ? [{ planned, component: undefined, parentIndex }]
      : planned.components.flatMap((component) => planned.steps.map((s) => ({ planned: s, component, parentIndex }))),
  );
}

/** ADU Download phase: IsInstalled, then the handler's Download, for every instance; stops at the first failure. */
async function downloadPhase(
  instances: Instance[],
  runner: StepRunner,
  state: WorkflowStateStore,
): Promise<{ index: number; result: AducResult; outcome: ComponentOutcome } | undefined> {
  for (const inst of instances) {
    if (state.completedInPreviousRun(stepKey(inst.planned.path, inst.component?.id))) continue;
    const ctx = runner.context(inst.planned, inst.component);
    const installed = await runner.isInstalled(inst.planned, ctx);
    if (installed.resultCode === ResultCode.IsInstalledInstalled) continue;
    const r = await runner.call(inst.planned, ctx, 'download');
    if (!isSuccess(r)) {
      ctx.log.error({ result: r }, 'download failed');
      const { planned, component } = inst;
      const detailed = {
        ...r,
        resultDetails: `download of step ${planned.path}${component ? ` for ${component.id}` : ''}: ${r.resultDetails ?? ''}`,
      };
      const outcome: ComponentOutcome = {
        step: planned.path,
        handler: planned.step.handler,
        ...(component && { componentId: component.id }),
        ...(planned.step.description && { description: planned.step.description }),
        result: r,
        outcome: r.resultCode === ResultCode.FailureCancelled ? 'cancelled' : 'failed',
      };
      return { index: inst.parentIndex, result: detailed, outcome };
    }
  }
  return undefined;
}

async function installInstance(
  inst: Instance,
  runner: StepRunner,
  state: WorkflowStateStore,
  emit: EventSink,
): Promise<ComponentOutcome> {
  const { planned, component } = inst;
  const key = stepKey(planned.path, component?.id);
  const base = {
    step: planned.path,
    handler: planned.step.handler,
    ...(component && { componentId: component.id }),
    ...(planned.step.description && { description: planned.step.description }),
  };
  const previous = state.completedInPreviousRun(key);
  const ctx = runner.context(planned, component);
  const installed = await runner.isInstalled(planned, ctx);
  if (installed.resultCode === ResultCode.IsInstalledInstalled || previous) {
    const r =
      previous && installed.resultCode !== ResultCode.IsInstalledInstalled
        ? previous
        : result(ResultCode.InstallSkippedUpdateAlreadyInstalled);
    const reason = r === previous ? 'resumed' : 'installed';
    emit({
      type: 'step.skipped',
      step: planned.path,
      handler: planned.step.handler,
      ...(component && { componentId: component.id }),
      reason,
      result: r,
    });
    await state.record(key, r);
    return { ...base, result: r, outcome: reason === 'resumed' ? 'skipped-resumed' : 'skipped-installed' };
  }
  emit({
    type: 'step.started',
    step: planned.path,
    handler: planned.step.handler,
    ...(component && { componentId: component.id }),
    ...(planned.step.description && { description: planned.step.description }),
  });
  const r = await runner.install(planned, ctx);
  emit({
    type: 'step.finished',
    step: planned.path,
    handler: planned.step.handler,
    ...(component && { componentId: component.id }),
    result: r,
  });
  await state.record(key, r);
  const outcome = isSuccess(r) ? 'installed' : r.resultCode === ResultCode.FailureCancelled ? 'cancelled' : 'failed';
  return { ...base, result: r, outcome };
}

function finalResult(
  plan: UpdatePlan,
  parentResults: (AducResult | undefined)[],
  failure: { index: number; result: AducResult } | undefined,
  cancelled: boolean,
  notRunReason?: string,
): LastInstallResult {
  const stepResults: LastInstallResult['stepResults'] = {};
  parentResults.forEach((r, i) => {
    const why = notRunReason ?? (failure ? `step ${failure.index} did not succeed` : undefined);
    stepResults[`step_${i}`] = toReport(r ?? result(ResultCode.Failure, 0, why ? `not run: ${why}` : 'not run'));
  });
  if (cancelled) {
    const erc = failure?.result.extendedResultCode || Erc.WorkflowCancelled;
    return {
      ...toReport(result(ResultCode.FailureCancelled, erc, failure?.result.resultDetails ?? 'cancelled')),
      stepResults,
    };
  }
  if (failure) {
    return {
      ...toReport(
        result(
          ResultCode.Failure,
          failure.result.extendedResultCode,
          `step ${failure.index}: ${failure.result.resultDetails ?? ''}`,
        ),
      ),
      stepResults,
    };
  }
  return { ...toReport(result(ResultCode.ApplySuccess, 0, '')), stepResults };
}
