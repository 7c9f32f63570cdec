import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { assertJsonShape, INPUT_LIMITS, readBoundedFile } from '../model/input-limits.js';
import { dirname, basename, join } from 'node:path';

let tmpSerial = 0;

/**
 * Writes `data` so that a crash at any moment leaves either the old or the new content, never a
 * mix: write a temp file in the same folder, fsync it, rename over the target, fsync the folder.
 */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.${++tmpSerial}.tmp`);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data, 'utf8');
    await fh.sync();
  } catch (e) {
    await fh.close();
    await rm(tmp, { force: true }); // e.g. ENOSPC: leave no temp file behind
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/**
 * Reads a JSON state file; undefined when it does not exist. Throws on unreadable or unparsable
 * content, and `INPUT_TOO_LARGE` for a file over `INPUT_LIMITS.stateFileBytes` (not read) or
 * nested deeper than `INPUT_LIMITS.jsonDepth`.
 */
export async function readJsonFile<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    const limit = { limit: INPUT_LIMITS.stateFileBytes, code: 'INPUT_TOO_LARGE', what: 'state file' } as const;
    text = (await readBoundedFile(path, limit)).toString('utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  assertJsonShape(text, path, 'INPUT_TOO_LARGE');
  return JSON.parse(text) as T;
}

/**
 * Removes the temp files {@link writeFileAtomic} leaves when the process dies between writing and
 * renaming (`.<name>.<pid>.<ms>.tmp`). Call it only while no other process can be writing `path`
 * (under its lock, or at start-up of its only writer).
 */
export async function removeTempFiles(path: string): Promise<void> {
  const dir = dirname(path);
  const prefix = `.${basename(path)}.`;
  const names = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [] as string[];
    throw e;
  });
  for (const n of names)
    if (n.startsWith(prefix) && /^\d+\.\d+\.tmp$/.test(n.slice(prefix.length))) await rm(join(dir, n), { force: true });
}
