import { createRequire } from 'node:module';
import pino from 'pino';
import type { Logger } from '../model/logger.js';
import { RotatingLogFile, type LogFileSettings } from './log-file.js';
import { stderrLines } from './stderr-lines.js';

/**
 * The CLI's root logger: JSON on stderr (stdout stays machine-readable), one line per event, which
 * is also what journald stores for the service. When stderr is a TTY and the optional `pino-pretty`
 * is installed (a dev dependency, not shipped in the npm or Debian package), human-readable lines
 * instead. `SENSOR_PROXY_LOG_LEVEL` overrides the level. With `file`, every line at `file.level` or
 * above also goes into that bounded log file (JSON), whatever stderr shows.
 */
export function createCliLogger(
  level: string,
  opts: { pretty?: boolean; file?: LogFileSettings & { level: string } } = {},
): Logger {
  const lvl = process.env.SENSOR_PROXY_LOG_LEVEL ?? level;
  const pretty = (opts.pretty ?? process.stderr.isTTY === true) && prettyPrinterInstalled();
  const stderr = pretty
    ? pino.transport({ target: 'pino-pretty', options: { destination: 2, colorize: true, ignore: 'pid,hostname' } })
    : stderrLines;
  const file = opts.file;
  const fileLevel = process.env.SENSOR_PROXY_LOG_LEVEL ?? file?.level ?? 'silent';
  if (!file || fileLevel === 'silent') return pino({ level: lvl, base: undefined }, stderr);
  const sink = new RotatingLogFile(file, (e) =>
    process.stderr.write(`warning: not logging to ${file.path} any more: ${e.message}\n`),
  );
  const levels = pino.levels.values;
  const streams: pino.StreamEntry[] = [{ level: fileLevel as pino.Level, stream: sink }];
  if (lvl !== 'silent') streams.push({ level: lvl as pino.Level, stream: stderr });
  const lowest = lvl !== 'silent' && (levels[lvl] ?? 30) < (levels[fileLevel] ?? 30) ? lvl : fileLevel;
  return pino({ level: lowest, base: undefined }, pino.multistream(streams));
}

/** pino loads a transport target in a worker thread, where a missing module would only fail later: look first. */
export function prettyPrinterInstalled(resolveFrom: string = import.meta.url): boolean {
  try {
    createRequire(resolveFrom).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}
