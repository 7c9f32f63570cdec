import { CancelledError } from './errors.js';

/**
 * Resolves after `ms`, or rejects with {@link CancelledError} when `signal` fires first.
 * The timer is cleared on abort so nothing leaks.
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError(signal.reason));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CancelledError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Waits for `promise` with a deadline: rejects with `onTimeout()` after `ms`, with
 * {@link CancelledError} on abort. Register the expectation before writing the request
 * (reference/style-anchors.md §2, "waitress").
 */
export function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  onTimeout: () => Error,
  signal?: AbortSignal,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) {
      // The caller no longer waits for `promise`; keep its later rejection from going unhandled.
      promise.catch(() => {});
      return reject(new CancelledError(signal.reason));
    }
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      cleanup();
      reject(new CancelledError(signal?.reason));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(onTimeout());
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        cleanup();
        resolve(v);
      },
      (e: unknown) => {
        cleanup();
        reject(e);
      },
    );
  });
}
