/**
 * A fixed JavaScript workload (small allocations, property access, closures, typed-array writes: the
 * kind of work a frame costs) whose CPU time, measured on the host and in the qemu guest of the same
 * run, gives the TCG slowdown used to turn guest CPU µs into host CPU µs (hw-fixtures/vm/run-vm-bench.sh).
 * `node dist/test/bench/vcan/calibration.js` prints the CPU ms of the workload (best of 3).
 */
import { fileURLToPath } from 'node:url';

function workload(): number {
  let sum = 0;
  const fns = [(x: number) => x + 1, (x: number) => x ^ 0x55];
  for (let i = 0; i < 400_000; i++) {
    const data = new Uint8Array(8);
    data[0] = 0x20 | (i & 0x0f);
    data.fill(0xcc, 1);
    const frame = { id: 0x7e0, extended: false, data, fd: false };
    sum = (sum + fns[i & 1]!(frame.data[0]! + frame.id)) | 0;
  }
  return sum;
}

/** CPU milliseconds of the workload, best of three runs (after one warm-up). */
export function calibrationCpuMs(): number {
  workload();
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const c0 = process.cpuUsage();
    workload();
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / 1000);
  }
  return best;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(calibrationCpuMs().toFixed(2));
