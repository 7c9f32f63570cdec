import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoPath } from '../../../hw-fixtures/repo-root.js';
import {
  acquireLockAs,
  acquireWorkflowLock,
  releaseWorkflowLock,
  type LockOwner,
  type TakeoverPoint,
} from '../../../src/workflow/workflow-lock.js';

const bootId = async () => (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
const startTime = async (pid: number) => {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
};

/** A live process to stand for a contender: its identity is what a real one would write. */
async function liveOwner(): Promise<{ owner: LockOwner; child: ChildProcess }> {
  const child = spawn('sleep', ['60']);
  await new Promise((r) => child.once('spawn', r));
  return { child, owner: { pid: child.pid!, bootId: await bootId(), startTime: await startTime(child.pid!) } };
}

/** Holds a contender the first time it reaches `point`, until `go()`; `reached` resolves when it is there. */
function holdAt(point: TakeoverPoint) {
  let arrive!: () => void;
  let go!: () => void;
  const reached = new Promise<void>((r) => (arrive = r));
  const released = new Promise<void>((r) => (go = r));
  let held = false;
  const pause = async (at: TakeoverPoint) => {
    if (at !== point || held) return;
    held = true;
    arrive();
    await released;
  };
  return { pause, reached, go };
}

const lockOwnerPid = async (lock: string) => (JSON.parse(await readFile(lock, 'utf8')) as LockOwner).pid;
const staleLock = JSON.stringify({ pid: 1, bootId: 'an-earlier-boot', startTime: '1' });

describe('workflow lock', () => {
  it('refuses a workflow another live process runs; takes over a dead owner; is reentrant for its owner', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sp-lock-'));
    const lock = join(dir, 'wf.json.lock');
    const other = spawn('sleep', ['30']);
    try {
      await new Promise((r) => setTimeout(r, 50));
      await writeFile(
        lock,
        JSON.stringify({ pid: other.pid, bootId: await bootId(), startTime: await startTime(other.pid!) }),
      );
      await assert.rejects(
        acquireWorkflowLock(lock),
        (e: Error & { code?: string }) => e.code === 'WORKFLOW_BUSY' && e.message.includes(String(other.pid)),
      );
    } finally {
      other.kill('SIGKILL');
      await new Promise((r) => other.once('exit', r));
    }
    await acquireWorkflowLock(lock); // the owner died: stale lock taken over
    await acquireWorkflowLock(lock); // same process again
    await releaseWorkflowLock(lock);
    assert.equal(existsSync(lock), false);
  });

  it('does not mistake a reused pid (other boot, or other start time) for the owner', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sp-lock-'));
    const lock = join(dir, 'wf.json.lock');
    await writeFile(lock, JSON.stringify({ pid: 1, bootId: 'an-earlier-boot', startTime: '1' }));
    await acquireWorkflowLock(lock);
    await releaseWorkflowLock(lock);
    await writeFile(lock, JSON.stringify({ pid: 1, bootId: await bootId(), startTime: 'not-the-real-start' }));
    await acquireWorkflowLock(lock);
    await releaseWorkflowLock(lock);
  });

  it('lets exactly one of several processes take a stale lock at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sp-lock-'));
    const lock = join(dir, 'wf.json.lock');
    await writeFile(lock, JSON.stringify({ pid: 1, bootId: 'an-earlier-boot', startTime: '1' }));
    const mod = repoPath('dist', 'src', 'workflow', 'workflow-lock.js');
    // Each child reports at once, then holds what it got until the test has every answer.
    const script = `import(${JSON.stringify(mod)}).then(async (m) => { try { await m.acquireWorkflowLock(${JSON.stringify(lock)}); console.log('got'); } catch (e) { console.log(e.code); } setTimeout(() => {}, 60000); })`;
    const children = Array.from({ length: 4 }, () => spawn(process.execPath, ['-e', script]));
    try {
      const runs = await Promise.all(
        children.map(
          (p) =>
            new Promise<string>((resolve) => {
              let out = '';
              p.stdout.on('data', (d: Buffer) => {
                out += d.toString();
                if (out.includes('\n')) resolve(out.trim());
              });
              p.on('close', () => resolve(out.trim()));
            }),
        ),
      );
      assert.equal(runs.filter((r) => r === 'got').length, 1, runs.join(','));
      assert.equal(runs.filter((r) => r === 'WORKFLOW_BUSY').length, 3, runs.join(','));
    } finally {
      for (const c of children) c.kill('SIGKILL');
    }
  });

  it("two contenders that both judged the lock stale: the later one does not take the winner's new lock", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sp-lock-'));
    const lock = join(dir, 'wf.json.lock');
    await writeFile(lock, staleLock);
    const [a, b] = [await liveOwner(), await liveOwner()];
    try {
      const holdA = holdAt('stale');
      const holdB = holdAt('stale');
      const takeA = acquireLockAs(lock, a.owner, holdA.pause);
      const takeB = acquireLockAs(lock, b.owner, holdB.pause);
      await Promise.all([holdA.reached, holdB.reached]); // both have read the dead owner's lock
      holdA.go();
      await takeA;
      assert.equal(await lockOwnerPid(lock), a.owner.pid);
      holdB.go(); // B acts on what it read before A took over
      await assert.rejects(
        takeB,
        (e: Error & { code?: string }) => e.code === 'WORKFLOW_BUSY' && e.message.includes(String(a.owner.pid)),
      );
      assert.equal(await lockOwnerPid(lock), a.owner.pid, 'A still holds the lock');
      assert.deepEqual(
        (await readdir(dir)).filter((f) => f !== 'wf.json.lock'),
        [],
        'no claim or temp file left',
      );
    } finally {
      a.child.kill('SIGKILL');
      b.child.kill('SIGKILL');
    }
  });

  it('while one contender is replacing a stale lock, another is told the workflow is busy', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sp-lock-'));
    const lock = join(dir, 'wf.json.lock');
    await writeFile(lock, staleLock);
    const [a, b] = [await liveOwner(), await liveOwner()];
    try {
      const holdA = holdAt('claimed');
      const takeA = acquireLockAs(lock, a.owner, holdA.pause);
      await holdA.reached; // A has claimed the stale lock and not yet replaced it
      await assert.rejects(
        acquireLockAs(lock, b.owner),
        (e: Error & { code?: string }) => e.code === 'WORKFLOW_BUSY' && e.message.includes(String(a.owner.pid)),
      );
      holdA.go();
      await takeA;
      assert.equal(await lockOwnerPid(lock), a.owner.pid);
    } finally {
      a.child.kill('SIGKILL');
      b.child.kill('SIGKILL');
    }
  });

  it('a contender that died between claiming and replacing a stale lock does not block the next one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sp-lock-'));
    const lock = join(dir, 'wf.json.lock');
    await writeFile(lock, staleLock);
    const mod = repoPath('dist', 'src', 'workflow', 'workflow-lock.js');
    // The child claims the stale lock, then is killed before it replaces it (a crash at the worst moment).
    const script = `import(${JSON.stringify(mod)}).then((m) => m.acquireWorkflowLock(${JSON.stringify(lock)}, async (at) => { if (at === 'claimed') process.kill(process.pid, 'SIGKILL'); }))`;
    const crashed = spawn(process.execPath, ['-e', script], { stdio: 'inherit' });
    const signal = await new Promise((r) => crashed.once('exit', (_code, sig) => r(sig)));
    assert.equal(signal, 'SIGKILL');
    assert.equal((await readdir(dir)).filter((f) => f.includes('.takeover.')).length, 1, 'the dead claim is left');
    assert.equal(await readFile(lock, 'utf8'), staleLock, 'the stale lock was not replaced');
    const b = await liveOwner();
    try {
      await acquireLockAs(lock, b.owner);
      assert.equal(await lockOwnerPid(lock), b.owner.pid);
      assert.deepEqual(
        (await readdir(dir)).filter((f) => f !== 'wf.json.lock'),
        [],
        'the dead claim is cleaned up too',
      );
    } finally {
      b.child.kill('SIGKILL');
    }
  });
});
