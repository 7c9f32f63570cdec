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

/** The JSON form of a {@link VersionQuery} in gateway config and manifests (`responsePattern` as a string). */
export interface VersionQueryJson {
  request: string;
  responsePattern: string;
  timeoutMs: number;
}

/** Default query: `VERSION?\r`, answer `v1.2.3`, 2 s. A convention of our simulator and many vendor apps, not a standard. */
export const DEFAULT_VERSION_QUERY: Readonly<VersionQueryJson> = Object.freeze({
  request: 'VERSION?\r',
  responsePattern: 'v(\\d+\\.\\d+\\.\\d+)',
  timeoutMs: 2000,
});

/**
 * Reads the JSON form; keys left out come from {@link DEFAULT_VERSION_QUERY}.
 * @throws BusError `YMODEM_INVALID_OPTIONS`, details `{ field }` = the bad key ('' for the whole value).
 */
export function versionQueryFromJson(v: unknown): VersionQuery {
  const bad = (field: string, msg: string) => ymodemError('YMODEM_INVALID_OPTIONS', msg, { field });
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw bad('', 'must be an object {request, responsePattern, timeoutMs}');
  const o: Record<string, unknown> = { ...DEFAULT_VERSION_QUERY, ...(v as Record<string, unknown>) };
  if (typeof o.request !== 'string') throw bad('request', 'must be a string');
  if (typeof o.responsePattern !== 'string' || o.responsePattern === '')
    throw bad('responsePattern', 'must be a non-empty regular expression string');
  let re: RegExp;
  try {
    re = new RegExp(o.responsePattern);
  } catch (e) {
    throw bad('responsePattern', `is not a valid regular expression: ${(e as Error).message}`);
  }
  const t = typeof o.timeoutMs === 'string' && o.timeoutMs.trim() !== '' ? Number(o.timeoutMs) : o.timeoutMs;
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 1) throw bad('timeoutMs', 'must be an integer >= 1 (ms)');
  return { request: o.request, responsePattern: re, timeoutMs: t };
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
    await withDeadline(
      write,
      q.timeoutMs,
      () =>
        ymodemError('YMODEM_VERSION_NO_ANSWER', `version request not written within ${q.timeoutMs} ms`, {
          timeoutMs: q.timeoutMs,
          received: '',
        }),
      signal,
    );
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
      throw ymodemError(
        'YMODEM_VERSION_NO_ANSWER',
        `no answer matching ${q.responsePattern} within ${q.timeoutMs} ms`,
        { timeoutMs: q.timeoutMs, received: text.slice(-80) },
      );
    }
  }
}
