import type { SerialLink, SerialLinkOptions } from '../../../drivers/serial/link.js';
import { openSerialLink } from '../../../drivers/serial/serialport-link.js';
import { queryVersion } from '../../../drivers/serial/ymodem/version-query.js';
import { delay } from '../../../drivers/shared/deadline.js';
import { BusError, isBusError, throwIfAborted } from '../../../drivers/shared/errors.js';
import type { Logger } from '../../model/logger.js';
import type { YmodemStepSettings } from './ymodem-config.js';

/** Opens a serial link; the handler's seam for tests and other backends. */
export type OpenLink = (options: SerialLinkOptions & { log?: Logger }) => Promise<SerialLink>;

/** Link errors after which reopening the port may help (a reset USB device re-enumerates). */
const REOPENABLE = new Set(['SERIAL_DISCONNECTED', 'SERIAL_CLOSED', 'SERIAL_IO', 'SERIAL_OPEN_FAILED']);

/**
 * One device session of the handler: the port opened on demand with the step's settings, and
 * "ask the version until the device answers" after a flash, reopening the port if it vanished.
 */
export class YmodemSession {
  private current: SerialLink | undefined;

  constructor(
    private readonly step: YmodemStepSettings,
    private readonly log: Logger,
    private readonly openLink: OpenLink = openSerialLink,
  ) {}

  /** The open link, opening the port first if needed. Throws `SERIAL_OPEN_FAILED`. */
  async link(): Promise<SerialLink> {
    this.current ??= await this.openLink({
      path: this.step.port,
      baudRate: this.step.baudRate,
      assertControlLinesOnOpen: this.step.assertControlLines,
      log: this.log,
    });
    return this.current;
  }

  async close(): Promise<void> {
    const link = this.current;
    this.current = undefined;
    await link?.close();
  }

  /** One version query (the step's `versionQuery`, which must be set). Throws `YMODEM_VERSION_NO_ANSWER`, link errors. */
  async version(signal: AbortSignal): Promise<string> {
    const q = this.step.versionQuery;
    if (!q) throw new BusError('YMODEM_INVALID_OPTIONS', 'no versionQuery configured', { field: 'versionQuery' });
    return queryVersion(await this.link(), q, signal);
  }

  /**
   * Asks the version until the device answers or `timeoutMs` passes (the new firmware is booting).
   * Throws BusError `YMODEM_VERSION_NO_ANSWER` (details `timeoutMs`, `lastError`); CancelledError on `signal`.
   */
  async waitForVersion(timeoutMs: number, signal: AbortSignal): Promise<string> {
    const q = this.step.versionQuery;
    if (!q) throw new BusError('YMODEM_INVALID_OPTIONS', 'no versionQuery configured', { field: 'versionQuery' });
    const deadline = performance.now() + timeoutMs;
    let lastError = '';
    for (let tries = 1; ; tries++) {
      throwIfAborted(signal);
      const left = Math.floor(deadline - performance.now());
      if (left <= 0) break;
      try {
        const v = await queryVersion(
          await this.link(),
          { ...q, timeoutMs: Math.max(1, Math.min(q.timeoutMs, left)) },
          signal,
        );
        this.log.debug({ tries, version: v }, 'device answers the version query');
        return v;
      } catch (e) {
        if (!isBusError(e, 'YMODEM_VERSION_NO_ANSWER') && !(isBusError(e) && REOPENABLE.has(e.code))) throw e;
        lastError = `${e.code}: ${e.message}`;
        if (e.code !== 'YMODEM_VERSION_NO_ANSWER') await this.close(); // gone or never opened: reopen next time
      }
      await delay(Math.max(0, Math.min(this.step.pollIntervalMs, deadline - performance.now())), signal);
    }
    throw new BusError(
      'YMODEM_VERSION_NO_ANSWER',
      `device on ${this.step.port} did not answer the version query within ${timeoutMs} ms`,
      { timeoutMs, lastError, path: this.step.port },
    );
  }
}
