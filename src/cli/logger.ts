import { createRequire } from 'node:module';
import type { Level, StreamEntry } from 'pino';
import type { Logger } from '../model/logger.js';
import { isPinoLevel, lazyLogger, levelValue, loadPino } from './lazy-logger.js';
import { RotatingLogFile, type LogFileSettings } from './log-file.js';
import { stderrLines } from './stderr-lines.js';

/**
 * The CLI's root logger: JSON on stderr (stdout stays machine-readable), one line per event, which
 * is also what journald stores for the service. When stderr is a TTY and the optional `pino-pretty`
 * is installed (a dev dependency, not shipped in the npm or Debian package), human-readable lines
 * instead. `SENSOR_PROXY_LOG_LEVEL` overrides the level. With `file`, every line at `file.level` or
 * above also goes into that bounded log file (JSON), whatever stderr shows. pino is loaded with the
 * first line written (lazy-logger.ts): a quiet run never loads it.
 */
export function createCliLogger(
  level: string,
  opts: { pretty?: boolean; file?: LogFileSettings & { level: string } } = {},
): Logger {
  const lvl = process.env.SENSOR_PROXY_LOG_LEVEL ?? level;
  const fileLevel = process.env.SENSOR_PROXY_LOG_LEVEL ?? opts.file?.level ?? 'silent';
  const make = () => pinoLogger(lvl, fileLevel, opts);
  if (!isPinoLevel(lvl) || !isPinoLevel(fileLevel)) return make(); // pino names the bad level now
  const lowest = !opts.file || fileLevel === 'silent' ? lvl : lower(lvl, fileLevel);
  return lazyLogger(make, lowest);
}

function pinoLogger(
  lvl: string,
  fileLevel: string,
  opts: { pretty?: boolean; file?: LogFileSettings & { level: string } },
): Logger {
  const pino = loadPino();
  const pretty = (opts.pretty ?? process.stderr.isTTY === true) && prettyPrinterInstalled();
  const stderr = pretty
    ? pino.transport({ target: 'pino-pretty', options: { destination: 2, colorize: true, ignore: 'pid,hostname' } })
    : stderrLines;
  const file = opts.file;
  if (!file || fileLevel === 'silent') return pino({ level: lvl, base: undefined }, stderr);
  const sink = new RotatingLogFile(file, (e) =>
    process.stderr.write(`warning: not logging to ${file.path} any more: ${e.message}\n`),
  );
  const streams: StreamEntry[] = [{ level: fileLevel as Level, stream: sink }];
  if (lvl !== 'silent') streams.push({ level: lvl as Level, stream: stderr });
  return pino({ level: lower(lvl, fileLevel), base: undefined }, pino.multistream(streams));
}

/** The more verbose of the stderr level and the file level (the logger's own level). */
function lower(lvl: string, fileLevel: string): string {
  return lvl !== 'silent' && levelValue(lvl) < levelValue(fileLevel) ? lvl : fileLevel;
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
