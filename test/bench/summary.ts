/**
 * One figure of `make bench` that has a goal (issue 12/16: every ratio in one table). Benches call
 * {@link recordFigure}, which prints it as a `bench-figure: {json}` line (also from inside the qemu
 * guest, whose stdout the host streams); `make bench` keeps the output and `summary-table.js` prints
 * the figures as one table at the end, so a change that makes any ratio worse shows in one run.
 */
export interface BenchFigure {
  /** What was measured, e.g. `smp 115200: fraction of the SMP framing ceiling`. */
  name: string;
  value: number;
  /** The goal for it (same unit), if it has one. */
  goal?: number;
  /** Whether higher or lower values are better (e.g. `ours/dfu-util` time ratio: lower). */
  better: 'higher' | 'lower';
  unit: 'ratio' | 'x' | 's' | 'µs' | 'MiB';
}

export const FIGURE_PREFIX = 'bench-figure: ';

export function recordFigure(f: BenchFigure): void {
  console.log(FIGURE_PREFIX + JSON.stringify(f));
}
