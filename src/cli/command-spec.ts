import { parseArgs } from 'node:util';
import type { Logger } from '../model/logger.js';
import type { LogFileSettings } from './log-file.js';

/**
 * One `sensor-proxy` command as the CLI knows it: what it parses (options, positionals), the help
 * text shown by `sensor-proxy help <command>` / `<command> --help`, and how it runs. The option
 * table is the single source of both the parser and the help's option list, so a flag cannot be
 * parsed without being documented.
 */
export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** Placeholder of a string option's value in the help (`F`, `DIR`). */
  arg?: string;
  help: string;
}

export interface CommandInvocation {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  signal: AbortSignal;
  /** Logger at a config's level; below warn only with -v/--verbose (see main.ts). */
  /** The CLI logger at the config's level; with `file`, also into that bounded log file at `level`. */
  log: (level: string, file?: LogFileSettings) => Logger;
}

export interface CommandSpec {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Usage lines without the leading `sensor-proxy ` (continuation lines start with spaces). */
  usage: string[];
  /** How many positionals it takes and how to say so in an error. */
  positionals: { min: number; max: number; what: string };
  options: Record<string, OptionSpec>;
  /** Paragraphs of what it does. */
  description: string;
  examples: string[];
  exitCodes: Array<[code: number, meaning: string]>;
  run(inv: CommandInvocation): Promise<number>;
}

/** Options every command accepts. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  verbose: { type: 'boolean', short: 'v', help: 'info logs on stderr (SENSOR_PROXY_LOG_LEVEL=debug for more)' },
  help: { type: 'boolean', short: 'h', help: 'this help' },
};

export function commandOptions(spec: CommandSpec): Record<string, OptionSpec> {
  return { ...spec.options, ...COMMON_OPTIONS };
}

/**
 * Parses a command's arguments strictly (an unknown flag is an error naming it).
 * @throws Error with a message fit for `error [CLI_USAGE]: ...`.
 */
export function parseCommandArgs(
  spec: CommandSpec,
  args: string[],
): { values: CommandInvocation['values']; positionals: string[] } {
  const options = Object.fromEntries(
    Object.entries(commandOptions(spec)).map(([name, o]) => [
      name,
      { type: o.type, ...(o.multiple && { multiple: true }), ...(o.short && { short: o.short }) },
    ]),
  );
  const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
  const v = values as CommandInvocation['values'];
  if (!v.help && (positionals.length < spec.positionals.min || positionals.length > spec.positionals.max))
    throw new Error(`${spec.name} takes ${spec.positionals.what}`);
  return { values: v, positionals };
}

function optionLabel(name: string, o: OptionSpec): string {
  const long = `--${name}${o.type === 'string' ? ` ${o.arg ?? 'VALUE'}` : ''}`;
  return (o.short ? `-${o.short}, ` : '    ') + long + (o.multiple ? ' (repeatable)' : '');
}

/** A command's usage lines as printed: `sensor-proxy <usage>`, continuation lines aligned under it. */
export function usageLines(spec: CommandSpec): string[] {
  return spec.usage.map((u) => (u.startsWith(' ') ? ' '.repeat('sensor-proxy '.length) + u : `sensor-proxy ${u}`));
}

/** Every usage line of the CLI, as the overview help and the README's CLI section list them. */
export function allUsageLines(specs: CommandSpec[]): string[] {
  return [...specs.flatMap(usageLines), 'sensor-proxy help [<command>]', 'sensor-proxy --version'];
}

/** The full help of one command: usage, description, options, examples, exit codes. */
export function commandHelp(spec: CommandSpec): string {
  const opts = Object.entries(commandOptions(spec));
  const width = Math.max(...opts.map(([n, o]) => optionLabel(n, o).length));
  return [
    `sensor-proxy ${spec.name}: ${spec.summary}`,
    '',
    'usage:',
    ...usageLines(spec).map((u) => `  ${u}`),
    '',
    ...spec.description.split('\n').map((l) => (l ? `  ${l}` : '')),
    '',
    'options:',
    ...opts.map(([n, o]) => `  ${optionLabel(n, o).padEnd(width)}  ${o.help}`),
    '',
    'examples:',
    ...spec.examples.map((e) => `  ${e}`),
    '',
    'exit codes:',
    ...spec.exitCodes.map(([c, m]) => `  ${c}  ${m}`),
  ].join('\n');
}

/** The top-level help: every command's usage and summary. */
export function overviewHelp(specs: CommandSpec[]): string {
  const width = Math.max(...specs.map((s) => s.name.length));
  return [
    'sensor-proxy: ADU-compatible proxy updates for sensors on USB, serial and CAN',
    '',
    'usage:',
    ...allUsageLines(specs).map((u) => `  ${u}`),
    '',
    'commands:',
    ...specs.map((s) => `  ${s.name.padEnd(width)}  ${s.summary}`),
    '',
    "`sensor-proxy help <command>` or `sensor-proxy <command> --help` shows a command's flags, examples",
    'and exit codes. -v/--verbose shows info logs on stderr (SENSOR_PROXY_LOG_LEVEL=debug for more).',
    '',
    'exit codes: 0 success, 1 failed (update failed or cancelled, invalid manifest, a doctor check',
    'failed), 2 usage or input error (nothing was run).',
  ].join('\n');
}

/**
 * Finds the command in argv when options come first (`sensor-proxy -v --config F list`), as people
 * type them out of habit from git/systemctl: options before the command move after it, where the
 * command's own strict parser checks them. A token after an option that is not a command name is
 * taken as that option's value (`--config gw.json`); `--opt=value` needs no lookahead.
 */
export function splitCommand(
  argv: string[],
  isCommand: (name: string) => boolean,
): { command: string | undefined; args: string[] } {
  const leading: string[] = [];
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-') && argv[i] !== '--') {
    const opt = argv[i++]!;
    leading.push(opt);
    const next = argv[i];
    if (!opt.includes('=') && next !== undefined && !next.startsWith('-') && !isCommand(next)) leading.push(argv[i++]!);
  }
  if (leading.length === 0 || i >= argv.length) return { command: argv[0], args: argv.slice(1) };
  return { command: argv[i], args: [...argv.slice(i + 1), ...leading] };
}
