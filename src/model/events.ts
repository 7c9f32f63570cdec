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
  | { type: 'step.finished'; step: string; handler: string; componentId?: string; result: AducResult }
  | { type: 'update.finished'; workflowId: string; succeeded: boolean };

export type EventSink = (event: WorkflowEvent) => void;

/** Progress a handler reports for one component transfer. */
export interface TransferProgress {
  bytesDone: number;
  bytesTotal: number;
  /** Free text such as `erase`, `download`, `verify`. */
  phase?: string;
}
