import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flashCommand } from './flash-command.js';
import { createCliLogger } from './logger.js';
import { ExitCode } from './output.js';

/**
 * `sensor-proxy demo` (`make demo`): the whole local flow on one machine with no hardware. It
 * writes a parent update (a host inline step plus reference steps to child updates selected by
 * component group) and simulated sensors into a temp folder, flashes it, then flashes it again
 * to show every step skipped as already installed. The demo sensors live in `hw-fixtures/`,
 * loaded only here, never by the agent.
 */
export async function demoCommand(signal: AbortSignal): Promise<number> {
  const root = await mkdtemp(join(tmpdir(), 'sensor-proxy-demo-'));
  process.env.SENSOR_PROXY_STATE_DIR ??= join(root, 'state');
  process.env.SENSOR_PROXY_HOST_STATE ??= join(root, 'host-state');
  const fixtures = '../../hw-fixtures/demo/demo-rig.js';
  const { startDemoRig } = (await import(fixtures)) as typeof import('../../hw-fixtures/demo/demo-rig.js');
  const rig = await startDemoRig(root);
  const say = (s: string) => process.stdout.write(`\n=== ${s}\n`);
  try {
    say(`demo rig in ${root}: ${rig.description}`);
    const opts = { manifest: rig.parentManifest, config: rig.configPath, inventories: [], components: [], dryRun: false, json: false, log: (l: string) => createCliLogger(l === 'info' ? 'warn' : l) };
    say('sensor-proxy list');
    const { listCommand } = await import('./list-command.js');
    await listCommand({ config: rig.configPath, inventories: [], json: false, log: opts.log }, signal);
    say(`sensor-proxy flash ${rig.parentManifest}   (first run: installs)`);
    const first = await flashCommand(opts, signal);
    if (first !== ExitCode.Success) return first;
    say('sensor-proxy flash again   (second run: every step already installed)');
    return await flashCommand(opts, signal);
  } finally {
    await rig.close();
  }
}
