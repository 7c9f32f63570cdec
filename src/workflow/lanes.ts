import type { Component } from '../model/component.js';
import { physicalPathOf } from './physical-path.js';

/**
 * How the components one reference step selected are flashed (gateway config `parallel` and
 * `onComponentFailure`, see the README "Parallel flashing").
 */
export interface ParallelPolicy {
  /** Components on different physical paths run at the same time. Default true. */
  enabled: boolean;
  /** ECUs flashed at once on one CAN interface (distinct ids share the wire). Default 4. */
  maxPerCanInterface: number;
  /**
   * Consecutive reference steps of the parent that select distinct components run at the same time,
   * as if one step had selected them all (same physical-path rules; each component still runs its
   * child's steps in order; the next inline parent step waits for all of them). Off by default: the
   * ADU agent runs parent steps strictly in order, and a publisher may rely on it (flash a bridge
   * before the ECUs behind it).
   */
  acrossReferenceSteps: boolean;
  /**
   * When one component fails: `stop` lets the others finish the step they are in and run nothing
   * more; `continue` lets them finish all their steps. Either way nothing is aborted mid-write and
   * the reference step fails. Default `stop`.
   */
  onComponentFailure: 'stop' | 'continue';
}

export const DEFAULT_PARALLEL_POLICY: Readonly<ParallelPolicy> = Object.freeze({
  enabled: true,
  maxPerCanInterface: 4,
  acrossReferenceSteps: false,
  onComponentFailure: 'stop',
});

/** Where a lane may run: lanes with the same key run at most `capacity` at a time. */
export interface LaneSlot {
  key: string;
  capacity: number;
}

/**
 * The slot of every component: its physical path, with `maxPerCanInterface` on a CAN interface
 * and 1 elsewhere. Sequential (one global slot) when parallelism is off, or when any component
 * names no physical path: then nothing is known about what it shares with the others.
 */
export function laneSlots(components: Component[], policy: ParallelPolicy): LaneSlot[] {
  const paths = components.map(physicalPathOf);
  if (!policy.enabled || paths.some((p) => p === undefined))
    return components.map(() => ({ key: 'sequential', capacity: 1 }));
  return paths.map((p) => ({ key: p!.key, capacity: p!.shared ? Math.max(1, policy.maxPerCanInterface) : 1 }));
}

/**
 * Runs `run(i)` for every lane index, starting lanes in order as soon as their slot has room and
 * `mayStart()` allows; a lane that cannot start yet waits, later lanes on free slots go ahead.
 * Returns the indexes never started (`mayStart()` turned false). A lane that throws stops new
 * starts; the others end on their own, then the first error is thrown.
 */
export async function runLanes(
  slots: LaneSlot[],
  run: (index: number) => Promise<void>,
  mayStart: () => boolean,
): Promise<number[]> {
  const pending = slots.map((_, i) => i);
  const busy = new Map<string, number>();
  const active = new Set<Promise<void>>();
  let error: { e: unknown } | undefined;
  for (;;) {
    if (!error && mayStart()) {
      for (let j = 0; j < pending.length;) {
        const i = pending[j]!;
        const slot = slots[i]!;
        if ((busy.get(slot.key) ?? 0) >= slot.capacity) {
          j++;
          continue;
        }
        pending.splice(j, 1);
        busy.set(slot.key, (busy.get(slot.key) ?? 0) + 1);
        const p: Promise<void> = run(i)
          .catch((e: unknown) => {
            error ??= { e };
          })
          .finally(() => {
            busy.set(slot.key, busy.get(slot.key)! - 1);
            active.delete(p);
          });
        active.add(p);
      }
    }
    if (active.size === 0) break;
    await Promise.race(active);
  }
  if (error) throw error.e;
  return pending;
}
