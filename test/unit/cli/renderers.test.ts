import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { PlainRenderer, TtyRenderer } from '../../../src/cli/progress-renderer.js';
import { createCliLogger } from '../../../src/cli/logger.js';
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

  it('tty: one line per component with phase, bar and bytes, ending at 100% done', () => {
    const term = new MiniTerminal(100, 24);
    const r = new TtyRenderer(term as unknown as NodeJS.WriteStream);
    events.forEach((e) => r.onEvent(e));
    r.finish();
    const screen = term.lines();
    assert.equal(screen[0], 'update p/n/1.0');
    assert.match(screen[1]!, /^cam0 +done +\[#+\] 100% +9\.8K\/9\.8K/);
    assert.equal(screen.length, 2, screen.join('\n'));
    assert.equal(term.cursorVisible, true, 'cursor shown again');
  });

  it('tty: several deployments in one run each keep their own block', () => {
    const term = new MiniTerminal(100, 24);
    const r = new TtyRenderer(term as unknown as NodeJS.WriteStream);
    const second = events.map((e): WorkflowEvent =>
      e.type === 'update.started' ? { ...e, updateId: { provider: 'p', name: 'second', version: '2.0' } } : e,
    );
    for (const e of [...events, { type: 'update.finished', workflowId: 'w', succeeded: true } as const, ...second])
      r.onEvent(e);
    r.finish();
    const screen = term.lines();
    assert.deepEqual(
      screen.map((l) => l.split(' ')[0]),
      ['update', 'cam0', 'update', 'cam0'],
      screen.join('\n'),
    );
    assert.equal(screen[2], 'update p/second/2.0');
  });

  it('tty: stable columns, and no line wider than the terminal however narrow', () => {
    for (const cols of [120, 80, 60, 40, 24]) {
      const term = new MiniTerminal(cols, 24);
      const r = new TtyRenderer(term as unknown as NodeJS.WriteStream);
      r.onEvent(events[0]!);
      const names = ['a-rather-long-sensor-name-0', 'b'];
      for (const id of names) r.onEvent({ type: 'step.started', step: '0.0', handler: 'h', componentId: id });
      r.onEvent({ type: 'step.phase', step: '0.0', componentId: 'b', phase: 'erase' });
      for (let i = 0; i <= 10; i++)
        for (const id of names)
          r.onEvent({
            type: 'transfer.progress',
            step: '0.0',
            componentId: id,
            bytesDone: i * 100_000,
            bytesTotal: 1_000_000,
          });
      r.finish();
      assert.ok(term.maxWritten < cols, `${cols} columns: widest line ${term.maxWritten}`);
      const rows = term.lines().slice(1);
      assert.equal(rows.length, 2, term.lines().join('\n'));
      if (cols >= 60) assert.equal(rows[0]!.indexOf('['), rows[1]!.indexOf('['), `bars aligned at ${cols}`);
    }
  });

  it('tty: a log line while the block is live goes above it; the block stays whole below', () => {
    const term = new MiniTerminal(100, 24);
    const r = new TtyRenderer(term as unknown as NodeJS.WriteStream);
    const log = createCliLogger('warn', { pretty: false });
    r.onEvent(events[0]!);
    r.onEvent({ type: 'step.started', step: '0.0', handler: 'h', componentId: 'cam0' });
    r.onEvent({ type: 'step.started', step: '0.0', handler: 'h', componentId: 'cam1' });
    r.finish(); // draws; a new renderer picks the block up below
    const r2 = new TtyRenderer(term as unknown as NodeJS.WriteStream);
    r2.onEvent({ type: 'step.started', step: '0.1', handler: 'h', componentId: 'cam0' });
    r2.onEvent({ type: 'step.started', step: '0.1', handler: 'h', componentId: 'cam1' });
    (r2 as unknown as { draw(): void }).draw();
    log.warn('device slow to answer');
    r2.onEvent({ type: 'step.phase', step: '0.1', componentId: 'cam1', phase: 'erase' });
    r2.finish();
    const screen = term.lines();
    const at = screen.findIndex((l) => l.includes('device slow to answer'));
    assert.ok(at > 0, screen.join('\n'));
    assert.deepEqual(
      screen.slice(at + 1).map((l) => l.split(/ +/).slice(0, 2).join(' ')),
      ['cam0 start', 'cam1 erase'],
      screen.join('\n'),
    );
  });

  it('tty: more components than the terminal has rows: a summary line, the block still fits', () => {
    const term = new MiniTerminal(80, 8);
    const r = new TtyRenderer(term as unknown as NodeJS.WriteStream);
    r.onEvent(events[0]!);
    for (let i = 0; i < 12; i++)
      r.onEvent({ type: 'step.started', step: '0.0', handler: 'h', componentId: `ecu-${i}` });
    r.finish();
    const screen = term.lines();
    assert.ok(screen.length <= 8, screen.join('\n'));
    assert.match(screen.at(-1)!, /… 7 more: 7 running, 0 done, 0 failed/);
  });
});

/**
 * Just enough of a VT100 to replay what the renderer writes: text, CR, LF (scrolling), cursor up
 * (CSI n A), erase line (CSI 2K), erase below (CSI J), cursor show/hide (CSI ?25h/l).
 */
class MiniTerminal {
  private screen: string[] = [''];
  private y = 0;
  private x = 0;
  cursorVisible = true;
  maxWritten = 0;
  readonly fd = -1;
  constructor(
    readonly columns: number,
    readonly rows: number,
  ) {}
  on(): this {
    return this;
  }
  off(): this {
    return this;
  }
  write(s: string): boolean {
    // eslint-disable-next-line no-control-regex -- the escape sequences are what this terminal parses
    const re = /\x1b\[(\??)(\d*)([A-Za-z])|\r|\n|[^\x1b\r\n]+/g;
    for (const m of s.matchAll(re)) {
      const t = m[0];
      if (t === '\r') this.x = 0;
      else if (t === '\n') {
        this.y++;
        this.x = 0;
        while (this.screen.length <= this.y) this.screen.push('');
      } else if (m[3]) {
        const n = Number(m[2] || '1');
        if (m[1] === '?' && n === 25) this.cursorVisible = m[3] === 'h';
        else if (m[3] === 'A') this.y = Math.max(0, this.y - n);
        else if (m[3] === 'K') this.screen[this.y] = '';
        else if (m[3] === 'J')
          this.screen = this.screen.slice(0, this.y + 1).map((l, i) => (i === this.y ? l.slice(0, this.x) : l));
      } else {
        const line = this.screen[this.y]!.padEnd(this.x);
        this.screen[this.y] = line.slice(0, this.x) + t + line.slice(this.x + t.length);
        this.x += t.length;
        this.maxWritten = Math.max(this.maxWritten, this.x);
      }
    }
    return true;
  }
  lines(): string[] {
    return this.screen.map((l) => l.trimEnd()).filter((l) => l !== '');
  }
}
