import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import {
  MAX_PHASES,
  MAX_RUNS,
  MAX_SAMPLES,
  TimelineRecorder,
  type TimelineDoc,
} from '../../../src/workflow/timeline.js';

const log = pino({ level: 'silent' });
const ok = { resultCode: 700, extendedResultCode: 0 };

describe('deployment timeline (evidence bundle)', () => {
  it('records phases and progress per step × component with times, and stays bounded', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'timeline-')), 'timelines', 'wf.json');
    let now = 1_000_000;
    const rec = new TimelineRecorder(file, 'wf', log, () => now);
    await rec.begin();
    const seen: string[] = [];
    const emit = rec.wrap((e) => seen.push(e.type));
    emit({ type: 'step.started', step: '0.0', handler: 'sensor-proxy/smp:1', componentId: 'a' });
    emit({
      type: 'step.skipped',
      step: '0.0',
      handler: 'h',
      componentId: 'b',
      reason: 'installed',
      result: { resultCode: 603, extendedResultCode: 0 },
    });
    const total = 10_000_000;
    for (let i = 0; i <= 5000; i++) {
      now += 10;
      emit({
        type: 'transfer.progress',
        step: '0.0',
        componentId: 'a',
        bytesDone: i * 2000,
        bytesTotal: total,
        phase: i % 97 === 0 ? `p${i}` : 'transfer',
      });
    }
    now += 500;
    emit({ type: 'step.finished', step: '0.0', handler: 'sensor-proxy/smp:1', componentId: 'a', result: ok });
    emit({ type: 'update.finished', workflowId: 'wf', succeeded: true });
    await rec.flush();
    assert.equal(seen.length, 5005, 'every event passed on');
    const doc = JSON.parse(await readFile(file, 'utf8')) as TimelineDoc;
    const [run] = doc.runs;
    assert.equal(run!.succeeded, true);
    const a = run!.rows.find((r) => r.componentId === 'a')!;
    assert.equal(a.start, 0);
    assert.equal(a.end, 50_010 + 500);
    assert.equal(a.outcome, 'installed');
    assert.ok(a.samples.length <= MAX_SAMPLES && a.samples.length >= MAX_SAMPLES / 2, `${a.samples.length} samples`);
    assert.deepEqual(a.samples.at(-1), [a.end, total], 'ends at the whole image when the step succeeded');
    for (let i = 1; i < a.samples.length; i++) assert.ok(a.samples[i]![0] > a.samples[i - 1]![0], 'times increase');
    assert.ok(a.phases.length <= MAX_PHASES);
    assert.equal(a.phases[0]![1], 'p0', 'the first phase is kept');
    const b = run!.rows.find((r) => r.componentId === 'b')!;
    assert.equal(b.outcome, 'skipped');
    assert.equal(b.result?.resultCode, 603);
  });

  it('keeps the last runs of a workflow, the newest last', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'timeline-')), 'wf.json');
    for (let i = 0; i < MAX_RUNS + 2; i++) {
      const rec = new TimelineRecorder(file, 'wf', log);
      await rec.begin();
      rec.onEvent({ type: 'step.started', step: String(i), handler: 'h' });
      await rec.flush();
    }
    const doc = JSON.parse(await readFile(file, 'utf8')) as TimelineDoc;
    assert.equal(doc.runs.length, MAX_RUNS);
    assert.equal(doc.runs.at(-1)!.rows[0]!.step, String(MAX_RUNS + 1));
  });
});
