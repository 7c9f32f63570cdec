/**
 * Engine overhead: a parent update with one host step and a reference step to a 3-step child,
 * 64 selected components, every action a no-op (the recording handler). Prints the engine's own
 * time per step × component (planning excluded and included), the state writes it costs, and the
 * peak RSS / heap. Figures only; nothing is asserted.
 */
import { performance } from 'node:perf_hooks';
import { RecordingHandler } from '../../hw-fixtures/handlers/recording-handler.js';
import { components, engineHarness, writeParentChildUpdate } from '../../hw-fixtures/updates/engine-fixture.js';

const COMPONENTS = 64;
const CHILD_STEPS = 3;
const handler = new RecordingHandler('bench/noop:1');
const harness = await engineHarness([handler], components(COMPONENTS, 'sensors'));
const manifest = await writeParentChildUpdate(harness.dir, {
  handler: handler.id,
  hostSteps: 1,
  childSteps: CHILD_STEPS,
  group: 'sensors',
});

let peakRss = 0;
let peakHeap = 0;
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakHeap = Math.max(peakHeap, m.heapUsed);
}, 5);

const t0 = performance.now();
const plan = await harness.plan(manifest);
const t1 = performance.now();
const out = await harness.run(plan);
const t2 = performance.now();
clearInterval(sampler);
const m = process.memoryUsage();
peakRss = Math.max(peakRss, m.rss);
peakHeap = Math.max(peakHeap, m.heapUsed);

const instances = 1 + COMPONENTS * CHILD_STEPS;
const cpu = process.cpuUsage();
console.log(
  `engine bench: 1 host step + ${COMPONENTS} components x ${CHILD_STEPS} child steps = ${instances} step instances, no-op handler`,
);
console.log(`  succeeded: ${out.succeeded}, handler calls: ${handler.calls.length}`);
console.log(`  plan (manifests, file verify, selection): ${(t1 - t0).toFixed(1)} ms`);
console.log(
  `  run: ${(t2 - t1).toFixed(1)} ms total, ${((t2 - t1) / instances).toFixed(3)} ms per step instance (incl. one fsync'd state write each)`,
);
console.log(
  `  process CPU so far: user ${(cpu.user / 1000).toFixed(0)} ms, system ${(cpu.system / 1000).toFixed(0)} ms`,
);
console.log(`  peak RSS ${(peakRss / 2 ** 20).toFixed(1)} MiB, peak heap ${(peakHeap / 2 ** 20).toFixed(1)} MiB`);
