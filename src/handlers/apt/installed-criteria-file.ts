/**
 * The installed-criteria record of `microsoft/apt:1`, in the ADU agent's format
 * (`src/utils/installed_criteria_utils/src/installed_criteria_utils.cpp`, ADU's file is
 * `/var/lib/adu/installedcriteria`): a JSON array of
 * `{"installedCriteria": "<handlerProperties.installedCriteria>", "state": "installed", "timestamp": <unix s>}`.
 * IsInstalled is an exact string match with state `installed`; a missing or unreadable file means
 * not installed. Written atomically (temp file, fsync, rename).
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../workflow/atomic-file.js';

interface Entry {
  installedCriteria: string;
  state: string;
  timestamp: number;
}

async function readEntries(path: string): Promise<Entry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  try {
    const doc: unknown = JSON.parse(text);
    return Array.isArray(doc) ? (doc.filter((x) => typeof x === 'object' && x !== null) as Entry[]) : [];
  } catch {
    return []; // as ADU: unparsable means nothing is recorded as installed
  }
}

export async function isCriteriaInstalled(path: string, criteria: string): Promise<boolean> {
  const e = (await readEntries(path)).find((x) => x.installedCriteria === criteria);
  return e?.state === 'installed';
}

/** Records `criteria` as installed (replacing older entries of the same criteria, which ADU appends). */
export async function persistInstalledCriteria(path: string, criteria: string): Promise<void> {
  const entries = (await readEntries(path)).filter((x) => x.installedCriteria !== criteria);
  entries.push({ installedCriteria: criteria, state: 'installed', timestamp: Math.floor(Date.now() / 1000) });
  await writeFileAtomic(path, JSON.stringify(entries, null, 2) + '\n');
}
