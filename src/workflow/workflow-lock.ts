import { createHash } from 'node:crypto';
import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SensorProxyError } from '../model/errors.js';

/**
 * One process at a time per workflow. `<state file>.lock` names its owner: pid, boot id and the
 * process start time, so a pid reused after a reboot or by another program is not mistaken for
 * the owner. The lock appears complete or not at all (written to a temp file, then hard-linked
 * into place: EEXIST when held). The owner may lock again.
 *
 * A lock whose owner is gone (crash, power cut) is stale and is taken over. Deciding "stale" and
 * acting on it are two steps, so the takeover must not act on a lock that changed in between (a
 * contender that read the dead owner's lock, then renamed away the lock another contender had
 * just taken, made two winners). So a contender first claims that one stale lock, by creating
 * `<lock>.takeover.<hash of its content>.1` exclusively; only the claim holder replaces it, and
 * only after reading it again unchanged, by renaming its own lock over it (the lock path is never
 * empty, so nobody can create one meanwhile). A claim whose holder died is passed over by claiming
 * level 2, and so on. Claims are removed after the replacement: a contender that claims afterwards
 * finds the lock changed and backs off.
 */
export interface LockOwner {
  pid: number;
  bootId: string;
  startTime: string;
}

/** Where a test can hold a contender: after it judged the lock stale; after it claimed it. */
export type TakeoverPoint = 'stale' | 'claimed';
type Pause = (at: TakeoverPoint) => Promise<void>;

const MAX_CLAIM_LEVELS = 8;

export async function acquireWorkflowLock(lockPath: string, pause?: Pause): Promise<void> {
  return acquireLockAs(lockPath, await ownerOf(process.pid), pause);
}

/** For tests: `me` stands in for this process, and `pause` holds a contender at a point of the takeover. */
export async function acquireLockAs(lockPath: string, me: LockOwner, pause?: Pause): Promise<void> {
  await mkdir(dirname(lockPath), { recursive: true });
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await createExclusive(lockPath, me)) return;
    const text = await readIfThere(lockPath);
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
    await pause?.('stale');
    if (await takeOver(lockPath, text, me, pause)) return;
  }
  throw new SensorProxyError('WORKFLOW_BUSY', `could not take the workflow lock ${lockPath}`, {
    details: { lock: lockPath },
  });
}

/** Replaces the stale lock `staleText` with ours; false when it changed meanwhile (look again). */
async function takeOver(lockPath: string, staleText: string, me: LockOwner, pause?: Pause): Promise<boolean> {
  const key = createHash('sha256').update(staleText).digest('hex').slice(0, 16);
  const claimPath = (level: number) => `${lockPath}.takeover.${key}.${level}`;
  let level = 1;
  for (; !(await createExclusive(claimPath(level), me)); level++) {
    const text = await readIfThere(claimPath(level));
    if (text === undefined) return false; // removed by a contender that has replaced the lock
    const holder = parseOwner(text);
    if (holder && (await isRunning(holder, me.bootId))) {
      throw new SensorProxyError('WORKFLOW_BUSY', `process ${holder.pid} is taking over the stale lock ${lockPath}`, {
        details: { pid: holder.pid, lock: lockPath },
        hint: `wait for it to finish, or stop process ${holder.pid}`,
      });
    }
    // Its holder died while taking over: pass over it.
    if (level === MAX_CLAIM_LEVELS) {
      throw new SensorProxyError('WORKFLOW_BUSY', `could not take over the stale workflow lock ${lockPath}`, {
        details: { lock: lockPath },
        hint: `make sure no sensor-proxy runs this update, then delete ${lockPath} and ${lockPath}.takeover.*`,
      });
    }
  }
  try {
    await pause?.('claimed');
    // Nobody else can replace the stale lock now; is it still the one judged stale?
    if ((await readIfThere(lockPath)) !== staleText) return false;
    const tmp = await writeTemp(lockPath, me);
    await rename(tmp, lockPath);
    return true;
  } finally {
    // Only after the replacement: whoever claims this stale lock from now on finds it gone.
    for (let l = level; l >= 1; l--) await rm(claimPath(l), { force: true });
  }
}

export async function releaseWorkflowLock(lockPath: string): Promise<void> {
  const text = await readFile(lockPath, 'utf8').catch(() => undefined);
  const owner = text === undefined ? undefined : parseOwner(text);
  // Only the owner removes the lock: a process that lost the race must not drop the winner's.
  if (owner && owner.pid === process.pid) await rm(lockPath, { force: true });
}

/** Creates `path` holding `me`, complete or not at all; false when it exists. */
async function createExclusive(path: string, me: LockOwner): Promise<boolean> {
  const tmp = await writeTemp(path, me);
  try {
    await link(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    await rm(tmp, { force: true });
  }
}

async function writeTemp(path: string, me: LockOwner): Promise<string> {
  const tmp = `${path}.${me.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(me) + '\n', { mode: 0o600 });
  return tmp;
}

async function readIfThere(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) =>
    e.code === 'ENOENT' ? undefined : Promise.reject(e),
  );
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

/**
 * Identity of a running process: pid, this boot's id, and its start time (field 22 of the stat
 * file of its main thread, which is the process's own start time). Read from
 * `/proc/<pid>/task/<pid>/stat`, not `/proc/<pid>/stat`: under qemu-user (how the arm packages are
 * tested) the emulator fakes `/proc/<own pid>/stat`, with a start time that depends on the thread
 * reading it (libuv's pool) and differs from what other processes see, so a process took its own
 * lock for someone else's (WORKFLOW_BUSY) and could judge a live owner dead. The task path is
 * passed through unchanged.
 */
async function ownerOf(pid: number): Promise<LockOwner> {
  const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => 'unknown')).trim();
  const stat = await readFile(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  return { pid, bootId, startTime };
}
