import { join } from 'node:path';
import type { EventSink, WorkflowEvent } from '../model/events.js';
import type { Logger } from '../model/logger.js';
import { readJsonFile, writeFileAtomic } from './atomic-file.js';

/**
 * What happened when, per step × component, for the evidence bundle's timeline (`sensor-proxy
 * report`): when the step started and ended, the phases it went through, byte progress samples and
 * the result. Kept next to the workflow state in `<stateDir>/timelines/<workflowId>.json`, bounded
 * in size: {@link MAX_SAMPLES} progress samples and {@link MAX_PHASES} phases per row,
 * {@link MAX_ROWS} rows per run, {@link MAX_RUNS} runs per workflow (older runs are dropped).
 */
export interface TimelineDoc {
  version: 1;
  workflowId: string;
  runs: TimelineRun[];
}

export interface TimelineRun {
  startedAt: string;
  finishedAt?: string;
  succeeded?: boolean;
  rows: TimelineRow[];
}

export interface TimelineRow {
  step: string;
  handler?: string;
  componentId?: string;
  /** ms since the run's `startedAt`. */
  start: number;
  end?: number;
  /** [ms since start of the run, phase name], in order. */
  phases: Array<[number, string]>;
  /** [ms since start of the run, bytes done], thinned to at most MAX_SAMPLES. */
  samples: Array<[number, number]>;
  bytesTotal?: number;
  result?: { resultCode: number; extendedResultCode: number; resultDetails?: string };
  outcome?: 'installed' | 'failed' | 'skipped';
}

export const MAX_SAMPLES = 120;
export const MAX_PHASES = 48;
export const MAX_ROWS = 256;
export const MAX_RUNS = 5;
/** Between writes of the file while a run goes on (it is always written when a run ends). */
const SAVE_INTERVAL_MS = 2000;

export function timelineFile(stateDir: string, workflowId: string): string {
  return join(stateDir, 'timelines', `${workflowId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
}

/**
 * Listens to a run's events and keeps its timeline. Never fails the workflow: a timeline that
 * cannot be written is logged and skipped.
 */
export class TimelineRecorder {
  private doc: TimelineDoc | undefined;
  private run!: TimelineRun;
  private t0 = 0;
  private readonly rows = new Map<string, TimelineRow>();
  /** Rows whose handler reports `step.phase` events. */
  private readonly phased = new Set<TimelineRow>();
  /** Per row: least ms between kept samples; doubles each time the row is thinned. */
  private readonly spacing = new Map<string, number>();
  private lastSave = 0;
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly workflowId: string,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Loads earlier runs of this workflow (bounded), then starts a new run. */
  async begin(): Promise<void> {
    const previous = await readJsonFile<TimelineDoc>(this.file).catch(() => undefined);
    const runs = previous?.version === 1 && Array.isArray(previous.runs) ? previous.runs : [];
    this.t0 = this.now();
    this.run = { startedAt: new Date(this.t0).toISOString(), rows: [] };
    this.doc = { version: 1, workflowId: this.workflowId, runs: [...runs.slice(-(MAX_RUNS - 1)), this.run] };
  }

  /** An event sink that records, then passes every event on to `next`. */
  wrap(next: EventSink): EventSink {
    return (ev) => {
      try {
        this.onEvent(ev);
      } catch (e) {
        this.log.debug({ err: e }, 'timeline: event not recorded');
      }
      next(ev);
    };
  }

  onEvent(ev: WorkflowEvent): void {
    if (!this.doc) return;
    const at = this.now() - this.t0;
    if (ev.type === 'update.finished') {
      this.run.finishedAt = new Date(this.now()).toISOString();
      this.run.succeeded = ev.succeeded;
      return;
    }
    if (!('step' in ev) || ev.type === 'components.selected') return;
    const row = this.row(ev.step, 'componentId' in ev ? ev.componentId : undefined, at);
    if (!row) return;
    switch (ev.type) {
      case 'step.started':
        row.start = at;
        row.handler = ev.handler;
        break;
      case 'step.skipped':
        row.handler = ev.handler;
        row.end = at;
        row.outcome = 'skipped';
        row.result = { ...ev.result };
        this.saveSoon(true);
        break;
      case 'transfer.progress':
        row.bytesTotal = ev.bytesTotal;
        // A handler that reports step.phase names its phases there; the progress phase is then its protocol's word for transfer.
        if (ev.phase && !this.phased.has(row)) this.phase(row, at, ev.phase);
        this.sample(row, at, ev.bytesDone);
        break;
      case 'step.finished':
        row.handler = ev.handler;
        row.end = at;
        row.outcome = ev.result.resultCode > 0 ? 'installed' : 'failed';
        row.result = {
          resultCode: ev.result.resultCode,
          extendedResultCode: ev.result.extendedResultCode,
          ...(ev.result.resultDetails && { resultDetails: ev.result.resultDetails.slice(0, 500) }),
        };
        if (row.bytesTotal !== undefined && row.outcome === 'installed') this.sample(row, at, row.bytesTotal, true);
        this.saveSoon(true);
        break;
      case 'step.phase':
        this.phased.add(row);
        this.phase(row, at, ev.phase);
        break;
    }
  }

  /** Writes the timeline as it is now (call when the run ends). */
  async flush(): Promise<void> {
    this.saveSoon(true);
    await this.saving;
  }

  private row(step: string, componentId: string | undefined, at: number): TimelineRow | undefined {
    const key = `${step}@${componentId ?? 'host'}`;
    let row = this.rows.get(key);
    if (!row) {
      if (this.rows.size >= MAX_ROWS) return undefined;
      row = { step, ...(componentId && { componentId }), start: at, phases: [], samples: [] };
      this.rows.set(key, row);
      this.run.rows.push(row);
      this.spacing.set(key, 0);
    }
    return row;
  }

  private phase(row: TimelineRow, at: number, phase: string): void {
    if (row.phases.at(-1)?.[1] === phase) return;
    if (row.phases.length >= MAX_PHASES) row.phases.splice(1, 1); // keep the first; drop the oldest after it
    row.phases.push([at, phase]);
  }

  /** Keeps samples at least `spacing` ms apart; when full, drops every other one and doubles the spacing. */
  private sample(row: TimelineRow, at: number, bytes: number, force = false): void {
    const key = `${row.step}@${row.componentId ?? 'host'}`;
    const spacing = this.spacing.get(key) ?? 0;
    const last = row.samples.at(-1);
    if (last && !force && at - last[0] < spacing) return;
    if (last && last[0] === at) {
      last[1] = bytes;
      return;
    }
    row.samples.push([at, bytes]);
    if (row.samples.length > MAX_SAMPLES) {
      row.samples = row.samples.filter((_, i) => i % 2 === 0 || i === row.samples.length - 1);
      this.spacing.set(key, Math.max(1, spacing * 2, Math.round(at / MAX_SAMPLES)));
    }
  }

  private saveSoon(force = false): void {
    const now = this.now();
    if (!this.doc || (!force && now - this.lastSave < SAVE_INTERVAL_MS)) return;
    this.lastSave = now;
    const text = JSON.stringify(this.doc) + '\n';
    this.saving = this.saving
      .then(() => writeFileAtomic(this.file, text))
      .catch((e: unknown) => this.log.warn({ err: e, file: this.file }, 'timeline: could not write the file'));
  }
}
