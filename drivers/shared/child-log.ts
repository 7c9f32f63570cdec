import type { Logger } from 'pino';

/**
 * `log.child(bindings)` without the keys `log` already binds. pino writes every binding of a chain
 * into each line, so a key bound twice (`component` by the enumerator and again by the serial link,
 * `port` by the link and again by the SMP client) would appear twice in one JSON object. The outer
 * binding stays: it names the part that started the work.
 */
export function childLog(log: Logger, bindings: Record<string, unknown>): Logger {
  const bound = typeof log.bindings === 'function' ? log.bindings() : {};
  const fresh = Object.fromEntries(Object.entries(bindings).filter(([k, v]) => !(k in bound) && v !== undefined));
  return Object.keys(fresh).length > 0 ? log.child(fresh) : log;
}
