import type { Logger } from 'pino';
import { preciseDelay } from './precise-delay.js';
import { dfuError } from './dfu-errors.js';

/**
 * Options of {@link DfuHost} and the flash sequence. Times in ms. The defaults follow dfu-util 0.11
 * (`src/dfu.c`, `src/main.c`, reference/bus-protocols.md §3.1) with room for slow devices.
 */
export interface DfuHostOptions {
  timeouts: {
    /** One control transfer (dfu-util: 5000). */
    controlMs: number;
    /** Total wait for one block to leave dfuDNBUSY, polling at bwPollTimeout (DfuSe mass erase can take 35 s on STM32F4). */
    busyMs: number;
    /** Total wait for manifestation to end. */
    manifestMs: number;
    /** Wait for the device to re-enumerate after DFU_DETACH, a reset or DfuSe leave (dfu-util sleeps 5 s then looks once). */
    reenumerateMs: number;
    /** Interval between bus scans while waiting for re-enumeration. */
    scanIntervalMs: number;
  };
  attempts: {
    /** Full restarts of a download after dfuERROR / a stalled request (CLRSTATUS, ABORT, from block 0). */
    restarts: number;
  };
  /** Override of wTransferSize (bytes); must not exceed the device's. */
  transferSize: number | undefined;
  /** Injected sleep (tests pass a fake clock); honours the signal. Default: timer, or a yield loop for waits ≤ 3 ms. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injected monotonic clock (ms), paired with `sleep`. */
  now: () => number;
  log: Logger | undefined;
}

export type DfuHostOptionsInput = Partial<Omit<DfuHostOptions, 'timeouts' | 'attempts'>> & {
  timeouts?: Partial<DfuHostOptions['timeouts']>;
  attempts?: Partial<DfuHostOptions['attempts']>;
};

export const DEFAULT_DFU_HOST_OPTIONS: Readonly<DfuHostOptions> = Object.freeze<DfuHostOptions>({
  timeouts: { controlMs: 5000, busyMs: 40_000, manifestMs: 30_000, reenumerateMs: 15_000, scanIntervalMs: 100 },
  attempts: { restarts: 2 },
  transferSize: undefined,
  sleep: preciseDelay,
  now: () => performance.now(),
  log: undefined,
});

/** Merges and validates. @throws BusError DFU_INVALID_OPTIONS naming the field. */
export function resolveDfuHostOptions(input: DfuHostOptionsInput = {}): DfuHostOptions {
  const o: DfuHostOptions = {
    ...DEFAULT_DFU_HOST_OPTIONS,
    ...input,
    timeouts: { ...DEFAULT_DFU_HOST_OPTIONS.timeouts, ...input.timeouts },
    attempts: { ...DEFAULT_DFU_HOST_OPTIONS.attempts, ...input.attempts },
  };
  for (const [k, v] of Object.entries(o.timeouts)) {
    if (!Number.isFinite(v) || v <= 0)
      throw dfuError('DFU_INVALID_OPTIONS', `timeouts.${k} must be a positive number of ms`, {
        field: `timeouts.${k}`,
      });
  }
  if (!Number.isInteger(o.attempts.restarts) || o.attempts.restarts < 0)
    throw dfuError('DFU_INVALID_OPTIONS', 'attempts.restarts must be an integer >= 0', { field: 'attempts.restarts' });
  if (
    o.transferSize !== undefined &&
    (!Number.isInteger(o.transferSize) || o.transferSize < 1 || o.transferSize > 0xffff)
  ) {
    throw dfuError('DFU_INVALID_OPTIONS', 'transferSize must be an integer 1..65535', { field: 'transferSize' });
  }
  return o;
}
