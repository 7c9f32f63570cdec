import { ResultCode } from '../model/result-codes.js';

/** A handler's request that the gateway reboot or the agent restart (reference/adu-agent.md §3.5, §8.3). */
export interface RestartRequest {
  kind: 'reboot' | 'agent-restart';
  /** Immediate: nothing else runs first. Deferred: this component's remaining steps wait for it. */
  immediate: boolean;
  resultCode: number;
}

const REQUESTS: Record<number, Omit<RestartRequest, 'resultCode'>> = {
  [ResultCode.InstallRequiredImmediateReboot]: { kind: 'reboot', immediate: true },
  [ResultCode.InstallRequiredReboot]: { kind: 'reboot', immediate: false },
  [ResultCode.InstallRequiredImmediateAgentRestart]: { kind: 'agent-restart', immediate: true },
  [ResultCode.InstallRequiredAgentRestart]: { kind: 'agent-restart', immediate: false },
  [ResultCode.ApplyRequiredImmediateReboot]: { kind: 'reboot', immediate: true },
  [ResultCode.ApplyRequiredReboot]: { kind: 'reboot', immediate: false },
  [ResultCode.ApplyRequiredImmediateAgentRestart]: { kind: 'agent-restart', immediate: true },
  [ResultCode.ApplyRequiredAgentRestart]: { kind: 'agent-restart', immediate: false },
};

/** The restart request a result code carries (605–608, 705–708), if any. */
export function restartRequestOf(resultCode: number): RestartRequest | undefined {
  const r = REQUESTS[resultCode];
  return r && { ...r, resultCode };
}
