import type { WorkflowEvent } from '../model/events.js';
import { resultCodeName } from '../model/result-codes.js';

interface Row {
  label: string;
  status: string;
  done: number;
  total: number;
}

const BAR = 24;

/**
 * Progress on a terminal: one line per step × component, redrawn in place (throttled to 10 Hz)
 * on stderr. Used only when stderr is a TTY and not in CI; otherwise {@link PlainRenderer}.
 */
export class TtyRenderer {
  private readonly rows = new Map<string, Row>();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  onEvent(ev: WorkflowEvent): void {
    const key = 'step' in ev ? `${ev.step}@${'componentId' in ev ? (ev.componentId ?? 'host') : 'host'}` : undefined;
    const label = key
      ? `${'componentId' in ev && ev.componentId ? ev.componentId : 'host'}  step ${'step' in ev ? ev.step : ''}`
      : '';
    const row = key ? (this.rows.get(key) ?? { label, status: 'pending', done: 0, total: 0 }) : undefined;
    switch (ev.type) {
      case 'step.started':
        row!.status = 'running';
        break;
      case 'step.phase':
        row!.status = ev.phase;
        break;
      case 'transfer.progress':
        Object.assign(row!, { status: ev.phase ?? 'transfer', done: ev.bytesDone, total: ev.bytesTotal });
        break;
      case 'step.skipped':
        row!.status = ev.reason === 'installed' ? 'already installed' : 'done earlier (resumed)';
        break;
      case 'step.finished':
        row!.status = ev.result.resultCode > 0 ? 'done' : `FAILED ${resultCodeName(ev.result.resultCode)}`;
        if (ev.result.resultCode > 0 && row!.total > 0) row!.done = row!.total;
        break;
      default:
        return;
    }
    this.rows.set(key!, row!);
    this.schedule();
  }

  finish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.draw();
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, 100);
  }

  private draw(): void {
    if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}A`);
    const width = Math.max(...[...this.rows.values()].map((r) => r.label.length), 10);
    for (const r of this.rows.values()) {
      const frac =
        r.total > 0 ? Math.min(1, r.done / r.total) : r.status === 'done' || r.status === 'already installed' ? 1 : 0;
      const filled = Math.round(frac * BAR);
      const pct = `${Math.round(frac * 100)}`.padStart(3);
      const bytes = r.total > 0 ? ` ${fmtBytes(r.done)}/${fmtBytes(r.total)}` : '';
      this.out.write(
        `\x1b[2K${r.label.padEnd(width)} [${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${pct}% ${r.status}${bytes}\n`,
      );
    }
    this.drawn = this.rows.size;
  }
}

/** Append-only lines for logs and pipes: one line per state change, progress every 10%. */
export class PlainRenderer {
  private readonly lastDecile = new Map<string, number>();
  constructor(private readonly out: NodeJS.WritableStream = process.stderr) {}

  onEvent(ev: WorkflowEvent): void {
    const who = 'componentId' in ev && ev.componentId ? ev.componentId : 'host';
    switch (ev.type) {
      case 'update.started':
        return this.line(
          `update ${ev.updateId.provider}/${ev.updateId.name}/${ev.updateId.version}: ${ev.steps} step(s)`,
        );
      case 'components.selected':
        return this.line(
          `step ${ev.step}: ${JSON.stringify(ev.selector)} selects ${ev.componentIds.length ? ev.componentIds.join(', ') : 'no components'}`,
        );
      case 'step.started':
        return this.line(
          `step ${ev.step} [${who}] ${ev.handler}: started${ev.description ? ` (${ev.description})` : ''}`,
        );
      case 'step.skipped':
        return this.line(
          `step ${ev.step} [${who}]: skipped (${ev.reason === 'installed' ? 'already installed' : 'completed in an interrupted run'})`,
        );
      case 'transfer.progress': {
        const key = `${ev.step}@${who}`;
        const decile = ev.bytesTotal > 0 ? Math.floor((ev.bytesDone / ev.bytesTotal) * 10) : 0;
        if (decile === this.lastDecile.get(key)) return;
        this.lastDecile.set(key, decile);
        return this.line(
          `step ${ev.step} [${who}]: ${ev.phase ?? 'transfer'} ${ev.bytesDone}/${ev.bytesTotal} bytes (${decile * 10}%)`,
        );
      }
      case 'step.phase':
        return this.line(`step ${ev.step} [${who}]: ${ev.phase}`);
      case 'step.finished':
        return this.line(
          `step ${ev.step} [${who}]: ${ev.result.resultCode > 0 ? 'done' : 'FAILED'} (${ev.result.resultCode} ${resultCodeName(ev.result.resultCode)}${ev.result.resultDetails ? `: ${ev.result.resultDetails}` : ''})`,
        );
      case 'update.finished':
        return;
    }
  }

  finish(): void {}

  private line(s: string): void {
    this.out.write(s + '\n');
  }
}

function fmtBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)}M` : n >= 1024 ? `${(n / 1024).toFixed(1)}K` : `${n}B`;
}
