/**
 * Reported-property writes in order, surviving drops: a patch that cannot be sent stays queued
 * and is retried after a back-off and on every reconnect, so a terminal report is never lost to
 * a connection that happened to be down (`reference/iothub-emulator.md`, "Restarts and drops").
 */
import type { Logger } from '../model/logger.js';
import type { HubLink } from './hub-link.js';
import { errorSummary, LogThrottle } from './log-throttle.js';

export class Reporter {
  private readonly queue: Record<string, unknown>[] = [];
  private flushing: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly failureLog = new LogThrottle();

  /** @param retryMs back-off before re-trying a failed patch, ms (default 2000). */
  constructor(
    private readonly link: HubLink,
    private readonly log: Logger,
    private readonly retryMs = 2000,
  ) {}

  /** Queues `patch` and resolves once it is sent, or once sending failed and it stays queued. */
  send(patch: Record<string, unknown>): Promise<void> {
    this.queue.push(patch);
    return this.flush();
  }

  /** Sends what is queued, in order; stops at the first failure and schedules a retry. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Patches waiting to be sent. */
  get pending(): number {
    return this.queue.length;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      try {
        await this.link.reportPatch(this.queue[0]!);
        this.queue.shift();
        this.failureLog.reset();
      } catch (e) {
        const { log, suppressed } = this.failureLog.next();
        if (log)
          this.log.warn(
            {
              ...errorSummary(e),
              pending: this.queue.length,
              ...(suppressed > 0 && { failuresNotLogged: suppressed }),
            },
            'reported property patch not sent; will retry',
          );
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => void this.flush(), this.retryMs);
        this.retryTimer.unref();
        return;
      }
    }
  }
}
