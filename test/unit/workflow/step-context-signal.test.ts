import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCliLogger } from '../../../src/cli/logger.js';
import type { PlannedInlineStep } from '../../../src/workflow/update-plan.js';
import { StepRunner } from '../../../src/workflow/step-runner.js';

const planned = {
  path: '1.0',
  update: { updateId: { provider: 'p', name: 'n', version: '1' } },
  step: { handler: 'test/x:1', handlerProperties: {} },
  files: [],
  workFolder: '/tmp/none',
} as unknown as PlannedInlineStep;

describe('step contexts of parallel components', () => {
  it('each get a signal of their own that follows the workflow cancel, without a listener-leak warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const workflow = new AbortController();
    const runner = new StepRunner({
      workflowId: 'w',
      signal: workflow.signal,
      log: createCliLogger('error'),
      emit: () => {},
    });
    const contexts = Array.from({ length: 16 }, (_, i) =>
      runner.context(planned, {
        id: `c${i}`,
        name: `c${i}`,
        group: 'g',
        manufacturer: 'm',
        model: 'm',
        properties: {},
      }),
    );
    const aborted: unknown[] = [];
    // Two waits per component, as a handler's deadline and its cancel hook would add.
    for (const ctx of contexts)
      for (let k = 0; k < 2; k++) ctx.signal.addEventListener('abort', () => aborted.push(ctx.signal.reason));
    assert.equal(new Set(contexts.map((c) => c.signal)).size, 16);
    const reason = new Error('cancelled by the operator');
    workflow.abort(reason);
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    assert.equal(aborted.length, 32);
    assert.ok(aborted.every((r) => r === reason));
    assert.deepEqual(
      warnings.filter((w) => w === 'MaxListenersExceededWarning'),
      [],
    );
  });
});
