import { join } from 'node:path';
import { acquireWorkflowLock, releaseWorkflowLock } from './workflow-lock.js';
import { SensorProxyError } from '../model/errors.js';
import type { AducResult } from '../model/result-codes.js';
import type { UpdateId } from '../model/update.js';
import { readJsonFile, removeTempFiles, writeFileAtomic } from './atomic-file.js';
import { timelineFile } from './timeline.js';

export type WorkflowStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

/** One step × component outcome; `key` is `<step path>@<component id or "host">`. */
export interface StepRecord {
  result: AducResult;
  finishedAt: string;
}

/** What is persisted per workflow in `<stateDir>/workflows/<workflowId>.json`. */
export interface WorkflowStateDoc {
  version: 1;
  workflowId: string;
  updateId: UpdateId;
  /** SHA-256 of the parent manifest: a resumed run must be of the very same update. */
  manifestSha256: string;
  status: WorkflowStatus;
  startedAt: string;
  finishedAt?: string;
  /** Runs of this workflow so far (1 = first run; more after crashes/restarts). */
  attempts: number;
  steps: Record<string, StepRecord>;
  /** Final report, set when status is terminal. */
  lastInstallResult?: unknown;
  /**
   * Steps × components that never started (outcome `not-run`: another component failed with
   * `onComponentFailure: "stop"`, a cancel, an earlier failed step), keyed like `steps`, with the
   * reason; set when status is terminal. Shown as "not run" by `report`, never as a failure.
   */
  notRun?: Record<string, string>;
}

export function stepKey(stepPath: string, componentId: string | undefined): string {
  return `${stepPath}@${componentId ?? 'host'}`;
}

/**
 * Durable workflow state. Every change is written atomically before the engine moves on, so a
 * crash leaves the last completed step on disk. A run of a workflow whose previous run did not
 * finish (status `running`, same manifest) resumes: its completed steps are not installed again.
 */
export class WorkflowStateStore {
  private doc!: WorkflowStateDoc;
  private readonly path: string;
  /** Records of the interrupted previous run, when this run resumes one. */
  private resumed: Record<string, StepRecord> = {};
  private saving: Promise<void> = Promise.resolve();

  constructor(
    readonly stateDir: string,
    readonly workflowId: string,
  ) {
    this.path = join(stateDir, 'workflows', `${workflowId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
  }

  get file(): string {
    return this.path;
  }

  /** Where the run's timeline goes (src/workflow/timeline.ts), beside the state. */
  get timelineFile(): string {
    return timelineFile(this.stateDir, this.workflowId);
  }

  /**
   * Starts (or resumes) the run. Returns true when an interrupted run is being resumed.
   * @throws SensorProxyError WORKFLOW_BUSY when another live process is running this workflow.
   */
  async begin(updateId: UpdateId, manifestSha256: string): Promise<boolean> {
    await acquireWorkflowLock(this.path + '.lock');
    // We hold the lock: no other process writes this file, so any temp file is a crash's leftover.
    await removeTempFiles(this.path);
    const previous = await this.readPrevious();
    const resuming = previous?.status === 'running' && previous.manifestSha256 === manifestSha256;
    this.resumed = resuming ? previous.steps : {};
    this.doc = {
      version: 1,
      workflowId: this.workflowId,
      updateId,
      manifestSha256,
      status: 'running',
      startedAt: new Date().toISOString(),
      attempts: resuming ? previous.attempts + 1 : 1,
      steps: resuming ? { ...previous.steps } : {},
    };
    await this.save();
    return resuming;
  }

  /** The successful result recorded for this step × component by the interrupted run, if any. */
  completedInPreviousRun(key: string): AducResult | undefined {
    const r = this.resumed[key]?.result;
    return r && r.resultCode > 0 ? r : undefined;
  }

  async record(key: string, result: AducResult): Promise<void> {
    this.doc.steps[key] = { result, finishedAt: new Date().toISOString() };
    await this.save();
  }

  async finish(
    status: Exclude<WorkflowStatus, 'running'>,
    lastInstallResult: unknown,
    notRun?: Record<string, string>,
  ): Promise<void> {
    this.doc.status = status;
    this.doc.finishedAt = new Date().toISOString();
    this.doc.lastInstallResult = lastInstallResult;
    if (notRun && Object.keys(notRun).length > 0) this.doc.notRun = notRun;
    await this.save();
    await releaseWorkflowLock(this.path + '.lock');
  }

  /** Takes the workflow's lock before planning, so a second process never touches its work folder. */
  lock(): Promise<void> {
    return acquireWorkflowLock(this.path + '.lock');
  }

  /**
   * Leaves the run `running` (so the next run of this workflow resumes it) and lets another
   * process take it: after an agent shutdown, or while a requested reboot is pending.
   */
  async suspend(): Promise<void> {
    await releaseWorkflowLock(this.path + '.lock');
  }

  /** The previous run's state, see {@link readWorkflowState}. */
  private readPrevious(): Promise<WorkflowStateDoc | undefined> {
    return readWorkflowState(this.path);
  }

  /**
   * Writes the document as it is now. Saves are queued: components flashed in parallel record
   * their steps at the same time, and each write must be whole and land in order.
   */
  private save(): Promise<void> {
    const text = JSON.stringify(this.doc, null, 2) + '\n';
    const write = this.saving.then(() => writeFileAtomic(this.path, text));
    this.saving = write.catch(() => {});
    return write;
  }
}

/**
 * Reads a workflow state file: undefined when there is none, or when it is of another `version`
 * (written by another release: a fresh start). A version-1 file of the wrong shape is
 * WORKFLOW_STATE_CORRUPT: a fresh start could install again steps a crashed run finished, so a
 * person decides (the hint says how).
 * @throws SensorProxyError `WORKFLOW_STATE_CORRUPT` naming the file.
 */
export async function readWorkflowState(path: string): Promise<WorkflowStateDoc | undefined> {
  try {
    const doc = await readJsonFile<unknown>(path);
    if (doc === undefined) return undefined;
    const isObject = typeof doc === 'object' && doc !== null && !Array.isArray(doc);
    if (isObject && (doc as { version?: unknown }).version !== 1) return undefined;
    const problem = isObject ? stateShapeProblem(doc as Record<string, unknown>) : 'not a JSON object';
    if (problem) throw new Error(problem);
    return doc as WorkflowStateDoc;
  } catch (e) {
    // Atomic writes make a torn file impossible; anything unreadable was edited by hand.
    throw new SensorProxyError(
      'WORKFLOW_STATE_CORRUPT',
      `workflow state ${path} is unreadable: ${(e as Error).message}`,
      {
        hint: `delete ${path} to start this workflow afresh`,
        cause: e,
      },
    );
  }
}

const STATUSES: readonly string[] = ['running', 'succeeded', 'failed', 'cancelled'];

/** What is wrong with a version-1 state document, or undefined when it has the shape the store relies on. */
export function stateShapeProblem(doc: Record<string, unknown>): string | undefined {
  const str = (k: string) => typeof doc[k] === 'string';
  if (!str('manifestSha256')) return '"manifestSha256" must be a string';
  if (typeof doc.status !== 'string' || !STATUSES.includes(doc.status))
    return `"status" must be one of ${STATUSES.join(', ')}`;
  if (!Number.isSafeInteger(doc.attempts) || (doc.attempts as number) < 1) return '"attempts" must be an integer >= 1';
  const steps = doc.steps;
  if (typeof steps !== 'object' || steps === null || Array.isArray(steps)) return '"steps" must be an object';
  for (const [key, rec] of Object.entries(steps as Record<string, unknown>)) {
    const r = (rec as { result?: unknown } | null)?.result as {
      resultCode?: unknown;
      extendedResultCode?: unknown;
    } | null;
    if (typeof rec !== 'object' || rec === null || typeof r !== 'object' || r === null)
      return `"steps.${key}" must be {"result": {...}, "finishedAt": ...}`;
    if (!Number.isInteger(r.resultCode)) return `"steps.${key}.result.resultCode" must be an integer`;
    if (r.extendedResultCode !== undefined && !Number.isInteger(r.extendedResultCode))
      return `"steps.${key}.result.extendedResultCode" must be an integer`;
  }
  const notRun = doc.notRun;
  if (
    notRun !== undefined &&
    (typeof notRun !== 'object' ||
      notRun === null ||
      Array.isArray(notRun) ||
      Object.values(notRun).some((v) => typeof v !== 'string'))
  )
    return '"notRun" must be an object of strings';
  return undefined;
}
