import type { DfuProgress } from './dfu-download.js';

/** Progress at most this often by time (ms)… */
export const PROGRESS_INTERVAL_MS = 200;
/** …or after this share of the image (and at least {@link PROGRESS_MIN_BYTES}), whichever comes first. */
export const PROGRESS_FRACTION = 0.01;
export const PROGRESS_MIN_BYTES = 4096;

/**
 * Passes on the progress of one phase in steps instead of per block: the first report, then one
 * whenever {@link PROGRESS_INTERVAL_MS} have passed or 1 % of the image (at least 4 KiB) has moved
 * since the last one, and always the last (`bytesDone === bytesTotal`). A 1 MiB download at
 * 256-byte blocks reports about a hundred times instead of 4096 (each report is an event that the
 * workflow, the timeline and the renderer handle), and a cancel from a progress callback still
 * lands within 1 % of the image.
 */
export class ProgressThrottle {
  private lastBytes = 0;
  private lastAt = -Infinity;
  private readonly step: number;

  constructor(
    private readonly onProgress: ((p: DfuProgress) => void) | undefined,
    private readonly phase: DfuProgress['phase'],
    private readonly total: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.step = Math.max(PROGRESS_MIN_BYTES, Math.ceil(total * PROGRESS_FRACTION));
  }

  /** `bytesDone` of this phase so far. */
  update(bytesDone: number): void {
    if (!this.onProgress) return;
    if (bytesDone < this.total && bytesDone - this.lastBytes < this.step) {
      const t = this.now();
      if (t - this.lastAt < PROGRESS_INTERVAL_MS) return;
      this.lastAt = t;
    } else {
      this.lastAt = this.now();
    }
    this.lastBytes = bytesDone;
    this.onProgress({ phase: this.phase, bytesDone, bytesTotal: this.total });
  }
}
