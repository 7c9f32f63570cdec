import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SensorProxyError } from '../model/errors.js';

/**
 * One process at a time per workflow: `<state file>.lock` holds the owner's pid, created with
 * O_EXCL. A lock whose owner is gone (crash, power cut, SIGKILL) is stale and taken over, which is
 * what lets a restarted run resume. The owning process may begin again (a resumed run in-process).
 */
export async function acquireWorkflowLock(lockPath: string): Promise<void> {
  await mkdir(dirname(lockPath), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(lockPath, 'wx', 0o600);
      try {
        await fh.writeFile(`${process.pid}\n`);
      } finally {
        await fh.close();
      }
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
    if (owner === process.pid) return;
    if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
      throw new SensorProxyError('WORKFLOW_BUSY', `this update is already being run by process ${owner}`, {
        details: { pid: owner, lock: lockPath },
        hint: `wait for it to finish, or stop process ${owner}`,
      });
    }
    await rm(lockPath, { force: true }); // stale: its owner died mid-run
  }
  throw new SensorProxyError('WORKFLOW_BUSY', `could not take the workflow lock ${lockPath}`, { details: { lock: lockPath } });
}

export async function releaseWorkflowLock(lockPath: string): Promise<void> {
  await rm(lockPath, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
