import { delay } from '../../shared/deadline.js';
import { CancelledError } from '../../shared/errors.js';

/** The last this-many ms of a wait are a yield loop instead of a timer. */
export const SPIN_BELOW_MS = 3;

/**
 * A wait for DFU's bwPollTimeout: a timer for all but the last {@link SPIN_BELOW_MS} ms, then a
 * `setImmediate` yield loop until the time has passed, because timers overshoot by 2-4 ms on a slow
 * or emulated CPU and a 1 MiB download at 256-byte blocks waits 4096 times (dfu-util sleeps with
 * nanosleep). Honours the signal like {@link delay}; the event loop stays responsive throughout.
 */
export async function preciseDelay(ms: number, signal?: AbortSignal): Promise<void> {
  const until = performance.now() + ms;
  if (ms > SPIN_BELOW_MS) await delay(ms - SPIN_BELOW_MS, signal);
  while (performance.now() < until) {
    if (signal?.aborted) throw new CancelledError(signal.reason);
    await new Promise<void>((r) => setImmediate(r));
  }
  if (signal?.aborted) throw new CancelledError(signal.reason);
}
