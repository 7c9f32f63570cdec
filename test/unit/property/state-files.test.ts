/**
 * Property-based tests of the state file parsers (issue 13 "Done when"): the workflow state
 * (`<stateDir>/workflows/<id>.json`) and the agent's `hub/agent.json`. Any content on disk ends in
 * a resumed or fresh run, or in WORKFLOW_STATE_CORRUPT naming the file: never a TypeError.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { AgentStateStore } from '../../../src/hub/agent-state.js';
import { readWorkflowState, stateShapeProblem, type WorkflowStateDoc } from '../../../src/workflow/workflow-state.js';
import { check, checkAsync, codedOnlyAsync } from './property-helpers.js';

const UPDATE = { provider: 'p', name: 'n', version: '1.0' };
const result = fc.record(
  { resultCode: fc.integer({ min: -1, max: 1000 }), extendedResultCode: fc.integer({ min: 0, max: 0xffffffff }) },
  { noNullPrototype: true },
);
/** A well-formed version-1 workflow state, as the store writes it. */
const stateDocArb = fc.record(
  {
    version: fc.constant(1),
    workflowId: fc.constant('wf'),
    updateId: fc.constant(UPDATE),
    manifestSha256: fc.constantFrom('abc', 'def'),
    status: fc.constantFrom('running', 'succeeded', 'failed', 'cancelled'),
    startedAt: fc.constant('2026-12-05T00:00:00Z'),
    attempts: fc.integer({ min: 1, max: 50 }),
    steps: fc.dictionary(
      fc.string({ minLength: 1, maxLength: 12 }),
      fc.record({ result, finishedAt: fc.constant('2026-12-05T00:00:01Z') }, { noNullPrototype: true }),
      { maxKeys: 5, noNullPrototype: true },
    ),
  },
  { noNullPrototype: true },
);

/** `doc` with one top-level or step-level value replaced by any JSON value, or deleted. */
const mutatedStateArb = fc
  .tuple(stateDocArb, fc.nat(), fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined)))
  .map(([doc, pick, value]) => {
    const copy = structuredClone(doc) as Record<string, any>;
    const stepKeys = Object.keys(copy.steps as object);
    const targets: [Record<string, any>, string][] = [
      ...Object.keys(copy).map((k) => [copy, k] as [Record<string, any>, string]),
      ...stepKeys.map((k) => [copy.steps, k] as [Record<string, any>, string]),
      ...stepKeys.map((k) => [copy.steps[k], 'result'] as [Record<string, any>, string]),
      ...stepKeys.map((k) => [copy.steps[k].result, 'resultCode'] as [Record<string, any>, string]),
    ];
    const [obj, key] = targets[pick % targets.length]!;
    if (value === undefined) delete obj[key];
    else obj[key] = value;
    return copy;
  });

describe('property: workflow state shape check', () => {
  it('never throws; when it passes, every step record has an integer resultCode', () => {
    check(
      fc.property(
        fc.oneof(mutatedStateArb, fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })),
        (doc) => {
          const problem = stateShapeProblem(doc);
          if (problem !== undefined) {
            assert.equal(typeof problem, 'string');
            return;
          }
          for (const rec of Object.values(doc.steps as Record<string, { result: { resultCode: unknown } }>))
            assert.ok(Number.isInteger(rec.result.resultCode));
        },
      ),
    );
  });

  it('accepts every well-formed state', () => {
    check(fc.property(stateDocArb, (doc) => assert.equal(stateShapeProblem(doc), undefined)));
  });
});

describe('property: state files on disk', () => {
  // tmpfs where there is one: the store fsyncs every write.
  let root: string;
  before(async () => {
    root = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'sp-state-prop-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  const textArb = fc.oneof(
    mutatedStateArb.map((d) => JSON.stringify(d)),
    stateDocArb.map((d) => JSON.stringify(d)),
    fc.json({ maxDepth: 2 }),
    fc.string({ maxLength: 100 }),
    fc.tuple(mutatedStateArb, fc.nat()).map(([d, cut]) => {
      const t = JSON.stringify(d);
      return t.slice(0, cut % (t.length + 1)); // a torn write, as if atomic writes had failed
    }),
  );

  it('any workflow state file: a state to resume, a fresh start, or WORKFLOW_STATE_CORRUPT naming the file', async () => {
    const file = join(root, 'wf.json');
    await checkAsync(
      fc.asyncProperty(textArb, async (text) => {
        await writeFile(file, text);
        let doc: WorkflowStateDoc | undefined;
        try {
          doc = await readWorkflowState(file);
        } catch (e) {
          await codedOnlyAsync(() => Promise.reject(e), ['WORKFLOW_STATE_CORRUPT']);
          assert.match((e as Error).message, new RegExp(`^workflow state ${file} is unreadable: `));
          return;
        }
        if (doc === undefined) return; // another version: a fresh start
        assert.equal(doc.version, 1);
        assert.equal(stateShapeProblem(doc as unknown as Record<string, unknown>), undefined);
      }),
    );
  });

  it('any hub/agent.json: the agent starts (records of the wrong shape, or an unreadable file, are dropped)', async () => {
    const stateDir = join(root, 'agent');
    await mkdir(join(stateDir, 'hub'), { recursive: true });
    const file = join(stateDir, 'hub', 'agent.json');
    const deliveries = fc.array(
      fc.oneof(
        fc.jsonValue({ maxDepth: 2 }),
        fc.record(
          {
            workflow: fc.record({ id: fc.string({ maxLength: 8 }), action: fc.constant(3) }),
            status: fc.constantFrom('running', 'finished', 'x'),
            updatedAt: fc.constant('2026-12-05T00:00:00Z'),
          },
          { noNullPrototype: true },
        ),
      ),
      { maxLength: 4 },
    );
    const agentText = fc.oneof(
      deliveries.map((d) => JSON.stringify({ version: 1, deliveries: d })),
      fc.json({ maxDepth: 2 }),
      fc.string({ maxLength: 60 }),
    );
    await checkAsync(
      fc.asyncProperty(agentText, async (text) => {
        await writeFile(file, text);
        const store = new AgentStateStore(stateDir);
        await store.load();
        for (const d of store.unfinished()) assert.equal(typeof d.workflow.id, 'string');
      }),
    );
  });
});
