/**
 * The reported `deviceUpdate.agent` property (device → cloud), in the shapes the Device Update
 * service reads (`reference/adu-agent.md` §6.4, §4.4): the startup message, then per deployment
 * state 6 (DeploymentInProgress), and a terminal report: 0 (Idle) with `installedUpdateId` on
 * success, 255 (Failed) followed by 0 without it on failure, 0 with resultCode -1 on cancel.
 * Only states 6, 0 and 255 are ever sent (§4.4).
 */
import { formatErc, ResultCode } from '../model/result-codes.js';
import type { LastInstallResult, StepResultReport } from '../workflow/results.js';
import { COMPONENT, type WorkflowRef } from './service-request.js';

/** `ADUCITF_State` values that reach the cloud (§4.3). */
export const AgentState = { Idle: 0, DeploymentInProgress: 6, Failed: 255 } as const;
export type AgentStateValue = (typeof AgentState)[keyof typeof AgentState];

/** Model the agent announces (`dtmi:azure:iot:deviceUpdateModel;3`, §0 and §6.1). */
export const DEVICE_UPDATE_MODEL_ID = 'dtmi:azure:iot:deviceUpdateModel;3';
/** `deviceProperties.contractModelId` (§6.4). */
export const CONTRACT_MODEL_ID = 'dtmi:azure:iot:deviceUpdateContractModel;3';

export interface DeviceInfo {
  manufacturer: string;
  model: string;
  /** `additionalDeviceProperties`: extra string properties merged into `deviceProperties`. */
  additional: Readonly<Record<string, string>>;
  /** Comma-separated, default `manufacturer,model`. */
  compatPropertyNames: string;
  /** `aduVer`, e.g. `DU;agent/1.1.0`; ours is `DU;sensor-proxy/<version>`. */
  aduVer: string;
}

/** What `agent` holds for one workflow report. */
export interface AgentReport {
  state: AgentStateValue;
  workflow: WorkflowRef;
  installedUpdateId?: string;
  lastInstallResult: Omit<LastInstallResult, 'stepResults'> & { stepResults: Record<string, StepResultReport> | null };
}

function wrap(agent: Record<string, unknown>): Record<string, unknown> {
  return { [COMPONENT]: { __t: 'c', agent } };
}

/** The startup message (`ReportStartupMsg`, §6.4). `interfaceId` is null as in the ADU agent. */
export function startupPatch(info: DeviceInfo): Record<string, unknown> {
  return wrap({
    deviceProperties: {
      manufacturer: info.manufacturer,
      model: info.model,
      ...info.additional,
      interfaceId: null,
      contractModelId: CONTRACT_MODEL_ID,
      aduVer: info.aduVer,
    },
    compatPropertyNames: info.compatPropertyNames,
  });
}

/** The workflow object as reported: action, id and (when set) retryTimestamp. */
function workflowOf(w: WorkflowRef): WorkflowRef {
  return { action: w.action, id: w.id, ...(w.retryTimestamp !== undefined && { retryTimestamp: w.retryTimestamp }) };
}

/** State 6 (resultCode 1 as in the snapshot, §4.4); `stepResults: null` clears the previous results (§6.4). */
export function inProgressReport(w: WorkflowRef): AgentReport {
  return {
    state: AgentState.DeploymentInProgress,
    workflow: workflowOf(w),
    lastInstallResult: {
      resultCode: ResultCode.Success,
      extendedResultCodes: formatErc(0),
      resultDetails: '',
      stepResults: null,
    },
  };
}

/** Success: Idle + `installedUpdateId` (a string of serialized JSON) + the run's `lastInstallResult`. */
export function succeededReport(w: WorkflowRef, installedUpdateId: string, last: LastInstallResult): AgentReport {
  return { state: AgentState.Idle, workflow: workflowOf(w), installedUpdateId, lastInstallResult: last };
}

/** Failure or cancel: `state` 255 (then Idle) or Idle, never `installedUpdateId`. */
export function endedReport(
  w: WorkflowRef,
  state: AgentStateValue,
  last: AgentReport['lastInstallResult'],
): AgentReport {
  return { state, workflow: workflowOf(w), lastInstallResult: last };
}

/** A failure before any step ran (signature, download, manifest): the result with empty `stepResults`. */
export function failureResult(resultCode: number, erc: number, details: string): LastInstallResult {
  return {
    resultCode,
    extendedResultCodes: formatErc(erc),
    resultDetails: details.length <= 1024 ? details : details.slice(0, 1021) + '...',
    stepResults: {},
  };
}

/** The reported patch for a workflow report. */
export function reportPatch(r: AgentReport): Record<string, unknown> {
  return wrap({ ...r });
}
