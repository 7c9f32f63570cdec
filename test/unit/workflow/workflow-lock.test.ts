import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { acquireWorkflowLock, releaseWorkflowLock } from '../../../src/workflow/workflow-lock.js';

describe('workflow lock', () => {
  it('refuses a workflow another live process runs, takes over a dead owner, and is reentrant for its owner', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sp-lock-'));
    const lock = join(dir, 'wf.json.lock');
    const other = spawn('sleep', ['30']);
    try {
      await writeFile(lock, `${other.pid}\n`);
      await assert.rejects(acquireWorkflowLock(lock), (e: Error & { code?: string }) => e.code === 'WORKFLOW_BUSY' && e.message.includes(String(other.pid)));
    } finally {
      other.kill('SIGKILL');
      await new Promise((r) => other.once('exit', r));
    }
    await acquireWorkflowLock(lock); // the owner died: stale lock taken over
    await acquireWorkflowLock(lock); // same process again
    await releaseWorkflowLock(lock);
    assert.equal(existsSync(lock), false);
  });
});
