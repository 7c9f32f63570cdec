import { writeSync } from 'node:fs';
import type { Component } from '../model/component.js';
import type { WorkflowEvent } from '../model/events.js';
import { ResultCode, resultCodeName } from '../model/result-codes.js';
import { physicalPathOf } from '../workflow/physical-path.js';
import { interceptStderrLines } from './stderr-lines.js';

interface Row {
  name: string;
  bus: string;
  step: string;
  phase: string;
  done: number;
  total: number;
  /** Recent [ms, bytes] samples for the rate (last {@link RATE_WINDOW_MS}). */
  recent: Array<[number, number]>;
  firstSample?: [number, number];
  lastSample?: [number, number];
  state: 'pending' | 'running' | 'done' | 'skipped' | 'failed';
  result?: string;
}

/** The terminal's control sequences used here (ECMA-48 / DEC private modes). */
const CSI = '\x1b[';
const HIDE_CURSOR = `${CSI}?25l`;
const SHOW_CURSOR = `${CSI}?25h`;
const ERASE_LINE = `${CSI}2K`;
const ERASE_BELOW = `${CSI}J`;
const up = (n: number) => (n > 0 ? `${CSI}${n}A` : '');
const RATE_WINDOW_MS = 3000;
const REDRAW_MS = 100;

/**
 * Progress on a terminal (stderr is a TTY): one line per component (name, bus, phase, bar,
 * bytes, rate, ETA), redrawn in place at most 10 times a second.
 *
 * - Every line is cut to the terminal's width less one column, so nothing ever wraps and the
 *   block can be redrawn by moving the cursor up exactly its number of lines. Columns have fixed
 *   widths (the bar takes what is left, 10..40), so lines do not shift; on a narrow terminal the
 *   bus, then rate and ETA, then bytes, then the bar are left out.
 * - Each deployment (`update.started`) gets a heading and its own block; when it finishes its
 *   block stays on the screen as it ended and the next one is drawn below it.
 * - On a resize the block is redrawn for the new width; the lines already drawn are counted as
 *   the terminal reflows them.
 * - The cursor is hidden while the block is live and shown again when it ends, on Ctrl-C, and when
 *   the process exits however it exits (bar SIGKILL). No other terminal mode is touched.
 */
export class TtyRenderer {
  private rows = new Map<string, Row>();
  private names = new Map<string, { name: string; bus: string }>();
  /** Lengths of the lines of the live block as last drawn (cursor is below them). */
  private drawn: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private cursorHidden = false;
  private readonly onResize = () => this.redrawAfterResize();
  private readonly onExit = () => this.restoreTerminal(true);
  private readonly onSigint = () => {
    // main.ts prints its "cancelling" note: the block above stays as it was; draw anew below.
    this.drawn = [];
  };

  private readonly stopIntercepting: () => void;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly now: () => number = Date.now,
  ) {
    // Log lines (warnings) go above the block, which is then drawn again below them.
    this.stopIntercepting = interceptStderrLines((text) => this.above(text));
    out.on('resize', this.onResize);
    process.on('exit', this.onExit);
    process.on('SIGINT', this.onSigint);
  }

  /** Names and buses of the components to be flashed (the event only carries the id). */
  components(list: Component[]): void {
    for (const c of list) {
      const path = physicalPathOf(c)?.key ?? (typeof c.properties.bus === 'string' ? c.properties.bus : '');
      this.names.set(c.id, { name: c.name || c.id, bus: path });
    }
  }

  onEvent(ev: WorkflowEvent): void {
    if (ev.type === 'update.started') {
      this.endBlock();
      const u = ev.updateId;
      this.write(`${ERASE_LINE}update ${u.provider}/${u.name}/${u.version}\n`);
      return;
    }
    if (ev.type === 'update.finished') {
      this.endBlock();
      return;
    }
    if (!('step' in ev) || ev.type === 'components.selected') return;
    const id = ('componentId' in ev && ev.componentId) || 'host';
    const row = this.row(id, ev.step);
    const t = this.now();
    switch (ev.type) {
      case 'step.started':
        Object.assign(row, { step: ev.step, phase: 'start', state: 'running', done: 0, total: 0, recent: [] });
        delete row.firstSample;
        delete row.lastSample;
        delete row.result;
        break;
      case 'step.phase':
        row.phase = ev.phase;
        break;
      case 'transfer.progress':
        if (ev.phase && row.phase === 'start') row.phase = ev.phase;
        row.done = ev.bytesDone;
        row.total = ev.bytesTotal;
        row.firstSample ??= [t, ev.bytesDone];
        row.lastSample = [t, ev.bytesDone];
        row.recent.push([t, ev.bytesDone]);
        while (row.recent.length > 2 && t - row.recent[0]![0] > RATE_WINDOW_MS) row.recent.shift();
        break;
      case 'step.skipped':
        row.state = 'skipped';
        row.phase = ev.reason === 'installed' ? 'installed' : 'resumed';
        row.result = ev.reason === 'installed' ? 'already installed' : 'done in an earlier run';
        break;
      case 'step.finished':
        if (ev.result.resultCode > 0) {
          row.state = 'done';
          row.phase = 'done';
          if (row.total > 0) row.done = row.total;
        } else {
          row.state = 'failed';
          row.phase = ev.result.resultCode === ResultCode.FailureCancelled ? 'cancelled' : 'FAILED';
          row.result = `${ev.result.resultCode} ${resultCodeName(ev.result.resultCode)}`;
        }
        break;
    }
    this.schedule();
  }

  /** Draws the last state and gives the terminal back (cursor shown). */
  finish(): void {
    this.endBlock();
    this.stopIntercepting();
    this.out.off('resize', this.onResize);
    process.off('exit', this.onExit);
    process.off('SIGINT', this.onSigint);
    this.restoreTerminal(false);
  }

  private row(id: string, step: string): Row {
    let row = this.rows.get(id);
    if (!row) {
      const known = this.names.get(id);
      row = {
        name: known?.name ?? id,
        bus: known?.bus ?? '',
        step,
        phase: 'pending',
        done: 0,
        total: 0,
        recent: [],
        state: 'pending',
      };
      this.rows.set(id, row);
    }
    return row;
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, REDRAW_MS);
  }

  /** Final frame of the live block, which then stays on the screen as history. */
  private endBlock(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.rows.size > 0) this.draw();
    this.rows = new Map();
    this.drawn = [];
  }

  /** Prints `text` (whole lines) where the block is, and the block again below it. */
  private above(text: string): void {
    if (this.drawn.length === 0) return void this.write(text);
    this.write(`${up(this.drawn.length)}\r${ERASE_BELOW}${text}`);
    this.drawn = [];
    this.draw();
  }

  private redrawAfterResize(): void {
    if (this.drawn.length === 0) return;
    // Lines drawn at the old width take ceil(len / columns) rows once the terminal reflows them.
    const cols = this.columns();
    const physical = this.drawn.reduce((n, len) => n + Math.max(1, Math.ceil(len / cols)), 0);
    this.write(`${up(physical)}\r${ERASE_BELOW}`);
    this.drawn = [];
    this.draw();
  }

  private columns(): number {
    return Math.max(20, this.out.columns || 80);
  }

  private draw(): void {
    if (this.rows.size === 0) return;
    const cols = this.columns();
    const maxLines = Math.max(2, (this.out.rows || 24) - 2);
    const rows = [...this.rows.values()];
    const shown = rows.length > maxLines ? rows.slice(0, maxLines - 1) : rows;
    const lines = shown.map((r) => this.line(r, rows, cols - 1));
    if (shown.length < rows.length) {
      const rest = rows.slice(shown.length);
      const count = (s: Row['state']) => rest.filter((r) => r.state === s).length;
      lines.push(
        fit(
          `… ${rest.length} more: ${count('running')} running, ${count('done') + count('skipped')} done, ${count('failed')} failed`,
          cols - 1,
        ),
      );
    }
    if (!this.cursorHidden) {
      this.cursorHidden = true;
      this.write(HIDE_CURSOR);
    }
    const frame = up(this.drawn.length) + lines.map((l) => `\r${ERASE_LINE}${l}\n`).join('');
    this.write(frame);
    this.drawn = lines.map((l) => l.length);
  }

  /** One row, at most `width` characters, columns at fixed places for every row of the block. */
  private line(r: Row, all: Row[], width: number): string {
    const nameW = Math.min(24, Math.max(4, ...all.map((x) => x.name.length)));
    const busW = Math.min(22, Math.max(...all.map((x) => x.bus.length)));
    const PHASE = 10;
    const BYTES = 15;
    const RATE = 10;
    const ETA = 9;
    let show = { bus: busW > 0, rate: true, bytes: true, bar: true };
    const fixed = () =>
      nameW +
      1 +
      (show.bus ? busW + 1 : 0) +
      PHASE +
      1 +
      (show.bar ? 5 : 0) + // brackets, spaces
      5 + // " 100%"
      (show.bytes ? BYTES + 1 : 0) +
      (show.rate ? RATE + ETA + 2 : 0);
    if (fixed() + 10 > width) show = { ...show, bus: false };
    if (fixed() + 10 > width) show = { ...show, rate: false };
    if (fixed() + 10 > width) show = { ...show, bytes: false };
    if (fixed() + 6 > width) show = { ...show, bar: false };
    const barW = show.bar ? Math.max(4, Math.min(40, width - fixed())) : 0;

    const frac = r.total > 0 ? Math.min(1, r.done / r.total) : r.state === 'done' || r.state === 'skipped' ? 1 : 0;
    const parts = [fit(r.name, nameW).padEnd(nameW)];
    if (show.bus) parts.push(fit(r.bus, busW).padEnd(busW));
    parts.push(fit(r.phase, PHASE).padEnd(PHASE));
    if (show.bar) {
      const filled = Math.round(frac * barW);
      parts.push(`[${'#'.repeat(filled)}${'.'.repeat(barW - filled)}]`);
    }
    parts.push(`${Math.round(frac * 100)}%`.padStart(4));
    if (r.result && (r.state === 'failed' || r.state === 'skipped')) {
      parts.push(r.result);
    } else {
      if (show.bytes) parts.push((r.total > 0 ? `${fmtBytes(r.done)}/${fmtBytes(r.total)}` : '').padStart(BYTES));
      if (show.rate) {
        const rate = this.rate(r);
        parts.push((rate > 0 ? `${fmtBytes(rate)}/s` : '').padStart(RATE));
        const eta = r.state === 'running' && rate > 0 && r.total > r.done ? (r.total - r.done) / rate : undefined;
        parts.push((eta !== undefined ? `ETA ${fmtDuration(eta)}` : '').padStart(ETA));
      }
    }
    return fit(parts.join(' ').trimEnd(), width);
  }

  /** Bytes per second: over the last few seconds while running, over the whole transfer after. */
  private rate(r: Row): number {
    const span = (a: [number, number] | undefined, b: [number, number] | undefined) =>
      a && b && b[0] > a[0] ? ((b[1] - a[1]) * 1000) / (b[0] - a[0]) : 0;
    return r.state === 'running' ? span(r.recent[0], r.recent.at(-1)) : span(r.firstSample, r.lastSample);
  }

  /** Shows the cursor again if it was hidden; `sync` for the process 'exit' event. */
  private restoreTerminal(sync: boolean): void {
    if (!this.cursorHidden) return;
    this.cursorHidden = false;
    if (sync) {
      try {
        writeSync((this.out as { fd?: number }).fd ?? 2, SHOW_CURSOR);
      } catch {
        // the terminal is gone: nothing to restore
      }
    } else this.write(SHOW_CURSOR);
  }

  private write(s: string): void {
    this.out.write(s);
  }
}

function fit(s: string, width: number): string {
  return s.length > width ? (width > 1 ? s.slice(0, width - 1) + '…' : s.slice(0, width)) : s;
}

function fmtBytes(n: number): string {
  return n >= 1 << 20
    ? `${(n / (1 << 20)).toFixed(1)}M`
    : n >= 1024
      ? `${(n / 1024).toFixed(1)}K`
      : `${Math.round(n)}B`;
}

function fmtDuration(s: number): string {
  const t = Math.ceil(s);
  return t >= 3600
    ? `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}`
    : `${Math.floor(t / 60)}:${String(t % 60).padStart(2, '0')}`;
}
