import { componentRemedy, componentStatus, type Component } from '../model/component.js';
import type { EventSink } from '../model/events.js';
import type { Logger } from '../model/logger.js';
import { Erc, ResultCode, isSuccess, result, type AducResult } from '../model/result-codes.js';
import { updateIdString } from '../model/update.js';
import { restartRequestOf, type RestartRequest } from './restart-requests.js';
import { StepRunner } from './step-runner.js';
import { aggregateReference, toReport, type ComponentOutcome, type LastInstallResult } from './results.js';
import { DEFAULT_PARALLEL_POLICY, laneSlots, runLanes, type ParallelPolicy } from './lanes.js';
import type { PlannedInlineStep, PlannedReferenceStep, UpdatePlan } from './update-plan.js';
import { stepKey, type WorkflowStateStore } from './workflow-state.js';
import { TimelineRecorder } from './timeline.js';
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
  /** Parallel flashing of the components a reference step selects; default {@link DEFAULT_PARALLEL_POLICY}. */
  parallel?: Partial<ParallelPolicy>;
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
 * component, then an Install phase, parent steps in order, each guarded by IsInstalled (900 →
 * skipped as 603). Within a reference step each selected component is a lane running the child's
 * steps in order; lanes on different physical paths run concurrently (runReferenceSteps, policy in
 * `opts.parallel`; with `acrossReferenceSteps`, consecutive reference steps on distinct components too). A failed parent step stops the parent steps after it; the results are
 * aggregated into `lastInstallResult` with `stepResults` keyed `step_<i>`. Every finished step ×
 * component is persisted as it ends, so a crashed run resumes.
 */
export async function runWorkflow(opts: RunOptions): Promise<WorkflowOutcome> {
  const log = childLog(opts.log, { workflowId: opts.plan.workflowId });
  const resumed = await opts.state.begin(opts.plan.update.updateId, opts.plan.manifestSha256);
  if (resumed) log.info({ stateFile: opts.state.file }, 'resuming an interrupted run of this workflow');
  const timeline = new TimelineRecorder(opts.state.timelineFile, opts.plan.workflowId, log);
  await timeline.begin();
  try {
    return await runRecorded({ ...opts, emit: timeline.wrap(opts.emit) }, log, resumed);
  } finally {
    await timeline.flush();
  }
}

async function runRecorded(opts: RunOptions, log: Logger, resumed: boolean): Promise<WorkflowOutcome> {
  const { plan, state, signal, emit } = opts;
  const runner = new StepRunner({
    workflowId: plan.workflowId,
    signal,
    log,
    emit,
    ...(opts.cancelGraceMs !== undefined && { cancelGraceMs: opts.cancelGraceMs }),
  });
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
  const policy = { ...DEFAULT_PARALLEL_POLICY, ...opts.parallel };
  const downloadFailure = await downloadPhase(groups.flat(), runner, state, policy);
  let failure: { index: number; result: AducResult } | undefined = downloadFailure;
  if (downloadFailure) {
    // Every other step × component is reported too: none of them was installed.
    const failed = stepKey(downloadFailure.outcome.step, downloadFailure.outcome.componentId);
    outcomes.push(
      ...groups
        .flat()
        .map((inst) =>
          stepKey(inst.planned.path, inst.component?.id) === failed
            ? downloadFailure.outcome
            : notRun(inst, `the download of step ${downloadFailure.outcome.step} failed`),
        ),
    );
  }
  const parentResults: (AducResult | undefined)[] = plan.steps.map(() => undefined);

  let restart: RestartRequest | undefined;
  if (!failure) {
    const env: LaneEnv = { runner, state, emit, signal, log, policy };
    steps: for (let i = 0; i < plan.steps.length;) {
      const planned = plan.steps[i]!;
      const together = planned.kind === 'reference' ? referenceRun(plan.steps, i, policy) : 1;
      const runs =
        planned.kind === 'reference'
          ? await runReferenceSteps(
              plan.steps.slice(i, i + together) as PlannedReferenceStep[],
              groups.slice(i, i + together),
              env,
            )
          : [await runHostStep(groups[i]![0]!, runner, state, emit)];
      // Steps that ran together all report, whichever of them failed first.
      for (const [k, step] of runs.entries()) {
        outcomes.push(...step.outcomes);
        parentResults[i + k] = step.result;
      }
      // The update's failure is the step that failed, not one that was merely stopped by it.
      const failed = runs.findIndex((r) => !isSuccess(r.result) && !r.stopped);
      for (const [k, step] of runs.entries()) {
        if (step.restart) {
          restart = restart?.immediate ? restart : step.restart;
          if (step.restart.immediate) break steps;
        }
        if (!isSuccess(step.result)) {
          const at = failed === -1 ? k : failed;
          failure = { index: i + at, result: runs[at]!.result };
          break steps;
        }
      }
      i += together;
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
  const notRunSteps = Object.fromEntries(
    outcomes
      .filter((o) => o.outcome === 'not-run')
      .map((o) => [stepKey(o.step, o.componentId), (o.result.resultDetails ?? '').replace(/^not run: /, '')]),
  );
  await state.finish(succeeded ? 'succeeded' : cancelled ? 'cancelled' : 'failed', last, notRunSteps);
  emit({ type: 'update.finished', workflowId: plan.workflowId, succeeded });
  return {
    ...common,
    succeeded,
    cancelled,
    lastInstallResult: last,
    ...(succeeded && { installedUpdateId: updateIdString(plan.update.updateId) }),
  };
}

interface StepRun {
  result: AducResult;
  outcomes: ComponentOutcome[];
  restart?: RestartRequest;
  /** Nothing of it failed, but some of it never ran: another reference step running alongside failed. */
  stopped?: boolean;
}

interface LaneEnv {
  runner: StepRunner;
  state: WorkflowStateStore;
  emit: EventSink;
  signal: AbortSignal;
  log: Logger;
  policy: ParallelPolicy;
}

/** A parent inline step: runs once on the host. */
async function runHostStep(
  inst: Instance,
  runner: StepRunner,
  state: WorkflowStateStore,
  emit: EventSink,
): Promise<StepRun> {
  const o = await installInstance(inst, runner, state, emit);
  const restart = isSuccess(o.result) ? restartRequestOf(o.result.resultCode) : undefined;
  return { result: o.result, outcomes: [o], ...(restart && { restart }) };
}

/**
 * How many parent steps from `i` run together: 1, or with `parallel.acrossReferenceSteps` the
 * consecutive reference steps (none run on the host) whose selected components are all distinct,
 * so no component gets the steps of two children at once.
 */
function referenceRun(steps: UpdatePlan['steps'], i: number, policy: ParallelPolicy): number {
  const first = steps[i]!;
  if (!policy.enabled || !policy.acrossReferenceSteps || first.kind !== 'reference' || first.onHost) return 1;
  const ids = new Set(first.components.map((c) => c.id));
  let n = 1;
  for (let j = i + 1; j < steps.length; j++, n++) {
    const next = steps[j]!;
    if (next.kind !== 'reference' || next.onHost || next.components.some((c) => ids.has(c.id))) break;
    next.components.forEach((c) => ids.add(c.id));
  }
  return n;
}

/**
 * Reference steps (one, or several that run together: {@link referenceRun}): one lane per selected
 * component, each running its child's steps in order. Lanes on different physical paths run at the
 * same time (laneSlots); a failing lane never interrupts another mid-step: with
 * `onComponentFailure: "stop"` (and on an immediate restart request or a cancel) the others finish
 * the step they are in and start nothing more. Every component's every step gets an outcome,
 * `not-run` for those that never started; each reference step gets its own result.
 */
async function runReferenceSteps(
  planneds: PlannedReferenceStep[],
  instanceGroups: Instance[][],
  env: LaneEnv,
): Promise<StepRun[]> {
  if (planneds.length === 1 && planneds[0]!.onHost) return [await runChildOnHost(instanceGroups[0]!, env)];
  const lanes = planneds.flatMap((planned, k) =>
    planned.components.map((component) => ({
      owner: k,
      component,
      instances: instanceGroups[k]!.filter((inst) => inst.component === component),
    })),
  );
  const components = lanes.map((l) => l.component);
  const perLane: ComponentOutcome[][] = lanes.map(() => []);
  const finishedInOrder: ComponentOutcome[][] = planneds.map(() => []);
  let stopWhy: string | undefined;
  const restarts: (RestartRequest | undefined)[] = planneds.map(() => undefined);
  const immediates: (ComponentOutcome | undefined)[] = planneds.map(() => undefined);
  const slots = laneSlots(components, env.policy);
  if (new Set(slots.map((s) => s.key)).size > 1 || slots.some((s) => s.capacity > 1))
    env.log.info(
      {
        steps: planneds.map((p) => p.path),
        lanes: slots.map((s, i) => `${components[i]!.id}@${s.key}`),
      },
      'flashing components in parallel',
    );
  const stopped = () => stopWhy ?? (env.signal.aborted ? 'cancelled' : undefined);

  /** Per reference step: why some of its steps never started because the run stopped. */
  const stoppedWhy: (string | undefined)[] = planneds.map(() => undefined);
  const runLane = async (li: number): Promise<void> => {
    const lane = lanes[li]!;
    for (const inst of lane.instances) {
      const why = stopped();
      if (why) {
        perLane[li]!.push(notRun(inst, why));
        stoppedWhy[lane.owner] ??= why;
        continue;
      }
      const o = await installInstance(inst, env.runner, env.state, env.emit);
      perLane[li]!.push(o);
      finishedInOrder[lane.owner]!.push(o);
      if (!isSuccess(o.result)) {
        if (env.policy.onComponentFailure === 'stop' || o.outcome === 'cancelled')
          stopWhy ??= `component ${o.componentId} failed at step ${o.step}`;
        stopLane(li, inst, `an earlier step of this component did not succeed`);
        return;
      }
      const req = restartRequestOf(o.result.resultCode);
      if (!req) continue;
      const prior = restarts[lane.owner];
      restarts[lane.owner] = prior?.immediate ? prior : req;
      env.log.warn(
        { step: o.step, componentId: o.componentId, request: req },
        `handler requests ${req.immediate ? 'an immediate' : 'a deferred'} ${req.kind}`,
      );
      if (req.immediate) {
        immediates[lane.owner] ??= o;
        stopWhy ??= `component ${o.componentId} requested an immediate ${req.kind}`;
      }
      // Deferred (ADU §2.4): this component's remaining steps wait for the restart; other components go on.
      stopLane(li, inst, `waiting for the requested ${req.kind}`);
      return;
    }
  };
  const stopLane = (li: number, after: Instance, why: string) => {
    const rest = lanes[li]!.instances.slice(lanes[li]!.instances.indexOf(after) + 1);
    perLane[li]!.push(...rest.map((inst) => notRun(inst, why)));
  };

  const neverStarted = await runLanes(slots, runLane, () => stopped() === undefined);
  for (const li of neverStarted) {
    perLane[li]!.push(...lanes[li]!.instances.map((inst) => notRun(inst, stopped() ?? 'not run')));
    stoppedWhy[lanes[li]!.owner] ??= stopped() ?? 'not run';
  }
  return planneds.map((planned, k) => {
    const outcomes = lanes.flatMap((l, li) => (l.owner === k ? perLane[li]! : []));
    const immediate = immediates[k];
    const restart = restarts[k];
    const r = immediate ? immediate.result : aggregateReference(finishedInOrder[k]!, planned.components.length);
    // A reference step is applied only when all of it ran: one that a failure alongside stopped
    // part-way is reported as not run, not as applied (its components' own outcomes say what ran).
    const why = stoppedWhy[k];
    if (why && isSuccess(r) && !immediates.some((o) => o !== undefined))
      return {
        result: result(why === 'cancelled' ? ResultCode.FailureCancelled : ResultCode.Failure, 0, `not run: ${why}`),
        outcomes,
        stopped: true,
        ...(restart && { restart }),
      };
    return { result: r, outcomes, ...(restart && { restart }) };
  });
}

/**
 * A reference step with no enumerator and `referenceStepsOnHost`: the child's steps run once, in
 * order, on the host (the ADU steps handler's rule with no enumerator registered, §2.2).
 */
async function runChildOnHost(instances: Instance[], env: LaneEnv): Promise<StepRun> {
  const outcomes: ComponentOutcome[] = [];
  for (const [i, inst] of instances.entries()) {
    const step = await runHostStep(inst, env.runner, env.state, env.emit);
    outcomes.push(...step.outcomes);
    const stop = !isSuccess(step.result)
      ? 'an earlier step did not succeed'
      : step.restart
        ? 'waiting for the requested restart'
        : undefined;
    if (stop || i === instances.length - 1) {
      outcomes.push(...instances.slice(i + 1).map((rest) => notRun(rest, stop ?? 'not run')));
      const r = step.restart?.immediate
        ? step.result
        : aggregateReference(
            outcomes.filter((o) => o.outcome !== 'not-run'),
            1,
          );
      return { result: r, outcomes, ...(step.restart && { restart: step.restart }) };
    }
  }
  return { result: aggregateReference([], 0), outcomes };
}

function notRun(inst: Instance, why: string): ComponentOutcome {
  const { planned, component } = inst;
  return {
    step: planned.path,
    handler: planned.step.handler,
    ...(component && { componentId: component.id }),
    ...(planned.step.description && { description: planned.step.description }),
    result: result(ResultCode.Failure, 0, `not run: ${why}`),
    outcome: 'not-run',
  };
}

/** Per parent step, the instances it runs: the host once for inline steps; each selected component × child step otherwise. */
function instanceGroups(plan: UpdatePlan): Instance[][] {
  return plan.steps.map((planned, parentIndex) =>
    planned.kind === 'inline'
      ? [{ planned, component: undefined, parentIndex }]
      : planned.onHost
        ? planned.steps.map((s) => ({ planned: s, component: undefined, parentIndex }))
        : planned.components.flatMap((component) => planned.steps.map((s) => ({ planned: s, component, parentIndex }))),
  );
}

/**
 * ADU Download phase (reference/adu-agent.md §2.4): IsInstalled, then the handler's Download, for
 * every instance; stops at the first failure. The ADU agent walks the instances one after the other;
 * here each component's instances stay in order, and components on different physical paths (the
 * rule of the Install phase: {@link laneSlots}) are read at the same time, so a deployment over
 * several buses does not wait for one sensor's version read after another before anything is
 * flashed. Host instances form one lane of their own. After a failure no instance starts (those in
 * flight finish); the failure reported is the first in manifest order.
 */
async function downloadPhase(
  instances: Instance[],
  runner: StepRunner,
  state: WorkflowStateStore,
  policy: ParallelPolicy,
): Promise<{ index: number; result: AducResult; outcome: ComponentOutcome } | undefined> {
  const distinct = [
    ...new Map(instances.flatMap((i) => (i.component ? [[i.component.id, i.component]] : []))).values(),
  ];
  const componentSlots = laneSlots(distinct, policy);
  // Parallelism off, or a component that names no physical path: one lane, the ADU agent's order.
  const sequential = componentSlots.some((s) => s.key === 'sequential');
  const lanes = new Map<string | undefined, Instance[]>();
  for (const inst of instances) {
    const owner = sequential ? undefined : inst.component?.id;
    const lane = lanes.get(owner);
    if (lane) lane.push(inst);
    else lanes.set(owner, [inst]);
  }
  const owners = [...lanes.keys()];
  const slots = owners.map((c) =>
    c === undefined ? { key: 'host', capacity: 1 } : componentSlots[distinct.findIndex((d) => d.id === c)]!,
  );
  const failures: { order: number; failure: { index: number; result: AducResult; outcome: ComponentOutcome } }[] = [];
  await runLanes(
    slots,
    async (li) => {
      for (const inst of lanes.get(owners[li])!) {
        if (failures.length > 0) return;
        const failure = await downloadInstance(inst, runner, state);
        if (failure) {
          failures.push({ order: instances.indexOf(inst), failure });
          return;
        }
      }
    },
    () => failures.length === 0,
  );
  return failures.sort((a, b) => a.order - b.order)[0]?.failure;
}

/** IsInstalled, then Download, of one instance; the failure to report, if any. */
async function downloadInstance(
  inst: Instance,
  runner: StepRunner,
  state: WorkflowStateStore,
): Promise<{ index: number; result: AducResult; outcome: ComponentOutcome } | undefined> {
  // A sensor that is not there gets no handler call at all; its install fails (installInstance).
  if (inst.component && unavailable(inst.component)) return undefined;
  if (state.completedInPreviousRun(stepKey(inst.planned.path, inst.component?.id))) return undefined;
  const ctx = runner.context(inst.planned, inst.component);
  const installed = await runner.isInstalled(inst.planned, ctx);
  if (installed.resultCode === ResultCode.IsInstalledInstalled) return undefined;
  const r = await runner.call(inst.planned, ctx, 'download');
  if (isSuccess(r)) return undefined;
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
  const missing = component && unavailable(component);
  if (missing) {
    const started = { type: 'step.started', step: planned.path, handler: planned.step.handler } as const;
    emit({ ...started, componentId: component.id });
    emit({
      type: 'step.finished',
      step: planned.path,
      handler: planned.step.handler,
      componentId: component.id,
      result: missing,
    });
    await state.record(key, missing);
    return { ...base, result: missing, outcome: 'failed' };
  }
  const previous = carriedOut(state.completedInPreviousRun(key));
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

/**
 * The failure of any step for a component whose sensor is `absent` or `unreachable` (issue 13
 * item 2): the handler is never called, and the result names the sensor and what to check, so a
 * declared sensor that is missing can never end as "no matching components" or as installed.
 */
export function unavailable(component: Component): AducResult | undefined {
  const status = componentStatus(component);
  if (status === 'present') return undefined;
  const detail = component.properties.statusDetail;
  const remedy = componentRemedy(component);
  return result(
    ResultCode.Failure,
    status === 'absent' ? Erc.ComponentAbsent : Erc.ComponentUnreachable,
    `sensor "${component.name}" (component ${component.id}, group ${component.group}) is ${status}` +
      `${typeof detail === 'string' && detail ? `: ${detail}` : ''}${remedy ? `; ${remedy}` : ''}`,
  );
}

/**
 * A step whose recorded result asked for a reboot / agent restart was interrupted by exactly that
 * restart: resumed, it counts as applied (asking again would restart forever when the handler's
 * IsInstalled cannot see the change).
 */
function carriedOut(previous: AducResult | undefined): AducResult | undefined {
  const req = previous && restartRequestOf(previous.resultCode);
  if (!req) return previous;
  return result(ResultCode.ApplySuccess, 0, `completed by the requested ${req.kind} (${req.resultCode})`);
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
