import { deadline, type Clock } from '../clock.js';

interface Waiter {
  resolve(data: Uint8Array): void;
  reject(e: Error): void;
}

/**
 * Where an ISO-TP channel (user-space or kernel) hands complete messages and reception errors to
 * `receive` calls: messages nobody waits for are queued, and each `receive` waits its turn (oldest
 * first) until its deadline or abort, after which it is no longer in line.
 */
export class MessageInbox {
  private readonly queued: Uint8Array[] = [];
  private readonly waiters: Waiter[] = [];

  get hasQueued(): boolean {
    return this.queued.length > 0;
  }

  /** A complete message: to the oldest waiting receive, else queued. */
  deliver(msg: Uint8Array): void {
    const w = this.waiters.shift();
    if (w) w.resolve(msg);
    else this.queued.push(msg);
  }

  /** A reception error for the oldest waiting receive; false when none waits (the caller logs it). */
  failNext(e: Error): boolean {
    const w = this.waiters.shift();
    w?.reject(e);
    return w !== undefined;
  }

  /** Rejects every waiting receive (channel closed, interface down). */
  failAll(e: Error): void {
    for (const w of this.waiters.splice(0)) w.reject(e);
  }

  /** Drops the queued messages. */
  clear(): void {
    this.queued.length = 0;
  }

  /**
   * The oldest queued message, else the next one delivered within `us` µs of `clock` time: rejects
   * with `onTimeout()` on expiry, with CancelledError on abort, or with what `failNext`/`failAll` pass.
   */
  take(clock: Clock, us: number, onTimeout: () => Error, signal?: AbortSignal): Promise<Uint8Array> {
    const queued = this.queued.shift();
    if (queued) return Promise.resolve(queued);
    let waiter!: Waiter;
    const p = new Promise<Uint8Array>((resolve, reject) => {
      waiter = { resolve, reject };
      this.waiters.push(waiter);
    });
    const drop = () => {
      const i = this.waiters.indexOf(waiter);
      if (i >= 0) this.waiters.splice(i, 1);
    };
    return deadline(
      clock,
      p,
      us,
      () => {
        drop();
        return onTimeout();
      },
      signal,
    ).catch((e: unknown) => {
      drop();
      throw e;
    });
  }
}
