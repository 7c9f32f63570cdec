/** The CLI: runs this process's command line and exits with its code (main.ts imports it). */
import { commandHelp, overviewHelp, parseCommandArgs, splitCommand } from './command-spec.js';
import { COMMANDS, findCommand } from './commands.js';
import { createCliLogger } from './logger.js';
import type { LogFileSettings } from './log-file.js';
import { ExitCode } from './output.js';
import { exitWhenDone, installStopSignals } from './shutdown.js';
import { packageVersion } from './version.js';

const usageError = (message: string, help: string): number => {
  process.stderr.write(`error [CLI_USAGE]: ${message}\n\n${help}\n`);
  return ExitCode.Usage;
};

async function main(command: string | undefined, rest: string[]): Promise<number> {
  if (command === '--version' || command === '-V' || command === 'version') {
    process.stdout.write(`sensor-proxy ${packageVersion()}\n`);
    return ExitCode.Success;
  }
  if (command === undefined) {
    process.stdout.write(overviewHelp(COMMANDS) + '\n');
    return ExitCode.Usage;
  }
  if (command === 'help' || command === '--help' || command === '-h') {
    if (rest.length === 0) {
      process.stdout.write(overviewHelp(COMMANDS) + '\n');
      return ExitCode.Success;
    }
    const spec = findCommand(rest[0]!);
    if (!spec || rest.length > 1) return usageError(`no help for "${rest.join(' ')}"`, overviewHelp(COMMANDS));
    process.stdout.write(commandHelp(spec) + '\n');
    return ExitCode.Success;
  }
  const spec = findCommand(command);
  if (!spec) return usageError(`unknown command "${command}"`, overviewHelp(COMMANDS));
  let parsed;
  try {
    parsed = parseCommandArgs(spec, rest);
  } catch (e) {
    return usageError((e as Error).message, commandHelp(spec));
  }
  if (parsed.values.help) {
    process.stdout.write(commandHelp(spec) + '\n');
    return ExitCode.Success;
  }
  const controller = new AbortController();
  installStopSignals(spec.name, controller);
  // The CLI shows progress and results itself: logs below warn only with --verbose (or
  // SENSOR_PROXY_LOG_LEVEL, or a config logLevel other than the default info).
  const verbose = !!parsed.values.verbose;
  const log = (level: string, file?: LogFileSettings) =>
    createCliLogger(level === 'info' && !verbose ? 'warn' : level, file && { file: { ...file, level } });
  return spec.run({ ...parsed, signal: controller.signal, log });
}

// Options may come before the command (`sensor-proxy -v list`): the exit messages name the command.
const { command, args } = splitCommand(process.argv.slice(2), (name) => name === 'help' || !!findCommand(name));
const commandName = command ?? '';
main(command, args).then(
  (code) => exitWhenDone(commandName, code),
  (e: unknown) => {
    process.stderr.write(`internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    exitWhenDone(commandName, ExitCode.Failed);
  },
);
