import pino from 'pino';
import type { Logger } from '../model/logger.js';

/**
 * The CLI's root logger: JSON on stderr (stdout stays machine-readable), human-readable through
 * pino-pretty when stderr is a TTY. `SENSOR_PROXY_LOG_LEVEL` overrides the level.
 */
export function createCliLogger(level: string, opts: { pretty?: boolean } = {}): Logger {
  const lvl = process.env.SENSOR_PROXY_LOG_LEVEL ?? level;
  const pretty = opts.pretty ?? process.stderr.isTTY === true;
  if (pretty) {
    return pino(
      { level: lvl, base: undefined },
      pino.transport({ target: 'pino-pretty', options: { destination: 2, colorize: true, ignore: 'pid,hostname' } }),
    );
  }
  return pino({ level: lvl, base: undefined }, pino.destination({ fd: 2, sync: true }));
}
