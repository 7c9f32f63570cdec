/**
 * `sensor-proxy list` on the demo rig (hw-fixtures/demo: an SMP sensor and a YMODEM bootloader on
 * pty pairs, a UDS ECU on the in-process CAN bus, a DFU device on the in-process USB bus, an
 * inventory file): the time of the gateway's inventory, enumerators concurrent (as `list` runs
 * it), beside the same enumerators one after another. Printed, nothing asserted; medians of
 * SP_BENCH_LIST_ROUNDS rounds (default 5), alternating.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { buildGateway, loadConfig } from '../../src/cli/gateway.js';
import { startDemoRig } from '../../hw-fixtures/demo/demo-rig.js';
import type { ComponentEnumerator } from '../../enumerators/enumerator.js';

const ROUNDS = Math.max(1, Math.floor(Number(process.env['SP_BENCH_LIST_ROUNDS'] ?? 5) || 5));

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'list-bench-'));
  process.env['SENSOR_PROXY_STATE_DIR'] ??= join(root, 'state');
  const rig = await startDemoRig(root);
  const log = pino({ level: 'silent' });
  try {
    const config = await loadConfig(rig.configPath);
    const gw = buildGateway(config, log);
    const enumerators = (gw.inventory as unknown as { enumerators: ComponentEnumerator[] }).enumerators;
    const load0 = loadavg()[0]!;
    const concurrent: number[] = [];
    const sequential: number[] = [];
    const each = new Map<string, number[]>();
    let count = 0;
    for (let r = 0; r < ROUNDS; r++) {
      let t = performance.now();
      count = (await gw.inventory.getAllComponents()).length;
      concurrent.push(performance.now() - t);
      const t0 = performance.now();
      for (const e of enumerators) {
        t = performance.now();
        await e.getAllComponents();
        each.set(e.type, [...(each.get(e.type) ?? []), performance.now() - t]);
      }
      sequential.push(performance.now() - t0);
    }
    await gw.inventory.close();
    const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(
      `sensor-proxy list on the demo rig (${count} components, ${enumerators.length} enumerators, ${ROUNDS} rounds, load ${load0.toFixed(2)} → ${loadavg()[0]!.toFixed(2)})`,
    );
    console.log(`  enumerators concurrent (list):     ${mid(concurrent).toFixed(0)} ms (median)`);
    console.log(`  enumerators one after another:     ${mid(sequential).toFixed(0)} ms (median)`);
    console.log(`  each: ${[...each].map(([k, v]) => `${k} ${mid(v).toFixed(0)} ms`).join(', ')}`);
  } finally {
    await rig.close();
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
