import { delay } from '../../shared/deadline.js';
import { CancelledError } from '../../shared/errors.js';

/** Waits at or below this use {@link preciseDelay}'s yield loop instead of a timer (ms). */
export const SPIN_BELOW_MS = 3;

/**
 * A wait for DFU's bwPollTimeout: short waits (≤ {@link SPIN_BELOW_MS}) yield to the event loop
 * with `setImmediate` until the time has passed, because a 1 ms `setTimeout` costs 2-4 ms on a slow
 * or emulated CPU and a 1 MiB download at 256-byte blocks has 4096 of them (dfu-util sleeps with
 * nanosleep). Longer waits use a timer. Honours the signal like {@link delay}; the event loop
 * stays responsive throughout.
 */
export async function preciseDelay(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms > SPIN_BELOW_MS) return delay(ms, signal);
  const until = performance.now() + ms;
  while (performance.now() < until) {
    if (signal?.aborted) throw new CancelledError(signal.reason);
    await new Promise<void>((r) => setImmediate(r));
  }
  if (signal?.aborted) throw new CancelledError(signal.reason);
}
