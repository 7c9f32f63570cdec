import type { WorkflowEvent } from '../model/events.js';
import { resultCodeName } from '../model/result-codes.js';

export { TtyRenderer } from './tty-renderer.js';

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
