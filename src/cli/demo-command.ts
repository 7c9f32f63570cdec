import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listCommand } from './list-command.js';
import { createCliLogger } from './logger.js';
import { ExitCode } from './output.js';
import { PlainRenderer, TtyRenderer } from './progress-renderer.js';

/**
 * `sensor-proxy demo` (`make demo`): the whole system on one machine, no hardware, no cloud
 * account. Simulated sensors on every bus (serial on pty pairs, CAN and USB in-process), a local
 * IoT Hub with the agent on the real SDK, a parent update with a host step and one child update per
 * sensor group deployed twice: the second deployment is skipped as already installed. The rigs
 * live in `hw-fixtures/` and are loaded only here, never by the agent.
 */
export async function demoCommand(signal: AbortSignal): Promise<number> {
  // The rigs are not part of the npm or Debian package (they need the dev dependencies: aedes, selfsigned).
  if (!existsSync(fileURLToPath(new URL('../../hw-fixtures/demo/demo-rig.js', import.meta.url)))) {
    process.stderr.write(
      'error [DEMO_UNAVAILABLE]: the demo rigs are not installed (they ship only in the git checkout)\n' +
        '  hint: git clone the project, then run "make demo" there\n',
    );
    return ExitCode.Usage;
  }
  const root = await mkdtemp(join(tmpdir(), 'sensor-proxy-demo-'));
  process.env.SENSOR_PROXY_STATE_DIR ??= join(root, 'state');
  process.env.SENSOR_PROXY_HOST_STATE ??= join(root, 'host-state');
  const rigModule = '../../hw-fixtures/demo/demo-rig.js';
  const hubModule = '../../hw-fixtures/demo/hub-demo.js';
  const { startDemoRig } = (await import(rigModule)) as typeof import('../../hw-fixtures/demo/demo-rig.js');
  const { runHubDemo } = (await import(hubModule)) as typeof import('../../hw-fixtures/demo/hub-demo.js');
  const say = (s: string) => process.stdout.write(`\n=== ${s}\n`);
  const log = createCliLogger(process.env.SENSOR_PROXY_LOG_LEVEL ?? 'warn');
  const rig = await startDemoRig(root);
  const renderer = process.stderr.isTTY && !process.env.CI ? new TtyRenderer() : new PlainRenderer();
  try {
    say(`demo rig in ${root}:\n    ${rig.description.split('; ').join('\n    ')}`);
    say('sensor-proxy list   (every enumerator: inventory, serial, can, usb)');
    const listed = await listCommand({ config: rig.configPath, inventories: [], json: false, log: () => log }, signal);
    if (listed !== ExitCode.Success) return listed;
    const finals = await runHubDemo({
      rig,
      root,
      log,
      signal,
      say,
      emit: (e) => {
        renderer.onEvent(e);
        if (e.type === 'update.finished') renderer.finish();
      },
    });
    const ok = finals.length === 2 && finals.every((a) => a.state === 0 && typeof a.installedUpdateId === 'string');
    say(
      ok
        ? 'demo finished: both deployments succeeded (the second skipped every step as already installed)'
        : 'demo FAILED: a deployment did not succeed',
    );
    return ok ? ExitCode.Success : ExitCode.Failed;
  } finally {
    await rig.close();
  }
}
