/**
 * Issue 12, cross-bus (figures only, no assertions; `make bench` runs it in the qemu guest, where vcan
 * and the USB gadget exist): five sensors on three buses, 256 KiB each, in ONE deployment of one
 * parent import manifest through the built CLI (`sensor-proxy flash parent.importmanifest.json
 * --inventory ... --json`), the ADU path:
 *  - 2 SMP sensors and 1 YMODEM bootloader, each on its own socat pty pair paced at 115200 baud
 *    (the serial simulators of the host benches: hw-fixtures/serial/smp-rig.ts, ymodem-rig.ts);
 *  - 1 UDS ECU on vcan0 (the independent Python ECU on kernel ISO-TP, hw-fixtures/can/uds_kernel_peer.py);
 *  - 1 DFU device on dummy_hcd + gadgetfs (hw-fixtures/usb/gadget-rig.ts; the CLI runs on CPU 0 next to
 *    the gadget, as every gadget test must: reference/bus-protocols.md §7).
 * The parent has one reference step per child (smp, ymodem, uds, dfu), as a publisher writes it.
 * Printed: after one warm-up deployment (not counted), each component flashed alone (`--component ID`,
 * same manifest) in SP_BENCH_XBUS_ALONE_RUNS rounds (default 3; median per component), then all five
 * together with parent steps in order (the ADU agent's rule, the default; SP_BENCH_XBUS_SEQUENTIAL_RUNS,
 * default 1) and with `parallel.acrossReferenceSteps` (SP_BENCH_XBUS_TOGETHER_RUNS, default 3; median);
 * the deployment time is the first step's start to the last step's end from the --json events (the
 * command's own time, with node's start-up under TCG, beside it). Figure: together / slowest alone,
 * goal <= 1.15x. Every flash gets a new version, so nothing is skipped as installed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFirmwareImage } from '../../../hw-fixtures/can/firmware-image.js';
import { startKernelEcu, type KernelEcu } from '../../../hw-fixtures/can/kernel-peer.js';
import { repoPath } from '../../../hw-fixtures/repo-root.js';
import { ptyRigSkip } from '../../../hw-fixtures/serial/rig-availability.js';
import { startSmpRig, type SmpRig } from '../../../hw-fixtures/serial/smp-rig.js';
import { buildTestImage } from '../../../hw-fixtures/serial/test-image.js';
import { startYmodemRig, type YmodemRig } from '../../../hw-fixtures/serial/ymodem-rig.js';
import { ensureUdevd, gadgetRigMissing, GadgetProcess } from '../../../hw-fixtures/usb/gadget-rig.js';
import { testImage } from '../../../hw-fixtures/usb/memory-rig.js';
import { writeImportManifest } from '../../../hw-fixtures/updates/import-manifest-builder.js';
import { collect, type CliRun } from '../../helpers/cli.js';
import { recordFigure } from '../summary.js';

const IFACE = process.env['SP_VCAN'] ?? 'vcan0';
const SIZE = 256 * 1024;
const BAUD = 115200;
/** Generous protocol timeouts: under TCG everything is 15-20x slower (reference/bus-protocols.md §7). */
const SCALE = Math.max(1, Number(process.env['SP_TIMEOUT_SCALE'] ?? '1') || 1);
const scaled = (ms: number) => ms * SCALE;
const GOAL = 1.15;
/** Runs per component alone, and of the deployment with the option (medians are printed); the in-order one is the sum, run once. */
const runs = (name: string, dflt: number) => Math.max(1, Math.floor(Number(process.env[name] ?? dflt) || dflt));
const ALONE_RUNS = runs('SP_BENCH_XBUS_ALONE_RUNS', 3);
const TOGETHER_RUNS = runs('SP_BENCH_XBUS_TOGETHER_RUNS', 3);
const SEQUENTIAL_RUNS = runs('SP_BENCH_XBUS_SEQUENTIAL_RUNS', 1);

function skip(why: string): never {
  console.log(`cross-bus bench: SKIPPED: ${why}`);
  process.exit(0);
}
if (!existsSync(`/sys/class/net/${IFACE}`)) skip(`${IFACE} does not exist`);
const noGadget = gadgetRigMissing();
if (noGadget) skip(noGadget);
const noPty = ptyRigSkip();
if (noPty) skip(typeof noPty === 'string' ? noPty : 'socat pty pairs unavailable');
if (spawnSync('taskset', ['-V']).error) skip('taskset (util-linux) missing');

interface Comp {
  id: string;
  group: string;
  properties: Record<string, unknown>;
}

const dir = await mkdtemp(join(tmpdir(), 'cross-bus-'));
const smp: SmpRig[] = [];
let ymodem: YmodemRig | undefined;
let ecu: KernelEcu | undefined;
let gadget: GadgetProcess | undefined;
try {
  for (let i = 0; i < 2; i++)
    smp.push(
      await startSmpRig({
        baudRate: BAUD,
        primaryImage: buildTestImage('1.0.0', 4096, 10 + i),
        flashUsPerByte: 2,
        bootTimeMs: 150,
      }),
    );
  ymodem = await startYmodemRig({ baudRate: BAUD, version: '1.0.0' });
  ecu = await startKernelEcu(['--iface', IFACE, '--version', '1.0.0'], scaled(10_000));
  ensureUdevd();
  gadget = await GadgetProcess.start({ serialNumber: 'SN-XBUS', version: 0x0100 }, { timeoutMs: scaled(3000) });

  const comps: Comp[] = [
    ...smp.map((r, i) => ({
      id: `smp-${i}`,
      group: 'smp',
      properties: { bus: 'serial', port: r.port, baudRate: BAUD, protocol: 'smp' },
    })),
    {
      id: 'ymodem-0',
      group: 'ymodem',
      properties: { bus: 'serial', port: ymodem.port, baudRate: BAUD, protocol: 'ymodem' },
    },
    { id: 'ecu-0', group: 'ecu', properties: { bus: 'can', interface: IFACE, txId: '0x7E0', rxId: '0x7E8' } },
    { id: 'dfu-0', group: 'dfu', properties: { bus: 'usb', vid: 0x1209, pid: 0x0001, serialNumber: 'SN-XBUS' } },
  ];
  const inventory = join(dir, 'components-inventory.json');
  await writeFile(
    inventory,
    JSON.stringify({
      components: comps.map((c) => ({
        id: c.id,
        name: c.id,
        group: c.group,
        manufacturer: 'bench',
        model: c.group,
        properties: c.properties,
      })),
    }),
  );
  const config = async (acrossReferenceSteps: boolean) => {
    const path = join(dir, `gateway-${acrossReferenceSteps ? 'across' : 'in-order'}.json`);
    await writeFile(
      path,
      JSON.stringify({
        stateDir: join(dir, 'state'),
        logFile: false,
        enumerators: [],
        parallel: { acrossReferenceSteps },
        handlers: {
          'sensor-proxy/smp:1': { responseTimeoutMs: scaled(250), resetTimeoutSeconds: 120 },
          'sensor-proxy/ymodem:1': {
            bootloaderEntry: { type: 'bytes', hex: '7f424f4f540d' },
            bootTimeoutMs: scaled(1000),
            startTimeoutMs: scaled(1000),
          },
          'sensor-proxy/uds:1': {
            memoryAddress: '0x08000000',
            p2Ms: scaled(1000),
            p2MarginMs: scaled(250),
            resetTimeoutMs: scaled(5000),
            nAsMs: scaled(1000),
            nBsMs: scaled(1000),
            nCrMs: scaled(1000),
          },
          'sensor-proxy/dfu:1': { reenumerateTimeoutMs: Math.max(15_000, scaled(1500)) },
        },
      }),
    );
    return path;
  };
  const inOrder = await config(false);
  const across = await config(true);

  /** One update folder per version: parent + four children, 256 KiB images that carry `major`.0.0. */
  const update = async (major: number): Promise<string> => {
    const d = join(dir, `v${major}`);
    await mkdir(d);
    const version = `${major}.0.0`;
    await writeFile(join(d, 'smp.bin'), buildTestImage(version, SIZE - 512, major));
    const y = randomBytes(SIZE);
    y.write(`VER:${version}\n`, 0, 'latin1');
    await writeFile(join(d, 'ymodem.bin'), y);
    await writeFirmwareImage(join(d, 'ecu.bin'), SIZE, version, major);
    await writeFile(join(d, 'dfu.bin'), testImage(SIZE, major << 8, major));
    const children: [string, string, string, string][] = [
      ['smp', 'sensor-proxy/smp:1', 'smp.bin', version],
      ['ymodem', 'sensor-proxy/ymodem:1', 'ymodem.bin', version],
      ['ecu', 'sensor-proxy/uds:1', 'ecu.bin', version],
      ['dfu', 'sensor-proxy/dfu:1', 'dfu.bin', `${major}.00`],
    ];
    const refs = [];
    for (const [group, handler, file, criteria] of children) {
      const updateId = { provider: 'bench', name: `cross-bus-${group}`, version };
      await writeImportManifest(d, `${group}.importmanifest.json`, {
        updateId,
        isDeployable: false,
        compatibility: [{ group }],
        steps: [{ handler, files: [file], handlerProperties: { installedCriteria: criteria } }],
      });
      refs.push({ type: 'reference' as const, updateId });
    }
    return writeImportManifest(d, 'parent.importmanifest.json', {
      updateId: { provider: 'bench', name: 'cross-bus', version },
      compatibility: [{ manufacturer: 'bench', model: 'gateway' }],
      steps: refs,
    });
  };

  interface Deployment {
    /** First step started → last step finished, s (from the --json events). */
    deploy: number;
    /** The whole command, s. */
    command: number;
    /** update.started → first step started (IsInstalled + Download of every step x component), s. */
    before: number;
    perComponent: Map<string, number>;
  }
  const deploy = async (manifest: string, cfg: string, only?: string): Promise<Deployment> => {
    const t0 = performance.now();
    const args = [
      'flash',
      manifest,
      '--inventory',
      inventory,
      '--config',
      cfg,
      '--json',
      ...(only ? ['--component', only] : []),
    ];
    // CPU 0, next to the SCHED_FIFO gadget (gadget-rig.ts): without it gadgetfs loses OUT data stages.
    const child = spawn('taskset', ['-c', '0', process.execPath, repoPath('dist', 'src', 'cli', 'main.js'), ...args], {
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const run: CliRun = await collect(child, scaled(60_000));
    const command = (performance.now() - t0) / 1000;
    const last = run.events.at(-1);
    if (run.code !== 0 || last?.type !== 'result' || last.succeeded !== true)
      throw new Error(
        `deployment ${only ?? 'of all five'} failed (exit ${run.code}):\n${run.stdout.slice(-4000)}\n${run.stderr.slice(-4000)}`,
      );
    const at = (e: Record<string, unknown>) => Date.parse(String(e.ts));
    const started = new Map<string, number>();
    const perComponent = new Map<string, number>();
    for (const e of run.events) {
      const id = typeof e.componentId === 'string' ? e.componentId : undefined;
      if (!id) continue;
      if (e.type === 'step.started') started.set(id, at(e));
      if (e.type === 'step.finished') perComponent.set(id, (at(e) - started.get(id)!) / 1000);
    }
    const starts = run.events.filter((e) => e.type === 'step.started').map(at);
    const ends = run.events.filter((e) => e.type === 'step.finished').map(at);
    const begin = run.events.find((e) => e.type === 'update.started');
    if (starts.length === 0) throw new Error(`nothing was flashed:\n${run.stdout.slice(-2000)}`);
    return {
      deploy: (Math.max(...ends) - Math.min(...starts)) / 1000,
      command,
      before: begin ? (Math.min(...starts) - at(begin)) / 1000 : NaN,
      perComponent,
    };
  };

  const f = (s: number) => `${s.toFixed(1)} s`;
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  console.log(
    `cross-bus bench: 5 components x ${SIZE / 1024} KiB (2 smp + 1 ymodem at ${BAUD} baud, 1 uds on ${IFACE}, 1 dfu on the gadget); ` +
      `${ALONE_RUNS} rounds alone, ${TOGETHER_RUNS} together with the option, medians`,
  );
  // Every deployment gets versions nobody has yet, so no step is skipped as installed.
  let major = 1;
  // Warm-up (not counted): every rig, the CLI and the page cache once, all five together. Under TCG
  // the first runs are the slowest, and one slow run must not become "the slowest alone".
  const warm = await deploy(await update(++major), across);
  console.log(`  warm-up (all five, not counted) ${f(warm.deploy)} (command ${f(warm.command)})`);

  // Alone: round after round (each component once per round), so a noisy minute hits one run of
  // each, not all runs of one; the figure is the median per component.
  const aloneRuns = new Map<string, Deployment[]>(comps.map((c) => [c.id, []]));
  for (let round = 0; round < ALONE_RUNS; round++) {
    const v = await update(++major);
    for (const c of comps) {
      const d = await deploy(v, inOrder, c.id);
      aloneRuns.get(c.id)!.push(d);
      console.log(
        `  alone  ${c.id.padEnd(9)} round ${round + 1}: ${f(d.deploy).padStart(8)}  (command ${f(d.command)}, before the first step ${f(d.before)})`,
      );
    }
  }
  const alone = new Map([...aloneRuns].map(([id, runs]) => [id, median(runs.map((d) => d.deploy))]));
  for (const c of comps)
    console.log(
      `  alone  ${c.id.padEnd(9)} median ${f(alone.get(c.id)!).padStart(8)} of ${aloneRuns
        .get(c.id)!
        .map((d) => d.deploy.toFixed(1))
        .join(', ')}`,
    );
  const slowest = [...alone.entries()].reduce((a, b) => (b[1] > a[1] ? b : a));
  const sum = [...alone.values()].reduce((s, d) => s + d, 0);
  console.log(`  slowest alone (median): ${slowest[0]} ${f(slowest[1])}; sum of all five alone ${f(sum)}`);

  const report = (label: string, runs: Deployment[]) => {
    const wall = median(runs.map((d) => d.deploy));
    const d = runs.find((r) => r.deploy === wall)!;
    console.log(
      `  ${label}: ${f(wall)} = ${(wall / slowest[1]).toFixed(2)}x the slowest alone ` +
        `(median of ${runs.map((r) => r.deploy.toFixed(1)).join(', ')}; that run: command ${f(d.command)}, before the first step ${f(d.before)})`,
    );
    for (const c of comps) {
      const own = d.perComponent.get(c.id);
      const a = alone.get(c.id)!;
      console.log(
        `    ${c.id.padEnd(9)} ${own === undefined ? '-' : f(own)} (alone ${f(a)}${own === undefined ? '' : `, ${(own / a).toFixed(2)}x`})`,
      );
    }
    return wall;
  };
  const sequentialRuns: Deployment[] = [];
  for (let i = 0; i < SEQUENTIAL_RUNS; i++) sequentialRuns.push(await deploy(await update(++major), inOrder));
  const sequential = report('together, parent steps in order (default)', sequentialRuns);
  const togetherRuns: Deployment[] = [];
  for (let i = 0; i < TOGETHER_RUNS; i++) togetherRuns.push(await deploy(await update(++major), across));
  const together = report('together, parallel.acrossReferenceSteps', togetherRuns);

  recordFigure({
    name: 'cross-bus one deployment (5 x 256 KiB, 3 buses): wall / slowest alone',
    value: together / slowest[1],
    goal: GOAL,
    better: 'lower',
    unit: 'x',
  });
  recordFigure({
    name: 'cross-bus, parent steps in order (ADU default): wall / slowest alone',
    value: sequential / slowest[1],
    better: 'lower',
    unit: 'x',
  });
} finally {
  await gadget?.stop();
  await ecu?.stop();
  await ymodem?.close();
  await Promise.all(smp.map((r) => r.close()));
  await rm(dir, { recursive: true, force: true });
}
