/**
 * Keeps a repeating failure from flooding the log while the hub is away: the first `burst`
 * occurrences are logged, then at most one per `intervalMs` (with how many were left out).
 * `reset()` after a success starts the burst again.
 */
export class LogThrottle {
  private count = 0;
  private suppressed = 0;
  private lastLoggedAt = -Infinity;

  constructor(
    private readonly burst = 5,
    private readonly intervalMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one occurrence; returns whether to log it and how many were suppressed since the last logged one. */
  next(): { log: boolean; suppressed: number } {
    this.count++;
    const t = this.now();
    if (this.count <= this.burst || t - this.lastLoggedAt >= this.intervalMs) {
      const suppressed = this.suppressed;
      this.suppressed = 0;
      this.lastLoggedAt = t;
      return { log: true, suppressed };
    }
    this.suppressed++;
    return { log: false, suppressed: this.suppressed };
  }

  reset(): void {
    this.count = 0;
    this.suppressed = 0;
    this.lastLoggedAt = -Infinity;
  }
}

/** The part of an error worth a log line when the error is expected (a network drop): no stack trace. */
export function errorSummary(e: unknown): { error: string; code?: string } {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' ? { error: e.message, code } : { error: e.message };
  }
  return { error: String(e) };
}
