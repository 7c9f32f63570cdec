import { withDeadline } from '../../shared/deadline.js';
import { isBusError, throwIfAborted } from '../../shared/errors.js';
import type { SerialLink } from '../link.js';
import { ymodemError } from './errors.js';

/**
 * The text version query most YMODEM-bootloader devices offer in their application (e.g.
 * `VERSION?\r` → `v1.2.3\r\n`). Not part of YMODEM: each vendor has its own command, so request
 * and answer pattern are configuration.
 */
export interface VersionQuery {
  /** Request, one byte per character (latin1), e.g. "VERSION?\r". Empty: send nothing, only listen (devices that print a banner). */
  request: string;
  /** Searched in the received text (latin1); capture group 1 is the version, else the whole match. */
  responsePattern: RegExp;
  /** Wait for a matching answer after the request, ms. */
  timeoutMs: number;
}

/** Text kept while searching for the pattern, characters: a version line is short. */
const MAX_TEXT = 4096;

/**
 * Sends the request and returns the version found in the answer. Drops unread input first so a
 * stale answer is not taken.
 * @throws BusError `YMODEM_VERSION_NO_ANSWER` after `timeoutMs` without a match; link errors
 *   (`SERIAL_*`) unchanged; CancelledError on `signal`.
 */
export async function queryVersion(link: SerialLink, q: VersionQuery, signal?: AbortSignal): Promise<string> {
  throwIfAborted(signal);
  link.discardInput();
  const deadline = performance.now() + q.timeoutMs;
  if (q.request.length > 0) {
    const write = link.write(Buffer.from(q.request, 'latin1'), signal);
    await withDeadline(write, q.timeoutMs, () => ymodemError('YMODEM_VERSION_NO_ANSWER', `version request not written within ${q.timeoutMs} ms`, { timeoutMs: q.timeoutMs, received: '' }), signal);
  }
  let text = '';
  for (;;) {
    const m = q.responsePattern.exec(text);
    if (m) return (m[1] ?? m[0]).trim();
    const left = Math.ceil(deadline - performance.now());
    try {
      if (left <= 0) throw ymodemError('YMODEM_VERSION_NO_ANSWER', 'deadline passed', {});
      const chunk = await link.read(256, left, signal);
      text = (text + Buffer.from(chunk).toString('latin1')).slice(-MAX_TEXT);
    } catch (e) {
      if (!isBusError(e, 'SERIAL_TIMEOUT') && !isBusError(e, 'YMODEM_VERSION_NO_ANSWER')) throw e;
      throw ymodemError('YMODEM_VERSION_NO_ANSWER', `no answer matching ${q.responsePattern} within ${q.timeoutMs} ms`, { timeoutMs: q.timeoutMs, received: text.slice(-80) });
    }
  }
}
