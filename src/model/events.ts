import type { AducResult } from './result-codes.js';
import type { UpdateId } from './update.js';

/**
 * Typed events the workflow, handlers and drivers emit; the CLI picks a renderer (TTY bars, plain
 * lines, ndjson) and the hub agent turns them into ADU reports. Nothing here touches a terminal.
 *
 * `step` is the step's path in the workflow tree: `"0"` for the parent's first step, `"1.2"` for
 * the third inline step of the child referenced by the parent's second step.
 */
export type WorkflowEvent =
  | { type: 'update.started'; workflowId: string; updateId: UpdateId; steps: number; dryRun: boolean }
  | { type: 'components.selected'; step: string; selector: Record<string, string>; componentIds: string[] }
  | { type: 'step.started'; step: string; handler: string; componentId?: string; description?: string }
  | {
      type: 'step.skipped';
      step: string;
      handler: string;
      componentId?: string;
      reason: 'installed' | 'resumed' | 'dry-run';
      result: AducResult;
    }
  | {
      type: 'transfer.progress';
      step: string;
      componentId?: string;
      bytesDone: number;
      bytesTotal: number;
      phase?: string;
    }
  | {
      type: 'step.phase';
      step: string;
      componentId?: string;
      /** A {@link FlashPhase} name, or the protocol's own word. */ phase: string;
    }
  | { type: 'step.finished'; step: string; handler: string; componentId?: string; result: AducResult }
  | { type: 'update.finished'; workflowId: string; succeeded: boolean };

/**
 * The phases a flash handler passes through, reported as `step.phase` events when it enters one, so
 * the seconds without byte progress (erase, verify, reset, confirm) show what is going on. Handlers
 * use these names where they fit and their protocol's own word otherwise (DFU `detach`/`manifest`,
 * SMP `test`, UDS `session`/`security`/`check`).
 */
export type FlashPhase =
  | 'connect'
  | 'bootloader'
  | 'detach'
  | 'reenumerate'
  | 'session'
  | 'security'
  | 'erase'
  | 'transfer'
  | 'verify'
  | 'check'
  | 'test'
  | 'manifest'
  | 'reset'
  | 'confirm';

export type EventSink = (event: WorkflowEvent) => void;

/** Progress a handler reports for one component transfer. */
export interface TransferProgress {
  bytesDone: number;
  bytesTotal: number;
  /** Free text such as `erase`, `download`, `verify`. */
  phase?: string;
}
