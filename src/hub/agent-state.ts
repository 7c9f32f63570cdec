/**
 * What the agent must remember across restarts (`<stateDir>/hub/agent.json`, written atomically):
 * per workflow delivery, whether state 6 was reported and, once finished, the terminal report.
 * With it a restarted agent resumes an unfinished deployment (never leaving the twin at 6) and a
 * re-delivered twin for a finished workflow re-reports nothing new: no flip back to "in progress"
 * after a token refresh (ADU issues #609, #625; `reference/adu-agent.md` §8.1).
 */
import { join } from 'node:path';
import { isSensorProxyError } from '../model/errors.js';
import { readJsonFile, removeTempFiles, writeFileAtomic } from '../workflow/atomic-file.js';
import type { AgentReport } from './agent-reports.js';
import type { WorkflowRef } from './service-request.js';

export interface DeliveryRecord {
  workflow: WorkflowRef;
  status: 'running' | 'finished';
  /** Terminal report(s) sent, last one last (255 then 0 on failure). */
  terminal?: AgentReport[];
  updatedAt: string;
}

interface AgentStateDoc {
  version: 1;
  deliveries: DeliveryRecord[];
}

/** Deliveries kept; older ones are forgotten (a re-delivery that old would run again). */
const KEEP = 32;

export class AgentStateStore {
  private doc: AgentStateDoc = { version: 1, deliveries: [] };
  readonly file: string;

  constructor(stateDir: string) {
    this.file = join(stateDir, 'hub', 'agent.json');
  }

  /**
   * Reads the file, at start-up (the agent is its only writer, so temp files are a crash's
   * leftovers and go). Records of the wrong shape are dropped: this file only spares re-reports;
   * the workflow state files, validated strictly, keep finished steps from being installed again.
   */
  async load(): Promise<void> {
    await removeTempFiles(this.file);
    // Not JSON (edited by hand; atomic writes cannot tear it), over the state size limit or nested
    // too deep: nothing worth keeping, start with no records. (Found by the property tests: a
    // non-JSON file used to stop the agent from starting with a SyntaxError.)
    const doc = await readJsonFile<{ version?: unknown; deliveries?: unknown }>(this.file).catch((e: unknown) => {
      if (e instanceof SyntaxError || isSensorProxyError(e, 'INPUT_TOO_LARGE')) return undefined;
      throw e;
    });
    if (doc?.version === 1 && Array.isArray(doc.deliveries))
      this.doc = { version: 1, deliveries: doc.deliveries.filter(isDeliveryRecord) };
  }

  /** The record of workflow `id` (any retry token), newest first. */
  find(id: string): DeliveryRecord | undefined {
    return this.doc.deliveries.find((d) => d.workflow.id === id);
  }

  /** Deliveries that started and never reached a terminal report (agent crashed or was stopped). */
  unfinished(): DeliveryRecord[] {
    return this.doc.deliveries.filter((d) => d.status === 'running');
  }

  /** Records `workflow` as running; any other unfinished delivery was superseded by it and is closed without a report. */
  async started(workflow: WorkflowRef): Promise<void> {
    const others = this.doc.deliveries
      .filter((d) => d.workflow.id !== workflow.id)
      .map((d) => (d.status === 'running' ? { ...d, status: 'finished' as const, terminal: [] } : d));
    this.doc.deliveries = [
      { workflow, status: 'running' as const, updatedAt: new Date().toISOString() },
      ...others,
    ].slice(0, KEEP);
    await this.save();
  }

  async finished(workflow: WorkflowRef, terminal: AgentReport[]): Promise<void> {
    this.doc.deliveries = [
      { workflow, status: 'finished' as const, terminal, updatedAt: new Date().toISOString() },
      ...this.doc.deliveries.filter((d) => d.workflow.id !== workflow.id),
    ].slice(0, KEEP);
    await this.save();
  }

  private saving: Promise<void> = Promise.resolve();

  /** Saves in order: one write at a time, the last state wins. */
  private save(): Promise<void> {
    const text = JSON.stringify(this.doc, null, 2) + '\n';
    this.saving = this.saving.catch(() => undefined).then(() => writeFileAtomic(this.file, text));
    return this.saving;
  }
}

function isDeliveryRecord(d: unknown): d is DeliveryRecord {
  const r = d as Partial<DeliveryRecord> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.workflow === 'object' &&
    r.workflow !== null &&
    typeof r.workflow.id === 'string' &&
    (r.status === 'running' || r.status === 'finished') &&
    (r.terminal === undefined || Array.isArray(r.terminal))
  );
}
