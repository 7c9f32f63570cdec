import { BusError, CancelledError } from '../shared/errors.js';

interface Waiter {
  n: number;
  exact: boolean;
  resolve(data: Uint8Array): void;
  reject(err: Error): void;
  cleanup(): void;
}

/**
 * Bytes received but not yet read, plus the reads waiting for them (FIFO). Shared by every
 * {@link SerialLink} backend (real port, in-memory pair) so they honour one contract: a timed-out
 * or aborted read consumes nothing; after `fail()` waiting and later reads reject, but bytes that
 * arrived before a disconnect are still handed out first.
 */
export class ReceiveBuffer {
  private chunks: Uint8Array[] = [];
  private length = 0;
  private readonly waiters: Waiter[] = [];
  private failure: (() => BusError) | undefined;

  constructor(private readonly path: string) {}

  /** Bytes buffered and not yet read. */
  get available(): number {
    return this.length;
  }

  push(data: Uint8Array): void {
    if (data.length === 0 || this.failure) return;
    this.chunks.push(data);
    this.length += data.length;
    this.service();
  }

  /** Rejects waiting and later reads with `error()`; `dropBuffered` also forgets unread bytes (close). */
  fail(error: () => BusError, dropBuffered = false): void {
    this.failure = error;
    if (dropBuffered) this.discard();
    for (const w of this.waiters.splice(0)) {
      w.cleanup();
      w.reject(error());
    }
  }

  discard(): void {
    this.chunks = [];
    this.length = 0;
  }

  read(max: number, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (!(max >= 1)) return Promise.reject(new RangeError(`read: max must be >= 1 (got ${max})`));
    return this.wait(max, false, timeoutMs, signal);
  }

  readExactly(n: number, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (!(n >= 0)) return Promise.reject(new RangeError(`readExactly: n must be >= 0 (got ${n})`));
    return this.wait(n, true, timeoutMs, signal);
  }

  private wait(n: number, exact: boolean, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      if (signal?.aborted) return reject(new CancelledError(signal.reason));
      if (this.waiters.length === 0 && this.satisfiable(n, exact)) return resolve(this.take(n));
      if (this.failure && this.waiters.length === 0) return reject(this.failure());
      const waiter: Waiter = {
        n,
        exact,
        resolve,
        reject,
        cleanup: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      const remove = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        waiter.cleanup();
        this.service();
      };
      const onAbort = () => {
        remove();
        reject(new CancelledError(signal?.reason));
      };
      const timer = setTimeout(() => {
        remove();
        reject(
          new BusError(
            'SERIAL_TIMEOUT',
            `no ${exact ? `${n} bytes` : 'data'} from ${this.path} within ${timeoutMs} ms`,
            {
              path: this.path,
              timeoutMs,
              wanted: n,
              buffered: this.length,
            },
          ),
        );
      }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private satisfiable(n: number, exact: boolean): boolean {
    return exact ? this.length >= n : this.length > 0;
  }

  private service(): void {
    while (this.waiters.length > 0) {
      const w = this.waiters[0]!;
      if (!this.satisfiable(w.n, w.exact)) {
        if (!this.failure) return;
        this.waiters.shift();
        w.cleanup();
        w.reject(this.failure());
        continue;
      }
      this.waiters.shift();
      w.cleanup();
      w.resolve(this.take(w.n));
    }
  }

  /** Removes and returns up to `n` buffered bytes. */
  private take(n: number): Uint8Array {
    const count = Math.min(n, this.length);
    const first = this.chunks[0];
    if (first && first.length >= count) {
      const out = first.subarray(0, count);
      if (first.length === count) this.chunks.shift();
      else this.chunks[0] = first.subarray(count);
      this.length -= count;
      return out;
    }
    const out = new Uint8Array(count);
    let done = 0;
    while (done < count) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, count - done);
      out.set(c.subarray(0, k), done);
      done += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.length -= count;
    return out;
  }
}
