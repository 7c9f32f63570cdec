import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DfuSimOptions } from './dfu-sim-options.js';

/**
 * Runs the gadgetfs DFU simulator (`dfu-gadget-cli.ts`) as a child process for vm tests and
 * benchmarks, and reads its JSON event lines.
 *
 * Scheduling (reference/bus-protocols.md §7): dummy_hcd completes an OUT control transfer's data
 * stage before the gadget process has read it, so on two CPUs the host can send the next request
 * first and gadgetfs aborts the pending one. The gadget therefore runs SCHED_FIFO and shares CPU 0
 * with the host process ({@link pinToGadgetCpu}); it wakes first and reads every block in time.
 */
export interface GadgetEvent {
  event: string;
  [k: string]: unknown;
}

/** Why the gadget rig cannot run here, or undefined when it can (root, dummy_hcd, gadgetfs). */
export function gadgetRigMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (gadgetfs needs root)';
  for (const m of ['dummy_hcd', 'gadgetfs']) {
    if (!existsSync(`/sys/module/${m}`)) {
      const r = spawnSync('modprobe', [m], { stdio: 'ignore' });
      if (r.status !== 0 || !existsSync(`/sys/module/${m}`))
        return `kernel module ${m} not loaded (run \`make test-vm\` for the qemu guest)`;
    }
  }
  return undefined;
}

/** Starts udevd once when absent: without it re-enumeration is not seen (reference §7). */
export function ensureUdevd(): void {
  const running =
    spawnSync('sh', ['-c', 'pidof systemd-udevd || pgrep -x systemd-udevd'], { stdio: 'ignore' }).status === 0;
  if (running || !existsSync('/lib/systemd/systemd-udevd')) return;
  spawnSync('/lib/systemd/systemd-udevd', ['--daemon'], { stdio: 'ignore' });
}

/** Pins every thread of this process to CPU `cpu` (0: next to the gadget, see above). */
export function pinToGadgetCpu(cpu = 0): void {
  spawnSync('taskset', ['-a', '-cp', String(cpu), String(process.pid)], { stdio: 'ignore' });
}

export class GadgetProcess {
  readonly events: GadgetEvent[] = [];
  private waiters: { pred: (e: GadgetEvent) => boolean; resolve: (e: GadgetEvent) => void }[] = [];
  private exited = false;
  stderr = '';

  private constructor(private readonly child: ChildProcess) {
    let buf = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!line.trim()) continue;
        let ev: GadgetEvent;
        try {
          ev = JSON.parse(line) as GadgetEvent;
        } catch {
          this.stderr += `${line}\n`;
          continue;
        }
        this.events.push(ev);
        this.waiters = this.waiters.filter((w) => (w.pred(ev) ? (w.resolve(ev), false) : true));
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    child.on('exit', () => (this.exited = true));
  }

  /**
   * Spawns the simulator with `options` (a partial DfuSimOptions; `dfuse: true` = default map),
   * waits until it is on the bus.
   */
  static async start(
    options: Omit<Partial<DfuSimOptions>, 'dfuse'> & { dfuse?: boolean },
    opts: { dump?: string; timeoutMs: number },
  ): Promise<GadgetProcess> {
    const here = fileURLToPath(new URL('.', import.meta.url));
    const ts = import.meta.url.endsWith('.ts');
    const cli = `${here}dfu-gadget-cli.${ts ? 'ts' : 'js'}`;
    const args = [
      '-c',
      '0',
      'chrt',
      '-f',
      '50',
      process.execPath,
      ...(ts ? ['--import', 'tsx'] : []),
      cli,
      '--options',
      JSON.stringify(options),
    ];
    if (opts.dump) args.push('--dump', opts.dump);
    const g = new GadgetProcess(spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    await g.waitFor((e) => e.event === 'attached', opts.timeoutMs, 'gadget attached');
    return g;
  }

  /** Resolves with the first event (past or future) matching `pred`. */
  waitFor(pred: (e: GadgetEvent) => boolean, timeoutMs: number, what: string): Promise<GadgetEvent> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () =>
          reject(
            new Error(
              `gadget: no "${what}" within ${timeoutMs} ms; events ${JSON.stringify(this.events)}; stderr ${this.stderr}`,
            ),
          ),
        timeoutMs,
      );
      this.waiters.push({ pred, resolve: (e) => (clearTimeout(t), resolve(e)) });
    });
  }

  /** Stops the simulator (its ep0 closes: the device leaves the bus). */
  async stop(): Promise<void> {
    if (this.exited) return;
    // gadgetfs 6.1 can oops when ep0 closes with a reply queued (reference §7): stop only when idle.
    await new Promise((r) => setTimeout(r, 200));
    const done = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

/** Bytes the simulator dumped at manifestation. */
export function readDump(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}
