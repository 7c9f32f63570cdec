import type { Component } from '../model/component.js';
import type { EventSink } from '../model/events.js';
import { installedCriteriaOf, type StepContext } from '../model/handler.js';
import type { Logger } from '../model/logger.js';
import { Erc, ResultCode, isSuccess, result, type AducResult } from '../model/result-codes.js';
import type { UpdateId } from '../model/update.js';
import { resultFromError } from './error-map.js';
import { restartRequestOf } from './restart-requests.js';
import type { PlannedInlineStep } from './update-plan.js';
import { childLog } from '../../drivers/shared/child-log.js';

type Action = 'isInstalled' | 'download' | 'backup' | 'install' | 'apply' | 'restore';

/**
 * Runs the handler actions of one inline step for one component (or the host), following the ADU
 * steps handler (reference/adu-agent.md §2.4): IsInstalled first; Backup → Install → Apply,
 * Restore (best effort) when Install or Apply fails.
 */
export class StepRunner {
  constructor(
    private readonly opts: {
      workflowId: string;
      signal: AbortSignal;
      log: Logger;
      emit: EventSink;
      /** How long a handler may go on after a cancel before the step is given up as cancelled, ms. Default 30000. */
      cancelGraceMs?: number;
    },
  ) {}

  context(planned: PlannedInlineStep, component: Component | undefined): StepContext {
    const { step } = planned;
    const componentId = component?.id;
    const log = childLog(this.opts.log, {
      step: planned.path,
      handler: step.handler,
      ...(componentId && { componentId }),
    });
    let phase: string | undefined;
    const enterPhase = (next: string) => {
      if (next === phase) return;
      phase = next;
      log.debug({ phase }, 'phase');
      this.opts.emit({ type: 'step.phase', step: planned.path, ...(componentId && { componentId }), phase });
    };
    return {
      workflowId: this.opts.workflowId,
      updateId: planned.update.updateId as UpdateId,
      step: planned.path,
      handlerId: step.handler,
      handlerProperties: step.handlerProperties,
      installedCriteria: installedCriteriaOf(step.handlerProperties),
      files: planned.files,
      workFolder: planned.workFolder,
      component,
      // Its own signal, following the workflow's: parallel lanes each hang their deadlines on it, and one
      // shared signal would collect more than Node's 10 listeners and warn about a leak that is not one.
      signal: AbortSignal.any([this.opts.signal]),
      log,
      onProgress: (p) => {
        if (p.phase) enterPhase(phaseOfProgress(p.phase));
        this.opts.emit({
          type: 'transfer.progress',
          step: planned.path,
          ...(componentId && { componentId }),
          bytesDone: p.bytesDone,
          bytesTotal: p.bytesTotal,
          ...(p.phase && { phase: p.phase }),
        });
      },
      onPhase: enterPhase,
    };
  }

  /** Calls one handler action; a throw becomes a failure result; abort calls the handler's Cancel. */
  async call(planned: PlannedInlineStep, ctx: StepContext, action: Action): Promise<AducResult> {
    const h = planned.handler;
    if (ctx.signal.aborted)
      return result(ResultCode.FailureCancelled, Erc.WorkflowCancelled, 'cancelled before ' + action);
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below as fn.call(h, ctx)
    const fn = h[action];
    if (!fn)
      return result(action === 'backup' ? ResultCode.BackupSuccessUnsupported : ResultCode.RestoreSuccessUnsupported);
    const grace = this.opts.cancelGraceMs ?? 30_000;
    let graceTimer: NodeJS.Timeout | undefined;
    let gaveUp!: (r: AducResult) => void;
    const givenUp = new Promise<AducResult>((resolve) => (gaveUp = resolve));
    let cancelling: Promise<unknown> | undefined;
    const onAbort = () => {
      cancelling = h.cancel(ctx).then(
        (r) => ctx.log.info({ result: r }, 'handler cancel returned'),
        (e: unknown) => ctx.log.warn({ err: e }, 'handler cancel failed'),
      );
      // A handler that ignores the signal must not hold the workflow (and the agent's shutdown) forever.
      graceTimer = setTimeout(() => {
        ctx.log.error({ action, graceMs: grace }, 'handler did not stop after cancel; giving the step up');
        gaveUp(
          result(
            ResultCode.FailureCancelled,
            Erc.WorkflowCancelled,
            `${action} did not stop within ${grace} ms of the cancel`,
          ),
        );
      }, grace);
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const r = await Promise.race([fn.call(h, ctx), givenUp]);
      // The handler's Cancel (e.g. a script's --action-cancel) ends before the step does: nothing of
      // this step may still run in its work folder when the workflow moves on or cleans up.
      if (cancelling) await Promise.race([cancelling, givenUp]);
      if (ctx.signal.aborted && isSuccess(r) && action !== 'isInstalled') {
        // The action finished but the user cancelled meanwhile: stop here, report cancelled.
        return result(ResultCode.FailureCancelled, Erc.WorkflowCancelled, `cancelled after ${action}`);
      }
      return r;
    } catch (e) {
      return resultFromError(e, action);
    } finally {
      clearTimeout(graceTimer);
      ctx.signal.removeEventListener('abort', onAbort);
    }
  }

  /** IsInstalled, with an exception counted as "not installed" as the ADU agent does. */
  async isInstalled(planned: PlannedInlineStep, ctx: StepContext): Promise<AducResult> {
    const r = await this.call(planned, ctx, 'isInstalled');
    if (r.resultCode === ResultCode.IsInstalledInstalled || r.resultCode === ResultCode.IsInstalledNotInstalled)
      return r;
    ctx.log.warn({ result: r }, 'IsInstalled gave neither 900 nor 901; treating the step as not installed');
    return r;
  }

  /** Backup → Install → Apply. Returns the step's final result. */
  async install(planned: PlannedInlineStep, ctx: StepContext): Promise<AducResult> {
    const backup = await this.call(planned, ctx, 'backup');
    if (!isSuccess(backup)) return backup;
    const install = await this.call(planned, ctx, 'install');
    if (!isSuccess(install)) return this.restoreAfter(planned, ctx, install);
    if (
      install.resultCode === ResultCode.InstallSkippedUpdateAlreadyInstalled ||
      install.resultCode === ResultCode.InstallSkippedNoMatchingComponents
    ) {
      return install;
    }
    // An immediate reboot/restart request from Install skips Apply, as in the ADU steps handler (§2.4).
    if (restartRequestOf(install.resultCode)?.immediate) return install;
    const apply = await this.call(planned, ctx, 'apply');
    if (!isSuccess(apply)) return this.restoreAfter(planned, ctx, apply);
    // A deferred request from Install must survive a plain Apply success (ADU keeps it as a flag).
    return !restartRequestOf(apply.resultCode) && restartRequestOf(install.resultCode) ? install : apply;
  }

  private async restoreAfter(planned: PlannedInlineStep, ctx: StepContext, failure: AducResult): Promise<AducResult> {
    if (failure.resultCode === ResultCode.FailureCancelled) return failure;
    // Best effort, as in ADU: the failure stands whatever Restore says.
    const restore = await this.call(planned, ctx, 'restore');
    ctx.log.info({ result: restore }, 'restore after failure');
    return failure;
  }
}

/** A progress report's phase as a phase event names it: the byte-moving phase is `transfer` on every bus. */
function phaseOfProgress(phase: string): string {
  return phase === 'upload' || phase === 'download' ? 'transfer' : phase;
}
