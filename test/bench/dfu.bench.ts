/**
 * DFU flash time against dfu-util on the same device, phase by phase (issue 12: quick flash at most
 * 1.0x dfu-util, whole command and download phase alike), plus effective bytes/s against the
 * wTransferSize/bwPollTimeout ceiling (reference/bus-protocols.md §3.6: per block t ≥ bwPollTimeout,
 * so the ceiling is wTransferSize / bwPollTimeout; control transfer time comes on top). Prints
 * figures; asserts nothing about speed.
 *
 *  - With the gadget rig here (root, dummy_hcd, gadgetfs: the qemu guest), per round on a fresh
 *    gadget each: dfu-util 0.11 `-D`, `sensor-proxy flash fw.bin -S SN` (a new process, like
 *    dfu-util), flashDfu in this process with every control transfer timed, and dfu-util's bare loop
 *    through the `usb` package (the package's floor, each part of a block timed). Every run is split
 *    at the gadget's first data DNLOAD and its zero-length DNLOAD (device-side timestamps, the same
 *    for every host): startup, download, finish (manifestation, reset, re-enumeration, version
 *    check). Both tools start with the device already in DFU mode (dfu-util's fixed 5 s detach delay
 *    would otherwise dominate). Medians of SP_BENCH_DFU_ROUNDS (3) rounds of SP_BENCH_DFU_KIB (256)
 *    KiB at bwPollTimeout SP_BENCH_DFU_POLLS (`1`, comma-separated). CLI module loading
 *    (`sensor-proxy --version`) is reported on its own.
 *  - Without it, when `hw-fixtures/vm/vm-run.sh` can boot the guest: this file re-runs itself there.
 *  - Otherwise (or with SP_BENCH_NO_VM=1): in-process device figures only.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BufferImageSource, FileImageSource } from '../../drivers/shared/image-source.js';
import { flashDfu } from '../../drivers/usb/dfu/dfu-flasher.js';
import { DfuHost } from '../../drivers/usb/dfu/dfu-host.js';
import { DfuRequest, DfuState } from '../../drivers/usb/dfu/constants.js';
import { waitForDevice } from '../../drivers/usb/find-device.js';
import { delay } from '../../drivers/shared/deadline.js';
import { MemoryUsbBus } from '../../drivers/usb/memory-usb-bus.js';
import { WebUsbBackend } from '../../drivers/usb/webusb-backend.js';
import { openUsbBackend } from '../../drivers/usb/open-backend.js';
import { ensureUdevd, gadgetRigMissing, GadgetProcess, pinToGadgetCpu } from '../../hw-fixtures/usb/gadget-rig.js';
import { MemoryDfuDevice } from '../../hw-fixtures/usb/memory-dfu-device.js';
import { testImage } from '../../hw-fixtures/usb/memory-rig.js';
import type { UsbBackend, UsbDevice } from '../../drivers/usb/usb-device.js';
import { repoPath } from '../../hw-fixtures/repo-root.js';
import { collect } from '../helpers/cli.js';
import { recordFigure } from './summary.js';

const MIB = 1024 * 1024;
const run = promisify(execFile);
const kbps = (bytes: number, ms: number) => `${(((bytes / ms) * 1000) / 1024).toFixed(1)} KiB/s`;
const ceiling = (t: number, pollMs: number) => (pollMs > 0 ? kbps(t, pollMs) : 'unbounded (bwPollTimeout 0)');

async function inProcess(): Promise<void> {
  console.log('in-process device (real clock, flash write time = bwPollTimeout):');
  for (const [t, poll] of [
    [256, 1],
    [1024, 1],
    [4096, 2],
    [4096, 0],
  ] as const) {
    const bus = new MemoryUsbBus();
    new MemoryDfuDevice(bus, {
      serialNumber: 'BENCH',
      startInDfuMode: true,
      transferSize: t,
      pollTimeoutMs: poll,
      manifestTimeMs: 1,
      reenumerateDelayMs: 0,
    });
    const img = testImage(MIB);
    const t0 = performance.now();
    await flashDfu(bus, {
      target: { serialNumber: 'BENCH' },
      image: new BufferImageSource(img),
      reset: false,
      verify: 'never',
    });
    const ms = performance.now() - t0;
    console.log(
      `  wTransferSize ${String(t).padStart(4)}, bwPollTimeout ${poll} ms: 1 MiB in ${ms.toFixed(0)} ms = ${kbps(MIB, ms)} (ceiling ${ceiling(t, poll)})`,
    );
  }
}

const env = (k: string, d: string) => process.env[k] ?? d;
const KIB = Number(env('SP_BENCH_DFU_KIB', '256'));
const ROUNDS = Number(env('SP_BENCH_DFU_ROUNDS', '3'));
const POLLS = env('SP_BENCH_DFU_POLLS', '1').split(',').map(Number);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const now = () => performance.timeOrigin + performance.now();

/** One tool's run, split at the device's first data DNLOAD and its zero-length DNLOAD (gadget events). */
interface Phases {
  /** Start (process spawn / call) to the first DNLOAD. */
  startupMs: number;
  /** First data DNLOAD to the zero-length DNLOAD, as the device sees it. */
  downloadMs: number;
  /** Zero-length DNLOAD to the end (manifestation, reset, re-enumeration, version check). */
  finishMs: number;
  totalMs: number;
  blocks: number;
}

async function phasesOf(g: GadgetProcess, t0: number, t1: number): Promise<Phases> {
  const s = await g.waitFor((e) => e.event === 'download-started', 10_000, 'download-started');
  const e = await g.waitFor((e) => e.event === 'download-ended', 10_000, 'download-ended');
  const a = s.at as number;
  const b = e.at as number;
  return { startupMs: a - t0, downloadMs: b - a, finishMs: t1 - b, totalMs: t1 - t0, blocks: e.blocks as number };
}

/** Times every control transfer the DFU host makes (per request code), to split a block into transfers and the rest. */
class TimingBackend implements UsbBackend {
  readonly name = 'usb+timing';
  /** bRequest → [count, total ms]. */
  readonly spent = new Map<number, [number, number]>();
  constructor(private readonly inner: UsbBackend) {}
  async list(): Promise<UsbDevice[]> {
    const add = (req: number, ms: number) => {
      const e = this.spent.get(req) ?? [0, 0];
      e[0]++;
      e[1] += ms;
      this.spent.set(req, e);
    };
    return (await this.inner.list()).map((d) => {
      const w = Object.create(d) as UsbDevice;
      w.controlIn = async (s, n, t) => {
        const t0 = performance.now();
        const r = await d.controlIn.call(w, s, n, t); // `this` = w: open() set the handle on w
        if (s.requestType === 'class') add(s.request, performance.now() - t0);
        return r;
      };
      w.controlOut = async (s, data, t) => {
        const t0 = performance.now();
        await d.controlOut.call(w, s, data, t);
        if (s.requestType === 'class') add(s.request, performance.now() - t0);
      };
      return w;
    });
  }
  reset(): void {
    this.spent.clear();
  }
}

async function startGadget(serialNumber: string, poll: number): Promise<GadgetProcess> {
  const g = await GadgetProcess.start(
    { startInDfuMode: true, transferSize: T, pollTimeoutMs: poll, serialNumber },
    { timeoutMs: 120_000 },
  );
  await waitForDevice(new WebUsbBackend(), async (d) => d.info.serialNumber === serialNumber, 'gadget', {
    timeoutMs: 60_000,
    intervalMs: 200,
    sleep: delay,
  });
  await delay(1000); // udev settles (permissions, links) before a tool looks
  return g;
}

const T = 256; // Debian 6.1 gadgets cap control transfers at 256 bytes (reference §7)
let serial = 0;

async function dfuUtil(path: string, poll: number): Promise<Phases> {
  const sn = `BENCH-DU-${++serial}`;
  const g = await startGadget(sn, poll);
  try {
    const t0 = now();
    const du = await run('taskset', ['-c', '0', 'dfu-util', '-d', '1209:df11', '-S', sn, '-D', path], {
      timeout: 600_000,
    }).catch((e: { stdout?: string; stderr?: string }) => e);
    const t1 = now();
    if (!/Done!/.test(String(du.stdout)))
      console.log(`  (dfu-util did not report Done!: ${String(du.stdout).slice(-300)} ${String(du.stderr ?? '')})`);
    return await phasesOf(g, t0, t1);
  } finally {
    await g.stop();
  }
}

/** `sensor-proxy flash fw.bin -S SN` (the quick flash a field engineer runs), a new process like dfu-util. */
async function quickFlash(path: string, poll: number, dir: string): Promise<Phases> {
  const sn = `BENCH-QF-${++serial}`;
  const cfg = join(dir, `gateway-${sn}.json`);
  writeFileSync(
    cfg,
    JSON.stringify({
      stateDir: join(dir, `state-${sn}`),
      enumerators: [],
      handlers: { 'sensor-proxy/dfu:1': { reenumerateTimeoutMs: 60_000 } },
    }),
  );
  const g = await startGadget(sn, poll);
  try {
    const t0 = now();
    const child = spawn(
      'taskset',
      [
        '-c',
        '0',
        process.execPath,
        repoPath('dist', 'src', 'cli', 'main.js'),
        'flash',
        path,
        '-S',
        sn,
        '--config',
        cfg,
      ],
      { env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const r = await collect(child, 600_000);
    const t1 = now();
    if (r.code !== 0) throw new Error(`quick flash failed (${r.code}): ${r.stdout}${r.stderr}`);
    return await phasesOf(g, t0, t1);
  } finally {
    await g.stop();
  }
}

/** flashDfu in this process (no CLI), with every DFU transfer timed. */
async function library(
  path: string,
  poll: number,
  io: 'usb' | 'usbfs' = 'usb',
): Promise<Phases & { dnloadMs: number; getStatusMs: number; getStatusPerBlock: number }> {
  const sn = `BENCH-LIB-${++serial}`;
  const g = await startGadget(sn, poll);
  const backend = new TimingBackend(openUsbBackend(io));
  const src = await FileImageSource.open(path);
  try {
    const t0 = now();
    await flashDfu(
      backend,
      {
        target: { serialNumber: sn },
        image: src,
        reset: false,
        verify: 'never',
        onPhase: (p) => {
          if (p === 'download') backend.reset(); // only the download's transfers (not find / probe)
        },
      },
      { timeouts: { reenumerateMs: 60_000, scanIntervalMs: 200 } },
    );
    const t1 = now();
    const p = await phasesOf(g, t0, t1);
    const dn = backend.spent.get(DfuRequest.DNLOAD) ?? [0, 0];
    const st = backend.spent.get(DfuRequest.GETSTATUS) ?? [0, 0];
    return { ...p, dnloadMs: dn[1], getStatusMs: st[1], getStatusPerBlock: st[0] / Math.max(1, p.blocks) };
  } finally {
    await src.close();
    await g.stop();
  }
}

/**
 * dfu-util's loop (reference §3.1 step 5) through the `usb` package with nothing else: DNLOAD,
 * GETSTATUS, and while dfuDNBUSY sleep bwPollTimeout (a plain timer) and GETSTATUS again. Times each
 * part per block: the floor of this package on this rig.
 */
async function bare(
  poll: number,
  blocks: number,
): Promise<{ perBlockMs: number; dnloadMs: number; getStatusMs: number; waitMs: number; polls: number }> {
  const sn = `BENCH-RAW-${++serial}`;
  const g = await startGadget(sn, poll);
  const dev = await waitForDevice(new WebUsbBackend(), async (d) => d.info.serialNumber === sn, 'raw', {
    timeoutMs: 60_000,
    intervalMs: 200,
    sleep: delay,
  });
  const host = await DfuHost.open(dev, {});
  try {
    const block = testImage(T);
    let dn = 0;
    let st = 0;
    let wait = 0;
    let polls = 0;
    const t0 = performance.now();
    for (let b = 0; b < blocks; b++) {
      let t = performance.now();
      await host.dnload(b, block);
      dn += performance.now() - t;
      for (;;) {
        t = performance.now();
        const r = await host.getStatus();
        st += performance.now() - t;
        polls++;
        if (r.state === DfuState.dfuDNLOAD_IDLE) break;
        t = performance.now();
        await new Promise((res) => setTimeout(res, r.pollTimeoutMs));
        wait += performance.now() - t;
      }
    }
    const total = performance.now() - t0;
    return {
      perBlockMs: total / blocks,
      dnloadMs: dn / blocks,
      getStatusMs: st / polls,
      waitMs: wait / blocks,
      polls: polls / blocks,
    };
  } finally {
    await host.close();
    await g.stop();
  }
}

/** Module loading of the CLI alone (`sensor-proxy --version`), a new process. */
async function cliStartup(): Promise<number> {
  const t0 = now();
  await run(process.execPath, [repoPath('dist', 'src', 'cli', 'main.js'), '--version']);
  return now() - t0;
}

async function gadget(): Promise<void> {
  ensureUdevd();
  // Host and gadget share CPU 0 (gadget-rig.ts): with the host on CPU 1 the OUT-data race of
  // reference §7 hit within seconds (GETSTATUS failed with EPROTO after an aborted setup).
  pinToGadgetCpu(0);
  const dir = mkdtempSync(join(tmpdir(), 'dfu-bench-'));
  const path = join(dir, 'fw.bin');
  const size = KIB * 1024;
  writeFileSync(path, testImage(size, 0x0201));
  const f = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const row = (what: string, p: Phases) =>
    console.log(
      `  ${what.padEnd(22)} startup ${f(p.startupMs)}, download ${f(p.downloadMs)} (${kbps(size, p.downloadMs)}, ${(p.downloadMs / p.blocks).toFixed(2)} ms/block), finish ${f(p.finishMs)}, whole ${f(p.totalMs)}`,
    );
  for (const poll of POLLS) {
    console.log(
      `gadgetfs device, wTransferSize ${T}, bwPollTimeout ${poll} ms, ${KIB} KiB, ${ROUNDS} rounds (medians):`,
    );
    const du: Phases[] = [];
    const qf: Phases[] = [];
    const lib: Awaited<ReturnType<typeof library>>[] = [];
    const libfs: Awaited<ReturnType<typeof library>>[] = [];
    const raw: Awaited<ReturnType<typeof bare>>[] = [];
    const boot: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      console.log(
        `  round ${r + 1}: load ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
      );
      du.push(await dfuUtil(path, poll));
      row('dfu-util 0.11', du.at(-1)!);
      qf.push(await quickFlash(path, poll, dir));
      row('sensor-proxy flash', qf.at(-1)!);
      lib.push(await library(path, poll));
      row('flashDfu (in-process)', lib.at(-1)!);
      libfs.push(await library(path, poll, 'usbfs'));
      row('flashDfu usbfs', libfs.at(-1)!);
      raw.push(await bare(poll, Math.min(256, size / T)));
      boot.push(await cliStartup());
    }
    const m = (xs: Phases[], k: keyof Phases) => median(xs.map((x) => x[k]));
    const dl = (xs: Phases[]) => median(xs.map((x) => x.downloadMs / x.blocks));
    const duBlock = dl(du);
    console.log(`  medians:`);
    for (const [name, xs] of [
      ['dfu-util 0.11', du],
      ['sensor-proxy flash', qf],
      ['flashDfu (in-process)', lib],
      ['flashDfu usbfs', libfs],
    ] as const) {
      console.log(
        `  ${name.padEnd(22)} startup ${f(m(xs, 'startupMs'))}, download ${f(m(xs, 'downloadMs'))} (${dl(xs).toFixed(2)} ms/block), finish ${f(m(xs, 'finishMs'))}, whole ${f(m(xs, 'totalMs'))}`,
      );
    }
    const mr = (k: keyof (typeof raw)[number]) => median(raw.map((x) => x[k]));
    console.log(
      `  per block, dfu-util's loop through the usb package (${Math.min(256, size / T)} blocks): ${mr('perBlockMs').toFixed(2)} ms = DNLOAD ${mr('dnloadMs').toFixed(2)} + ${mr('polls').toFixed(2)} x GETSTATUS ${mr('getStatusMs').toFixed(2)} + wait ${mr('waitMs').toFixed(2)} ms`,
    );
    const lb = median(lib.map((x) => x.downloadMs / x.blocks));
    const ldn = median(lib.map((x) => x.dnloadMs / x.blocks));
    const lst = median(lib.map((x) => x.getStatusMs / x.blocks));
    console.log(
      `  per block, flashDfu: ${lb.toFixed(2)} ms = DNLOAD ${ldn.toFixed(2)} + GETSTATUS ${lst.toFixed(2)} (${median(lib.map((x) => x.getStatusPerBlock)).toFixed(2)} per block) + wait and our code ${(lb - ldn - lst).toFixed(2)} ms; dfu-util: ${duBlock.toFixed(2)} ms`,
    );
    console.log(
      `  CLI module loading (sensor-proxy --version): ${f(median(boot))}; dfu-util startup (spawn to first DNLOAD) ${f(m(du, 'startupMs'))}, ours ${f(m(qf, 'startupMs'))}`,
    );
    const ratio = (a: Phases[], k: keyof Phases) => m(a, k) / m(du, k);
    console.log(
      `  ratios ours/dfu-util: download phase ${ratio(qf, 'downloadMs').toFixed(2)} (flashDfu ${ratio(lib, 'downloadMs').toFixed(2)}, bare loop ${(mr('perBlockMs') / duBlock).toFixed(2)}), whole command ${ratio(qf, 'totalMs').toFixed(2)}, startup ${ratio(qf, 'startupMs').toFixed(2)}, finish ${ratio(qf, 'finishMs').toFixed(2)}; ceiling ${ceiling(T, poll)}`,
    );
    const lfb = median(libfs.map((x) => x.downloadMs / x.blocks));
    const lfdn = median(libfs.map((x) => x.dnloadMs / x.blocks));
    const lfst = median(libfs.map((x) => x.getStatusMs / x.blocks));
    console.log(
      `  per block, flashDfu usbfs: ${lfb.toFixed(2)} ms = DNLOAD ${lfdn.toFixed(2)} + GETSTATUS ${lfst.toFixed(2)} + wait and our code ${(lfb - lfdn - lfst).toFixed(2)} ms; ratios usbfs/dfu-util: download phase ${ratio(libfs, 'downloadMs').toFixed(2)}, whole ${ratio(libfs, 'totalMs').toFixed(2)} (no reset/version check)`,
    );
    const at = `bwPollTimeout ${poll} ms`;
    recordFigure({
      name: `dfu gadget ${at}: download phase flashDfu usbfs/dfu-util`,
      value: ratio(libfs, 'downloadMs'),
      goal: 1,
      better: 'lower',
      unit: 'x',
    });
    recordFigure({
      name: `dfu gadget ${at}: download phase ours/dfu-util`,
      value: ratio(qf, 'downloadMs'),
      goal: 1,
      better: 'lower',
      unit: 'x',
    });
    recordFigure({
      name: `dfu gadget ${at}: whole command ours/dfu-util`,
      value: ratio(qf, 'totalMs'),
      goal: 1,
      better: 'lower',
      unit: 'x',
    });
    recordFigure({
      name: `dfu gadget ${at}: bare usb loop/dfu-util per block`,
      value: mr('perBlockMs') / duBlock,
      better: 'lower',
      unit: 'x',
    });
    recordFigure({ name: `dfu gadget: CLI module loading`, value: median(boot) / 1000, better: 'lower', unit: 's' });
  }
}

const missing = gadgetRigMissing();
if (!missing) {
  await gadget();
} else if (!process.env['SP_IN_VM'] && !process.env['SP_BENCH_NO_VM']) {
  await inProcess();
  const root = fileURLToPath(new URL('../../..', import.meta.url));
  console.log(`gadget rig: ${missing}; booting the qemu guest for the gadget figures`);
  const r = spawnSync(
    'bash',
    [
      'hw-fixtures/vm/vm-run.sh',
      '--modules',
      'dummy_hcd gadgetfs',
      '--cwd',
      root,
      '--timeout',
      env('SP_BENCH_DFU_VM_TIMEOUT_S', '2400'),
      '--env',
      'SP_BENCH_NO_VM=1',
      ...['SP_BENCH_DFU_KIB', 'SP_BENCH_DFU_ROUNDS', 'SP_BENCH_DFU_POLLS'].flatMap((k) =>
        process.env[k] === undefined ? [] : ['--env', `${k}=${process.env[k]}`],
      ),
      '--',
      process.execPath,
      fileURLToPath(import.meta.url),
    ],
    { cwd: root, stdio: 'inherit' },
  );
  if (r.status === 77) console.log('gadget figures skipped: the vm rig is missing (scripts/install-system-deps.sh)');
} else {
  await inProcess();
}
