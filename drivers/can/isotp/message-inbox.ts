import { CancelledError } from '../../shared/errors.js';
import type { Clock } from '../clock.js';

interface Waiter {
  resolve(data: Uint8Array): void;
  reject(e: Error): void;
  /** Clock time (µs) at which `onTimeout` rejects it; Infinity = never. */
  at: number;
  onTimeout: () => Error;
  /** At the deadline: µs more to wait (e.g. the request is still being transmitted), 0 = expire now. */
  extend: (() => number) | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * Where an ISO-TP channel (user-space or kernel) hands complete messages and reception errors to
 * `receive` calls: messages nobody waits for are queued, and each `receive` waits its turn (oldest
 * first) until its deadline or abort, after which it is no longer in line.
 *
 * Deadlines share one lazily armed timer (issue 16: no timer created and cleared per request): it is
 * armed for the earliest deadline when none is armed earlier, and when it fires it rejects what has
 * expired and re-arms for the next deadline still waiting. A request/response loop whose answers come
 * well within the timeout thus re-arms it about once per timeout, not once per message. The timer
 * is cancelled when nobody waits any more at the time it fires, and by {@link failAll}.
 */
export class MessageInbox {
  private readonly queued: Uint8Array[] = [];
  private readonly waiters: Waiter[] = [];
  private clock: Clock | undefined;
  private timerAt = Infinity;
  private cancelTimer: (() => void) | undefined;

  get hasQueued(): boolean {
    return this.queued.length > 0;
  }

  /** A complete message: to the oldest waiting receive, else queued. */
  deliver(msg: Uint8Array): void {
    const w = this.waiters.shift();
    if (!w) {
      this.queued.push(msg);
      return;
    }
    if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
    w.resolve(msg);
  }

  /** A reception error for the oldest waiting receive; false when none waits (the caller logs it). */
  failNext(e: Error): boolean {
    const w = this.waiters.shift();
    if (!w) return false;
    if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
    w.reject(e);
    return true;
  }

  /** Rejects every waiting receive (channel closed, interface down) and stops the timer. */
  failAll(e: Error): void {
    for (const w of this.waiters.splice(0)) {
      if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
      w.reject(e);
    }
    this.disarm();
  }

  /** Drops the queued messages. */
  clear(): void {
    this.queued.length = 0;
  }

  /**
   * The oldest queued message, else the next one delivered within `us` µs of `clock` time: rejects
   * with `onTimeout()` on expiry, with CancelledError on abort, or with what `failNext`/`failAll` pass.
   * `extend`, asked at the deadline, may return µs more to wait.
   */
  take(
    clock: Clock,
    us: number,
    onTimeout: () => Error,
    signal?: AbortSignal,
    extend?: () => number,
  ): Promise<Uint8Array> {
    const queued = this.queued.shift();
    if (queued) return Promise.resolve(queued);
    if (signal?.aborted) return Promise.reject(new CancelledError(signal.reason));
    return new Promise<Uint8Array>((resolve, reject) => {
      const w: Waiter = { resolve, reject, at: clock.now() + us, onTimeout, extend, signal, onAbort: undefined };
      if (signal) {
        w.onAbort = () => {
          this.remove(w);
          reject(new CancelledError(signal.reason));
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.waiters.push(w);
      this.arm(clock, w.at);
    });
  }

  private remove(w: Waiter): void {
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  /** Makes sure the timer fires no later than `at` (an earlier armed timer re-arms when it fires). */
  private arm(clock: Clock, at: number): void {
    if (at >= this.timerAt && clock === this.clock) return;
    this.disarm();
    if (at === Infinity) return;
    this.clock = clock;
    this.timerAt = at;
    this.cancelTimer = clock.schedule(at - clock.now(), () => this.onTimer());
  }

  private disarm(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.timerAt = Infinity;
  }

  private onTimer(): void {
    const clock = this.clock!;
    this.cancelTimer = undefined;
    this.timerAt = Infinity;
    const now = clock.now();
    let next = Infinity;
    for (let i = 0; i < this.waiters.length;) {
      const w = this.waiters[i]!;
      const more = w.at <= now && w.extend ? w.extend() : 0;
      if (more > 0) w.at = now + more;
      if (w.at <= now) {
        this.waiters.splice(i, 1);
        if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
        w.reject(w.onTimeout());
      } else {
        if (w.at < next) next = w.at;
        i++;
      }
    }
    if (next !== Infinity) this.arm(clock, next);
  }
}
