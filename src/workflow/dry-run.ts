import type { Logger } from '../model/logger.js';
import { ResultCode, type AducResult } from '../model/result-codes.js';
import { unavailable } from './engine.js';
import { StepRunner } from './step-runner.js';
import type { UpdatePlan } from './update-plan.js';

export interface PlanEntry {
  step: string;
  handler: string;
  description?: string;
  componentId?: string;
  /** What a real run would do, judged by IsInstalled now; `fail`: the sensor is absent or unreachable. */
  action: 'skip-installed' | 'install' | 'unknown' | 'fail';
  isInstalled: AducResult;
}

export interface DryRunReport {
  entries: PlanEntry[];
  /** Reference steps whose compatibility selects no component (a real run reports 604). */
  noMatchingComponents: string[];
}

/** Asks IsInstalled for every step × component of a resolved plan; installs nothing. */
export async function dryRun(plan: UpdatePlan, opts: { signal: AbortSignal; log: Logger }): Promise<DryRunReport> {
  const runner = new StepRunner({ workflowId: plan.workflowId, signal: opts.signal, log: opts.log, emit: () => {} });
  const entries: PlanEntry[] = [];
  const noMatchingComponents: string[] = [];
  for (const planned of plan.steps) {
    const instances =
      planned.kind === 'inline'
        ? [{ s: planned, c: undefined }]
        : planned.onHost
          ? planned.steps.map((s) => ({ s, c: undefined }))
          : planned.components.flatMap((c) => planned.steps.map((s) => ({ s, c })));
    if (planned.kind === 'reference' && !planned.onHost && planned.components.length === 0)
      noMatchingComponents.push(planned.path);
    for (const { s, c } of instances) {
      const missing = c && unavailable(c);
      if (missing) {
        entries.push({
          step: s.path,
          handler: s.step.handler,
          ...(s.step.description && { description: s.step.description }),
          componentId: c.id,
          action: 'fail',
          isInstalled: missing,
        });
        continue;
      }
      const ctx = runner.context(s, c);
      const r = await runner.isInstalled(s, ctx);
      entries.push({
        step: s.path,
        handler: s.step.handler,
        ...(s.step.description && { description: s.step.description }),
        ...(c && { componentId: c.id }),
        action:
          r.resultCode === ResultCode.IsInstalledInstalled
            ? 'skip-installed'
            : r.resultCode === ResultCode.IsInstalledNotInstalled
              ? 'install'
              : 'unknown',
        isInstalled: r,
      });
    }
  }
  return { entries, noMatchingComponents };
}
