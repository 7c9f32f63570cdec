import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AgentStateStore } from '../../../src/hub/agent-state.js';
import { WorkflowStateStore } from '../../../src/workflow/workflow-state.js';

const UPDATE = { provider: 'test', name: 'state', version: '1.0' };
const good = {
  version: 1,
  workflowId: 'wf',
  updateId: UPDATE,
  manifestSha256: 'abc',
  status: 'running',
  startedAt: '2026-12-05T00:00:00Z',
  attempts: 1,
  steps: { '0@host': { result: { resultCode: 700, extendedResultCode: 0 }, finishedAt: '2026-12-05T00:00:01Z' } },
};

async function storeWith(doc: unknown): Promise<{ store: WorkflowStateStore; dir: string }> {
  const stateDir = await mkdtemp(join(tmpdir(), 'sp-state-'));
  const dir = join(stateDir, 'workflows');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'wf.json'), typeof doc === 'string' ? doc : JSON.stringify(doc));
  return { store: new WorkflowStateStore(stateDir, 'wf'), dir };
}

describe('workflow state file: shape validated on load (issue 13 item 5)', () => {
  it('resumes a well-formed running state', async () => {
    const { store } = await storeWith(good);
    assert.equal(await store.begin(UPDATE, 'abc'), true);
    assert.equal(store.completedInPreviousRun('0@host')?.resultCode, 700);
    await store.suspend();
  });

  const wrong: Array<[string, unknown]> = [
    ['steps null', { ...good, steps: null }],
    ['steps an array', { ...good, steps: [] }],
    ['a step record without a result', { ...good, steps: { '0@host': { finishedAt: 'x' } } }],
    ['resultCode a string', { ...good, steps: { '0@host': { result: { resultCode: '700' }, finishedAt: 'x' } } }],
    ['attempts a string', { ...good, attempts: 'one' }],
    ['status unknown', { ...good, status: 'maybe' }],
    ['manifestSha256 missing', { ...good, manifestSha256: undefined }],
    ['the document an array', [1, 2]],
    ['the document null', 'null'],
  ];
  for (const [what, doc] of wrong) {
    it(`${what}: WORKFLOW_STATE_CORRUPT naming the file, never a TypeError`, async () => {
      const { store } = await storeWith(doc);
      await assert.rejects(store.begin(UPDATE, 'abc'), (e: any) => {
        assert.equal(e.code, 'WORKFLOW_STATE_CORRUPT', String(e));
        assert.ok(e.message.includes(store.file), e.message);
        assert.match(e.hint, /delete .*wf\.json/);
        return true;
      });
      await store.suspend();
    });
  }

  it('removes temp files a crash left behind mid-write', async () => {
    const { store, dir } = await storeWith(good);
    await writeFile(join(dir, '.wf.json.4242.1700000000000.tmp'), '{"version":1,"ste');
    await writeFile(join(dir, '.other.json.4242.1700000000000.tmp'), 'another workflow');
    await store.begin(UPDATE, 'abc');
    assert.deepEqual((await readdir(dir)).sort(), ['.other.json.4242.1700000000000.tmp', 'wf.json', 'wf.json.lock']);
    await store.suspend();
  });

  it('agent state: records of the wrong shape are dropped, crash temp files removed, never a TypeError', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'sp-agentstate-'));
    const dir = join(stateDir, 'hub');
    await mkdir(dir, { recursive: true });
    const ok = { workflow: { id: 'w1' }, status: 'finished', terminal: [], updatedAt: 'x' };
    await writeFile(
      join(dir, 'agent.json'),
      JSON.stringify({
        version: 1,
        deliveries: [null, { workflow: null, status: 'running' }, ok, { status: 'running' }],
      }),
    );
    await writeFile(join(dir, '.agent.json.77.1700000000000.tmp'), '{');
    const store = new AgentStateStore(stateDir);
    await store.load();
    assert.deepEqual(store.unfinished(), []);
    assert.equal(store.find('w1')?.status, 'finished');
    assert.deepEqual(await readdir(dir), ['agent.json']);
  });

  // Found by test/unit/property/state-files.test.ts: load() threw the SyntaxError, so the agent
  // could not start at all.
  it('agent state: a file that is not JSON is a start with no records (regression)', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'sp-agentstate-'));
    await mkdir(join(stateDir, 'hub'), { recursive: true });
    for (const text of ['', '{"version":1,"deliveries":[', 'garbage']) {
      await writeFile(join(stateDir, 'hub', 'agent.json'), text);
      const store = new AgentStateStore(stateDir);
      await store.load();
      assert.deepEqual(store.unfinished(), []);
    }
  });
});
