import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoPath } from '../../../hw-fixtures/repo-root.js';
import { acquireWorkflowLock, releaseWorkflowLock } from '../../../src/workflow/workflow-lock.js';

const bootId = async () => (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
const startTime = async (pid: number) => {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
};

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
});
