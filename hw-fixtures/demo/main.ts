#!/usr/bin/env node
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listCommand } from '../../src/cli/list-command.js';
import { createCliLogger } from '../../src/cli/logger.js';
import { ExitCode } from '../../src/cli/output.js';
import { PlainRenderer, TtyRenderer } from '../../src/cli/progress-renderer.js';
import { startDemoRig } from './demo-rig.js';
import { runHubDemo } from './hub-demo.js';

/**
 * `make demo` (`node dist/hw-fixtures/demo/main.js`): the whole system on one machine, no hardware,
 * no cloud account. Simulated sensors on every bus (serial on pty pairs, CAN and USB in-process), a
 * local IoT Hub with the agent on the real SDK, a parent update with a host step and one child update
 * per sensor group deployed twice: the second deployment is skipped as already installed. The demo is
 * its own entry point so that the product CLI (src/cli) never loads the rigs.
 */
export async function runDemo(signal: AbortSignal): Promise<number> {
  const root = await mkdtemp(join(tmpdir(), 'sensor-proxy-demo-'));
  process.env.SENSOR_PROXY_STATE_DIR ??= join(root, 'state');
  process.env.SENSOR_PROXY_HOST_STATE ??= join(root, 'host-state');
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

const controller = new AbortController();
process.on('SIGINT', () => controller.abort(new Error('interrupted by the user')));
process.on('SIGTERM', () => controller.abort(new Error('terminated')));
runDemo(controller.signal).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = ExitCode.Failed;
  },
);
