import { createRequire } from 'node:module';
import pino from 'pino';
import type { Logger } from '../model/logger.js';

/**
 * The CLI's root logger: JSON on stderr (stdout stays machine-readable), one line per event, which
 * is also what journald stores for the service. When stderr is a TTY and the optional `pino-pretty`
 * is installed (a dev dependency, not shipped in the npm or Debian package), human-readable lines
 * instead. `SENSOR_PROXY_LOG_LEVEL` overrides the level.
 */
export function createCliLogger(level: string, opts: { pretty?: boolean } = {}): Logger {
  const lvl = process.env.SENSOR_PROXY_LOG_LEVEL ?? level;
  const pretty = (opts.pretty ?? process.stderr.isTTY === true) && prettyPrinterInstalled();
  if (pretty) {
    return pino(
      { level: lvl, base: undefined },
      pino.transport({ target: 'pino-pretty', options: { destination: 2, colorize: true, ignore: 'pid,hostname' } }),
    );
  }
  return pino({ level: lvl, base: undefined }, pino.destination({ fd: 2, sync: true }));
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
