/**
 * Parallel flashing on ONE CAN bus (issue 12): 8 UDS ECUs with distinct ids on the in-process bus
 * timed like classic CAN at 500 kbit/s (real clock), each with a 2 s erase and a per-block programming
 * delay, flashed by the product (CAN enumerator + sensor-proxy/uds:1 + the workflow engine's lanes)
 * once with `parallel.maxPerCanInterface: 8` and once with `parallel.enabled: false`.
 * Prints the wall times and the aggregate payload rate while all transfers overlap, as a fraction of
 * the ISO-TP payload ceiling of the wire (the frames that carry the image, nothing else). Figures
 * only; nothing is asserted. BENCH_ECU_KIB sets the image size per ECU (default 64).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BIT_TIMING_PRESETS } from '../../drivers/can/bit-timing.js';
import { MemoryCanNetwork } from '../../drivers/can/memory-bus.js';
import { EcuSimulator } from '../../hw-fixtures/can/ecu-simulator.js';
import { makeFirmwareImage } from '../../hw-fixtures/can/firmware-image.js';
import { writeImportManifest } from '../../hw-fixtures/updates/import-manifest-builder.js';
import { buildGateway, loadConfig } from '../../src/cli/gateway.js';
import { createCliLogger } from '../../src/cli/logger.js';
import { loadManifestFile } from '../../src/manifest/index.js';
import type { WorkflowEvent } from '../../src/model/events.js';
import { runWorkflow } from '../../src/workflow/engine.js';
import { LocalFileSource } from '../../src/workflow/file-source.js';
import { planUpdate } from '../../src/workflow/update-plan.js';
import { WorkflowStateStore } from '../../src/workflow/workflow-state.js';
import { isoTpCeilingUs } from './isotp-ceiling.js';
import { recordFigure } from './summary.js';

const ECUS = 8;
const KIB = Number(process.env.BENCH_ECU_KIB ?? 64);
const SIZE = KIB * 1024;
const ERASE_S = 2;
const WRITE_US_PER_KIB = 2000; // 8 ms per 4 KiB TransferData block
const SECTOR = 4096;
const TIMING = BIT_TIMING_PRESETS.classic500k;

interface Sample {
  t: number;
  bytes: number;
}

async function run(parallel: boolean): Promise<{ wallS: number; samples: Map<string, Sample[]>; ok: boolean }> {
  const root = await mkdtemp(join(tmpdir(), 'bench-can8-'));
  const net = `bench-can8-${parallel ? 'p' : 's'}`;
  const network = MemoryCanNetwork.named(net, { fd: false, timing: TIMING });
  const sims: EcuSimulator[] = [];
  const buses = [];
  try {
    const physical = [];
    for (let i = 0; i < ECUS; i++) {
      const bus = network.join();
      buses.push(bus);
      sims.push(
        new EcuSimulator({
          bus,
          rxId: 0x7e0 + i,
          txId: 0x7e8 + i,
          identity: { version: '1.0.0', serial: `ECU-${i}`, systemName: 'bench-ecu' },
          flash: {
            size: 1 << 20,
            sectorSize: SECTOR,
            eraseUsPerSector: Math.round((ERASE_S * 1e6) / Math.ceil(SIZE / SECTOR)),
            writeUsPerKiB: WRITE_US_PER_KIB,
          },
        }),
      );
      physical.push({ txId: `0x${(0x7e0 + i).toString(16)}`, rxId: `0x${(0x7e8 + i).toString(16)}` });
    }
    const updates = join(root, 'updates');
    await mkdir(updates);
    await writeFile(join(updates, 'ecu-2.0.0.bin'), makeFirmwareImage(SIZE, '2.0.0', 7));
    const child = { provider: 'bench', name: 'ecu-fw', version: '2.0.0' };
    await writeImportManifest(updates, 'child.importmanifest.json', {
      updateId: child,
      isDeployable: false,
      compatibility: [{ group: 'ecus' }],
      steps: [
        {
          handler: 'sensor-proxy/uds:1',
          files: ['ecu-2.0.0.bin'],
          handlerProperties: { installedCriteria: '2.0.0' },
        },
      ],
    });
    const parent = await writeImportManifest(updates, 'parent.importmanifest.json', {
      updateId: { provider: 'bench', name: 'gateway', version: '2.0.0' },
      compatibility: [{ manufacturer: 'bench', model: 'gw' }],
      steps: [{ type: 'reference', updateId: child }],
    });
    const configPath = join(root, 'gateway.json');
    await writeFile(
      configPath,
      JSON.stringify({
        stateDir: join(root, 'state'),
        workDir: join(root, 'work'),
        parallel: parallel ? { enabled: true, maxPerCanInterface: ECUS } : { enabled: false },
        enumerators: [
          {
            type: 'can',
            interfaces: [{ interface: `mem:${net}`, physical }],
            rules: [
              {
                match: { systemName: 'bench-ecu' },
                component: { group: 'ecus', name: 'ecu-{serial}', manufacturer: 'bench', model: 'ecu' },
                properties: { memoryAddress: '0x08000000' },
              },
            ],
          },
        ],
      }),
    );
    const config = await loadConfig(configPath);
    const log = createCliLogger('error');
    const gateway = buildGateway(config, log);
    const loaded = await loadManifestFile(parent);
    const signal = new AbortController().signal;
    const workflowId = `bench-${parallel ? 'p' : 's'}`;
    const state = new WorkflowStateStore(config.stateDir, workflowId);
    await state.lock();
    const plan = await planUpdate({
      workflowId,
      update: loaded.update,
      manifestSha256: loaded.sha256,
      workDir: config.workDir,
      fileSource: new LocalFileSource(updates),
      filesDir: updates,
      inventory: gateway.inventory,
      handlers: gateway.handlers,
      referenceStepsOnHost: config.referenceStepsOnHost,
      signal,
    });
    const samples = new Map<string, Sample[]>();
    const emit = (e: WorkflowEvent) => {
      if (e.type !== 'transfer.progress' || !e.componentId || (e.phase && e.phase !== 'download')) return;
      const s = samples.get(e.componentId) ?? [];
      s.push({ t: performance.now(), bytes: e.bytesDone });
      samples.set(e.componentId, s);
    };
    const t0 = performance.now();
    const outcome = await runWorkflow({ plan, state, signal, log, emit, parallel: config.parallel });
    const wallS = (performance.now() - t0) / 1000;
    await state.suspend();
    await gateway.inventory.close();
    return { wallS, samples, ok: outcome.succeeded };
  } finally {
    sims.forEach((s) => s.close());
    await Promise.all(buses.map((b) => b.close()));
    MemoryCanNetwork.forget(net);
    await rm(root, { recursive: true, force: true });
  }
}

/** Bytes component `s` had sent by time t (linear between progress samples). */
function bytesAt(s: Sample[], t: number): number {
  if (t <= s[0]!.t) return 0;
  for (let i = 1; i < s.length; i++)
    if (s[i]!.t >= t)
      return s[i - 1]!.bytes + ((s[i]!.bytes - s[i - 1]!.bytes) * (t - s[i - 1]!.t)) / (s[i]!.t - s[i - 1]!.t);
  return s[s.length - 1]!.bytes;
}

const ceilingKBs = SIZE / 1000 / (isoTpCeilingUs(SIZE, 4093, TIMING, false) / 1e6);
const seq = await run(false);
const par = await run(true);
const series = [...par.samples.values()].filter((s) => s.length > 1);
const from = Math.max(...series.map((s) => s[0]!.t));
const to = Math.min(...series.map((s) => s[s.length - 1]!.t));
const overlapBytes = series.reduce((sum, s) => sum + bytesAt(s, to) - bytesAt(s, from), 0);
const overlapKBs = overlapBytes / 1000 / ((to - from) / 1000);
recordFigure({
  name: `${ECUS} UDS ECUs on one 500k bus: aggregate fraction of the ISO-TP ceiling`,
  value: overlapKBs / ceilingKBs,
  goal: 0.9,
  better: 'higher',
  unit: 'ratio',
});
recordFigure({
  name: `${ECUS} UDS ECUs on one 500k bus: parallel/sequential time`,
  value: par.wallS / seq.wallS,
  better: 'lower',
  unit: 'x',
});
console.log(
  `can8: ${ECUS} ECUs × ${KIB} KiB on one classic 500 kbit/s bus, ${ERASE_S} s erase, ${WRITE_US_PER_KIB / 1000} ms/KiB programming`,
);
console.log(
  `can8: sequential ${seq.wallS.toFixed(1)} s (ok ${seq.ok}), parallel ${par.wallS.toFixed(1)} s (ok ${par.ok})`,
);
console.log(
  `can8: ${series.length} transfers overlapping for ${((to - from) / 1000).toFixed(1)} s at ${overlapKBs.toFixed(1)} kB/s aggregate = ${((overlapKBs / ceilingKBs) * 100).toFixed(1)} % of the ISO-TP payload ceiling (${ceilingKBs.toFixed(1)} kB/s)`,
);
