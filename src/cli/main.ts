#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { createCliLogger } from './logger.js';
import { flashCommand } from './flash-command.js';
import { listCommand } from './list-command.js';
import { validateCommand } from './validate-command.js';
import { ExitCode } from './output.js';

const USAGE = `sensor-proxy: ADU-compatible proxy updates for sensors on USB, serial and CAN

usage:
  sensor-proxy list [--config F] [--inventory FILE]... [--json]
  sensor-proxy validate <manifest.json> [--files DIR] [--json]
  sensor-proxy flash <import-manifest.json> [--files DIR] [--config F] [--inventory FILE]...
                     [--component ID]... [--dry-run] [--reboot] [--json]
  sensor-proxy agent [--config F] [--inventory FILE]...
  sensor-proxy udev-rules [--config F]   (prints udev rules for the config's USB and serial sensors)
  sensor-proxy demo

options: -v/--verbose shows info logs on stderr (SENSOR_PROXY_LOG_LEVEL=debug for more).
  flash --reboot: when the update asks for a reboot, reboot (config rebootCommand, default
  systemctl reboot); run the same flash again after the reboot to finish the update.

exit codes: 0 success (incl. already installed, no matching components), 1 update failed or
cancelled or waiting for a reboot (validate: invalid), 2 usage or input error (nothing was run);
agent: 75 when an update asked for an agent restart (the service manager starts it again).`;

const OPTIONS = {
  config: { type: 'string' },
  inventory: { type: 'string', multiple: true },
  files: { type: 'string' },
  component: { type: 'string', multiple: true },
  'dry-run': { type: 'boolean' },
  reboot: { type: 'boolean' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    process.stderr.write(`error [CLI_USAGE]: ${(e as Error).message}\n\n${USAGE}\n`);
    return ExitCode.Usage;
  }
  const { values: v, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (v.help || !command) {
    process.stdout.write(USAGE + '\n');
    return v.help ? ExitCode.Success : ExitCode.Usage;
  }
  const controller = new AbortController();
  let interrupts = 0;
  process.on('SIGINT', () => {
    if (++interrupts > 1) process.exit(130);
    process.stderr.write('\ncancelling (Ctrl-C again to exit at once)...\n');
    controller.abort(new Error('interrupted by the user'));
  });
  process.on('SIGTERM', () => controller.abort(new Error('terminated')));
  // The CLI shows progress and results itself: logs below warn only with --verbose (or
  // SENSOR_PROXY_LOG_LEVEL, or a config logLevel other than the default info).
  const log = (level: string) => createCliLogger(level === 'info' && !v.verbose ? 'warn' : level);
  const need = (n: number, what: string): boolean => {
    if (rest.length === n) return true;
    process.stderr.write(`error [CLI_USAGE]: ${command} takes ${what}\n\n${USAGE}\n`);
    return false;
  };
  switch (command) {
    case 'list':
      if (!need(0, 'no positional arguments')) return ExitCode.Usage;
      return listCommand(
        { ...(v.config && { config: v.config }), inventories: v.inventory ?? [], json: !!v.json, log },
        controller.signal,
      );
    case 'validate':
      if (!need(1, 'one manifest path')) return ExitCode.Usage;
      return validateCommand({ manifest: rest[0]!, ...(v.files && { files: v.files }), json: !!v.json });
    case 'flash':
      if (!need(1, 'one import manifest path')) return ExitCode.Usage;
      return flashCommand(
        {
          manifest: rest[0]!,
          ...(v.files && { files: v.files }),
          ...(v.config && { config: v.config }),
          inventories: v.inventory ?? [],
          components: v.component ?? [],
          dryRun: !!v['dry-run'],
          reboot: !!v.reboot,
          json: !!v.json,
          log,
        },
        controller.signal,
      );
    case 'agent': {
      if (!need(0, 'no positional arguments')) return ExitCode.Usage;
      (await import('../hub/agent-heap.js')).limitAgentHeap();
      const { agentCommand } = await import('./agent-command.js');
      return agentCommand(
        { ...(v.config && { config: v.config }), inventories: v.inventory ?? [], log },
        controller.signal,
      );
    }
    case 'udev-rules': {
      if (!need(0, 'no positional arguments')) return ExitCode.Usage;
      const { udevRulesCommand } = await import('./udev-rules-command.js');
      return udevRulesCommand({ ...(v.config && { config: v.config }) });
    }
    case 'demo': {
      const { demoCommand } = await import('./demo-command.js');
      return demoCommand(controller.signal);
    }
    default:
      process.stderr.write(`error [CLI_USAGE]: unknown command "${command}"\n\n${USAGE}\n`);
      return ExitCode.Usage;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`internal error: ${(e as Error)?.stack ?? e}\n`);
    process.exitCode = ExitCode.Failed;
  },
);
