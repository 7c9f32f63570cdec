import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { PlainRenderer, TtyRenderer } from '../../../src/cli/progress-renderer.js';
import type { WorkflowEvent } from '../../../src/model/events.js';

const events: WorkflowEvent[] = [
  {
    type: 'update.started',
    workflowId: 'w',
    updateId: { provider: 'p', name: 'n', version: '1.0' },
    steps: 1,
    dryRun: false,
  },
  { type: 'components.selected', step: '0', selector: { group: 'cameras' }, componentIds: ['cam0'] },
  { type: 'step.started', step: '0.0', handler: 'sensor-proxy/smp:1', componentId: 'cam0' },
  ...Array.from({ length: 11 }, (_, i): WorkflowEvent => ({
    type: 'transfer.progress',
    step: '0.0',
    componentId: 'cam0',
    bytesDone: i * 1000,
    bytesTotal: 10000,
    phase: 'upload',
  })),
  {
    type: 'step.finished',
    step: '0.0',
    handler: 'sensor-proxy/smp:1',
    componentId: 'cam0',
    result: { resultCode: 700, extendedResultCode: 0 },
  },
];

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

describe('progress renderers', () => {
  it('plain: one line per state change and per 10% of a transfer', () => {
    const out = capture();
    const r = new PlainRenderer(out.stream);
    events.forEach((e) => r.onEvent(e));
    const lines = out.text().trim().split('\n');
    assert.equal(lines.filter((l) => l.includes('upload')).length, 11);
    assert.match(lines[1]!, /\{"group":"cameras"\} selects cam0/);
    assert.match(lines.at(-1)!, /step 0\.0 \[cam0\]: done \(700 ApplySuccess\)/);
  });

  it('tty: redraws one bar per step x component, ending at 100% done', () => {
    const out = capture();
    const r = new TtyRenderer(out.stream as unknown as NodeJS.WriteStream);
    events.forEach((e) => r.onEvent(e));
    r.finish();
    const last = out.text().split('\n').filter(Boolean).at(-1)!;
    assert.match(last, /cam0\s+step 0\.0 \[#{24}\] 100% done 9\.8K\/9\.8K/);
  });
});
