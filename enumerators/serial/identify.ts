import type { SerialLink, SerialLinkOptions } from '../../drivers/serial/link.js';
import { SmpClient } from '../../drivers/serial/smp/smp-client.js';
import { queryVersion } from '../../drivers/serial/ymodem/version-query.js';
import { isBusError, isCancelled } from '../../drivers/shared/errors.js';
import type { Logger } from '../../src/model/logger.js';
import type { SerialRule } from './serial-config.js';

/** Opens a serial link; the enumerator's seam for tests and other backends. */
export type OpenLink = (options: SerialLinkOptions & { log?: Logger }) => Promise<SerialLink>;

/** What identifying one port found; `status` goes into the component's properties. */
export interface PortIdentity {
  version: string | undefined;
  /**
   * `ok`: version read; `not-opened`: protocol `none`; `no-answer`: opened, nothing understood in
   * time; `open-failed`: busy, gone, permission; `error`: anything else (see the log).
   */
  status: 'ok' | 'not-opened' | 'no-answer' | 'open-failed' | 'error';
  detail?: string;
  /** What to do about an `open-failed` port (the driver's hint: permissions, busy, path). */
  hint?: string;
}

const NO_ANSWER = new Set(['YMODEM_VERSION_NO_ANSWER', 'SMP_TIMEOUT', 'SERIAL_TIMEOUT']);

/**
 * Asks one allowed port for its firmware version over the rule's protocol, with the least contact
 * that gives an answer (reference/bus-protocols.md §4 "Safe policy"): opened without DTR/RTS
 * unless the rule says otherwise; `ymodem` sends the configured version query; `smp` sends one
 * image state read (group 1, id 0) and takes the active image 0; `none` does not open the port.
 * Never throws for a device problem (that is a status); rethrows CancelledError.
 */
export async function identifyPort(
  path: string,
  rule: SerialRule,
  openLink: OpenLink,
  timeoutMs: number,
  log: Logger,
  signal?: AbortSignal,
): Promise<PortIdentity> {
  if (rule.protocol === 'none') return { version: undefined, status: 'not-opened' };
  let link: SerialLink;
  try {
    link = await openLink({ path, baudRate: rule.baudRate, assertControlLinesOnOpen: rule.assertControlLines, log });
  } catch (e) {
    log.warn({ err: e, port: path }, 'serial enumerator: cannot open port');
    const hint = isBusError(e) && typeof e.details.hint === 'string' ? e.details.hint : undefined;
    return {
      version: undefined,
      status: 'open-failed',
      detail: isBusError(e) ? `${e.code}: ${e.message}` : String(e),
      ...(hint && { hint }),
    };
  }
  try {
    if (rule.protocol === 'ymodem') {
      const q = rule.versionQuery;
      return {
        version: await queryVersion(link, { ...q, timeoutMs: Math.min(q.timeoutMs, timeoutMs) }, signal),
        status: 'ok',
      };
    }
    const states = await new SmpClient(link, { log }).imageStateRead({ signal, timeoutMs, attempts: 1 });
    const active = states.find((s) => s.image === 0 && s.active);
    return active
      ? { version: active.version, status: 'ok' }
      : { version: undefined, status: 'error', detail: 'device lists no active image 0' };
  } catch (e) {
    if (isCancelled(e)) throw e;
    const noAnswer = isBusError(e) && NO_ANSWER.has(e.code);
    log.warn(
      { err: e, port: path, protocol: rule.protocol },
      noAnswer ? 'serial enumerator: no identity answer' : 'serial enumerator: identify failed',
    );
    return {
      version: undefined,
      status: noAnswer ? 'no-answer' : 'error',
      detail: isBusError(e) ? `${e.code}: ${e.message}` : String(e),
    };
  } finally {
    // A close that fails (the device vanished) must not hide the identity found.
    await link
      .close()
      .catch((e: unknown) => log.warn({ err: e, port: path }, 'serial enumerator: closing port failed'));
  }
}
