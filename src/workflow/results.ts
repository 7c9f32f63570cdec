import { formatErc, ResultCode, type AducResult } from '../model/result-codes.js';
import { capDetails } from './error-map.js';

/** One entry of `lastInstallResult.stepResults`, in the `dtmi:azure:iot:deviceUpdate;2` shape. */
export interface StepResultReport {
  resultCode: number;
  extendedResultCodes: string;
  resultDetails: string;
}

/** The `lastInstallResult` the ADU agent reports (reference/adu-agent.md §6.4). */
export interface LastInstallResult extends StepResultReport {
  stepResults: Record<string, StepResultReport>;
}

/** Per step × component outcome: what ADU does not report, but a field engineer wants to see. */
export interface ComponentOutcome {
  step: string;
  handler: string;
  componentId?: string;
  description?: string;
  result: AducResult;
  /** How the result came about. */
  outcome: 'installed' | 'skipped-installed' | 'skipped-resumed' | 'failed' | 'cancelled' | 'not-run';
}

export function toReport(r: AducResult): StepResultReport {
  return {
    resultCode: r.resultCode,
    extendedResultCodes: formatErc(r.extendedResultCode),
    resultDetails: capDetails(r.resultDetails) ?? '',
  };
}

/**
 * Aggregates the results of a reference step over its components: the first failure wins;
 * no components → 604 (Install_Skipped_NoMatchingComponents); all skipped as installed → 603;
 * otherwise 700 (applied).
 */
export function aggregateReference(outcomes: ComponentOutcome[], componentCount: number): AducResult {
  if (componentCount === 0)
    return {
      resultCode: ResultCode.InstallSkippedNoMatchingComponents,
      extendedResultCode: 0,
      resultDetails: 'no matching components',
    };
  const failed = outcomes.find((o) => o.result.resultCode <= 0);
  if (failed)
    return {
      ...failed.result,
      resultDetails:
        `component ${failed.componentId ?? 'host'}, step ${failed.step}: ${failed.result.resultDetails ?? ''}`.trim(),
    };
  if (outcomes.every((o) => o.outcome === 'skipped-installed'))
    return { resultCode: ResultCode.InstallSkippedUpdateAlreadyInstalled, extendedResultCode: 0 };
  return { resultCode: ResultCode.ApplySuccess, extendedResultCode: 0 };
}
