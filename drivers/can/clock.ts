import { performance } from 'node:perf_hooks';
import { CancelledError } from '../shared/errors.js';

/**
 * The time source of the CAN stack: protocol timers (ISO-TP N_As/N_Bs/N_Cr, STmin, UDS P2/P2*),
 * the memory bus timing model and the ECU simulator all take one, so unit tests run on a virtual
 * clock (`hw-fixtures/can/virtual-clock.ts`) with no real sleeps, and the same code runs in real time.
 * Times are microseconds, monotonic.
 */
export interface Clock {
  /** Monotonic time in µs. */
  now(): number;
  /** Calls `fn` once after `us` µs (≤ 0: as soon as possible, never synchronously; Infinity: never). Returns a cancel function. */
  schedule(us: number, fn: () => void): () => void;
}

/**
 * Real time. Waits of 2 ms and more use `setTimeout`; the final sub-millisecond part (STmin of
 * 100-900 µs, ISO 15765-2 §9.6.5.4) is polled with `setImmediate`, which keeps the event loop
 * responsive and is accurate to tens of µs at the cost of some CPU while waiting.
 */
export const systemClock: Clock = {
  now: () => performance.now() * 1000,
  schedule(us, fn) {
    // An infinite wait (e.g. a server waiting for requests) arms no timer at all.
    if (!Number.isFinite(us)) return () => {};
    const deadline = performance.now() * 1000 + us;
    let timer: NodeJS.Timeout | undefined;
    let immediate: NodeJS.Immediate | undefined;
    let cancelled = false;
    const poll = () => {
      if (cancelled) return;
      const left = deadline - performance.now() * 1000;
      if (left >= 2000) timer = setTimeout(poll, Math.floor((left - 1000) / 1000));
      else if (left > 0) immediate = setImmediate(poll);
      else fn();
    };
    if (us >= 2000) timer = setTimeout(poll, Math.floor((us - 1000) / 1000));
    else immediate = setImmediate(poll);
    return () => {
      cancelled = true;
      if (timer) clearTimeout(timer);
      if (immediate) clearImmediate(immediate);
    };
  },
};

/** Resolves after `us` µs of `clock` time; rejects with CancelledError when `signal` fires first. */
export function sleep(clock: Clock, us: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError(signal.reason));
    const onAbort = () => {
      cancel();
      reject(new CancelledError(signal?.reason));
    };
    const cancel = clock.schedule(us, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Waits for `promise` at most `us` µs of `clock` time: rejects with `onTimeout()` on expiry and with
 * CancelledError on abort. Register the expectation before sending the request (style anchors §2).
 */
export function deadline<T>(
  clock: Clock,
  promise: Promise<T>,
  us: number,
  onTimeout: () => Error,
  signal?: AbortSignal,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError(signal.reason));
    let done = false;
    const finish = () => {
      done = true;
      cancel();
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      if (done) return;
      finish();
      reject(new CancelledError(signal?.reason));
    };
    const cancel = clock.schedule(us, () => {
      if (done) return;
      finish();
      reject(onTimeout());
    });
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        if (done) return;
        finish();
        resolve(v);
      },
      (e: unknown) => {
        if (done) return;
        finish();
        reject(e);
      },
    );
  });
}
