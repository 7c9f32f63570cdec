import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SensorProxyError } from '../model/errors.js';

/**
 * One process at a time per workflow. `<state file>.lock` names its owner: pid, boot id and the
 * process start time, so a pid reused after a reboot or by another program is not mistaken for
 * the owner. The lock appears complete or not at all (written to a temp file, then hard-linked
 * into place: EEXIST when held). A lock whose owner is gone (crash, power cut) is stale; it is
 * taken over by renaming it away, which only one contender can win. The owner may lock again.
 */
interface LockOwner {
  pid: number;
  bootId: string;
  startTime: string;
}

export async function acquireWorkflowLock(lockPath: string): Promise<void> {
  await mkdir(dirname(lockPath), { recursive: true });
  const me = await ownerOf(process.pid);
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await tryCreate(lockPath, me)) return;
    const text = await readFile(lockPath, 'utf8').catch((e: NodeJS.ErrnoException) =>
      e.code === 'ENOENT' ? undefined : Promise.reject(e),
    );
    if (text === undefined) continue; // released meanwhile: try again
    const owner = parseOwner(text);
    if (!owner) {
      throw new SensorProxyError('WORKFLOW_BUSY', `the workflow lock ${lockPath} is not one sensor-proxy wrote`, {
        details: { lock: lockPath },
        hint: `make sure no sensor-proxy runs this update, then delete ${lockPath}`,
      });
    }
    if (sameOwner(owner, me)) return;
    if (await isRunning(owner, me.bootId)) {
      throw new SensorProxyError('WORKFLOW_BUSY', `this update is already being run by process ${owner.pid}`, {
        details: { pid: owner.pid, lock: lockPath },
        hint: `wait for it to finish, or stop process ${owner.pid}`,
      });
    }
    // Stale. Renaming is atomic, so of several contenders exactly one moves this file away.
    const aside = `${lockPath}.stale.${process.pid}`;
    try {
      await rename(lockPath, aside);
      await rm(aside, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  throw new SensorProxyError('WORKFLOW_BUSY', `could not take the workflow lock ${lockPath}`, {
    details: { lock: lockPath },
  });
}

export async function releaseWorkflowLock(lockPath: string): Promise<void> {
  const text = await readFile(lockPath, 'utf8').catch(() => undefined);
  const owner = text === undefined ? undefined : parseOwner(text);
  // Only the owner removes the lock: a process that lost the race must not drop the winner's.
  if (owner && owner.pid === process.pid) await rm(lockPath, { force: true });
}

async function tryCreate(lockPath: string, me: LockOwner): Promise<boolean> {
  const tmp = `${lockPath}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(me) + '\n', { mode: 0o600 });
  try {
    await link(tmp, lockPath);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    await rm(tmp, { force: true });
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    return typeof o.pid === 'number' && typeof o.bootId === 'string' && typeof o.startTime === 'string'
      ? (o as LockOwner)
      : undefined;
  } catch {
    return undefined;
  }
}

function sameOwner(a: LockOwner, b: LockOwner): boolean {
  return a.pid === b.pid && a.bootId === b.bootId && a.startTime === b.startTime;
}

async function isRunning(owner: LockOwner, bootId: string): Promise<boolean> {
  if (owner.bootId !== bootId) return false; // written before the last reboot
  const now = await ownerOf(owner.pid).catch(() => undefined);
  return now !== undefined && now.startTime === owner.startTime;
}

/** Identity of a running process: pid, this boot's id, and its start time (field 22 of /proc/<pid>/stat). */
async function ownerOf(pid: number): Promise<LockOwner> {
  const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => 'unknown')).trim();
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  return { pid, bootId, startTime };
}
