/**
 * Prints the figures the benches recorded (`bench-figure:` lines of the bench log, argv[2]) as one
 * table with goal and verdict, and writes them as JSON (argv[3], default bench-results.json).
 * Not a bench itself.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { FIGURE_PREFIX, type BenchFigure } from './summary.js';

const log = process.argv[2];
const out = process.argv[3] ?? 'bench-results.json';
const figures: BenchFigure[] =
  log && existsSync(log)
    ? readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith(FIGURE_PREFIX))
        .map((l) => JSON.parse(l.slice(FIGURE_PREFIX.length)) as BenchFigure)
    : [];
const fmt = (f: BenchFigure, v: number) =>
  f.unit === 'ratio' ? `${(v * 100).toFixed(1)} %` : `${v.toFixed(2)} ${f.unit}`;
const meets = (f: BenchFigure) =>
  f.goal === undefined
    ? ''
    : (f.better === 'higher' ? f.value >= f.goal : f.value <= f.goal)
      ? 'meets goal'
      : 'BELOW GOAL';
const rows = figures.map((f) => [
  f.name,
  fmt(f, f.value),
  f.goal === undefined ? '' : `${f.better === 'higher' ? '>=' : '<='} ${fmt(f, f.goal)}`,
  meets(f),
]);
const head = ['figure', 'measured', 'goal', ''];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (r: string[]) =>
  r
    .map((c, i) => c.padEnd(widths[i]!))
    .join('  ')
    .trimEnd();
console.log('\n== bench summary');
console.log(line(head));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
rows.forEach((r) => console.log(line(r)));
if (rows.length === 0) console.log('(no figures recorded: the benches that record them were skipped)');
writeFileSync(out, JSON.stringify({ when: new Date().toISOString(), figures }, null, 2) + '\n');
console.log(`(written to ${out})`);
