import type { Clock } from '../../drivers/can/clock.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A virtual {@link Clock} for unit tests (style anchors §5: no real sleeps): time stands still while
 * anything is still happening (promises, microtasks, I/O callbacks), and jumps to the earliest timer
 * once the event loop has been idle for `idleTurns` consecutive `setImmediate` turns. Protocol
 * timeouts of seconds thus take microseconds, and ordering is exactly that of the deadlines.
 *
 * Caveat: real asynchronous work that outlasts the idle turns (large file reads) lets virtual time
 * advance meanwhile, as it would on a slow machine.
 */
export class VirtualClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly timers: Timer[] = [];
  private pumping = false;
  private idle = 0;

  constructor(private readonly idleTurns = 4) {}

  now(): number {
    return this.t;
  }

  /** Virtual µs elapsed since creation. */
  get elapsedUs(): number {
    return this.t;
  }

  schedule(us: number, fn: () => void): () => void {
    if (!Number.isFinite(us)) return () => {};
    const timer: Timer = { at: this.t + Math.max(0, us), seq: this.seq++, fn };
    this.timers.push(timer);
    this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    this.idle = 0;
    this.pump();
    return () => {
      const i = this.timers.indexOf(timer);
      if (i >= 0) this.timers.splice(i, 1);
    };
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    const turn = () => {
      if (this.timers.length === 0) {
        this.pumping = false;
        return;
      }
      if (++this.idle < this.idleTurns) {
        setImmediate(turn);
        return;
      }
      this.idle = 0;
      const next = this.timers.shift()!;
      this.t = Math.max(this.t, next.at);
      next.fn();
      setImmediate(turn);
    };
    setImmediate(turn);
  }
}
