import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { TimelineDoc } from '../workflow/timeline.js';
import type { WorkflowStateDoc } from '../workflow/workflow-state.js';
import { redactValue } from './redact.js';

/** One recorded deployment: its workflow state (per-step × component results) and its timeline. */
export interface DeploymentRecord {
  /** File name under `<stateDir>/workflows/` (without `.json`). */
  name: string;
  state?: WorkflowStateDoc;
  /** Why the state file could not be read, when it could not. */
  stateError?: string;
  timeline?: TimelineDoc;
}

/** Newest deployments kept in a bundle; older ones are counted, not included. */
export const MAX_DEPLOYMENTS = 200;

/**
 * Every deployment recorded under `<stateDir>/workflows/*.json` (`flash` and the agent alike), with
 * its timeline from `<stateDir>/timelines/` when there is one, newest first. A file that does not
 * parse is listed with its error: a report is most wanted when something is broken.
 */
export async function readDeployments(stateDir: string): Promise<{ records: DeploymentRecord[]; omitted: number }> {
  const dir = join(stateDir, 'workflows');
  const names = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [] as string[];
    throw e;
  });
  const files = names.filter((n) => n.endsWith('.json') && !n.startsWith('.'));
  const dated = await Promise.all(
    files.map(async (n) => ({ n, mtime: (await stat(join(dir, n)).catch(() => undefined))?.mtimeMs ?? 0 })),
  );
  dated.sort((a, b) => b.mtime - a.mtime);
  const records: DeploymentRecord[] = [];
  for (const { n } of dated.slice(0, MAX_DEPLOYMENTS)) {
    const name = n.slice(0, -'.json'.length);
    const rec: DeploymentRecord = { name };
    try {
      rec.state = redactValue(JSON.parse(await readFile(join(dir, n), 'utf8'))) as WorkflowStateDoc;
    } catch (e) {
      rec.stateError = (e as Error).message;
    }
    try {
      const t = JSON.parse(await readFile(join(stateDir, 'timelines', n), 'utf8')) as TimelineDoc;
      if (t.version === 1 && Array.isArray(t.runs)) rec.timeline = redactValue(t) as TimelineDoc;
    } catch {
      // no timeline: recorded before timelines existed, or by a run that never started a step
    }
    records.push(rec);
  }
  return { records, omitted: Math.max(0, dated.length - MAX_DEPLOYMENTS) };
}
