/**
 * HTTP(S) download of one update file into `<dest>.part`, resumed with a `Range: bytes=<have>-`
 * request (RFC 9110 §14.2) after a cut connection, a 5xx or an agent restart, then renamed to
 * `dest`. The file is streamed to disk, never held in memory. Size and hash are the caller's
 * check (the manifest is the trust anchor); this only refuses more bytes than `sizeInBytes`.
 *
 * ```text
 * have = size(<dest>.part) ─▶ GET (Range if have > 0) ─▶ 206: append │ 200: rewrite from 0
 *        ▲                                              └─ cut / 5xx / refused: back off, retry
 *        └──────────────────────────────────────────────────────────────────────────────┘
 * ```
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, stat, truncate } from 'node:fs/promises';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { delay } from '../../drivers/shared/deadline.js';
import { SensorProxyError } from '../model/errors.js';
import type { Logger } from '../model/logger.js';
import { HubErc, HubError } from './hub-error.js';
import { bufferReclaimer } from './reclaim-buffers.js';

export interface DownloadOptions {
  url: string;
  /** Final path; the partial file is `<dest>.part`. */
  dest: string;
  /** Expected size in bytes (manifest `sizeInBytes`), or the most accepted when `sizeIsLimit`. */
  sizeInBytes: number;
  /**
   * The size is not known in advance (the root key package): `sizeInBytes` is only an upper bound
   * and the response's normal end (its full `Content-Length`) completes the file.
   */
  sizeIsLimit?: boolean;
  /** Requests per file before giving up, >= 1. Default 5. */
  attempts?: number;
  /** First back-off between attempts, ms; doubles up to 30 s. Default 500. */
  retryDelayMs?: number;
  /** A response that sends nothing for this long is cut and resumed, ms. Default 60000. */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
  log: Logger;
}

export interface DownloadResult {
  /** Bytes already on disk before each request that resumed (empty when none did). */
  resumedFrom: number[];
  requests: number;
}

/** Outcome of one request: done, or retry (resumable), or a final HubError. */
type Attempt = { kind: 'done' } | { kind: 'retry'; reason: string };

function cancelled(signal: AbortSignal | undefined): SensorProxyError {
  return new SensorProxyError('WORKFLOW_CANCELLED', 'download cancelled', { cause: signal?.reason });
}

async function partSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
}

/**
 * Downloads `url` to `dest`, resuming a previous partial file. Honours `signal` at every wait.
 * @throws HubError `HUB_DOWNLOAD_FAILED` (ERC `HubErc.httpStatus(status)` for 4xx,
 *   `DownloadUnreachable` / `DownloadTooLarge` after the attempts); SensorProxyError `WORKFLOW_CANCELLED`.
 */
export async function downloadWithResume(o: DownloadOptions): Promise<DownloadResult> {
  const attempts = o.attempts ?? 5;
  let backoff = o.retryDelayMs ?? 500;
  const part = `${o.dest}.part`;
  await mkdir(dirname(o.dest), { recursive: true });
  const res: DownloadResult = { resumedFrom: [], requests: 0 };
  let lastReason = '';
  for (let i = 0; i < attempts; i++) {
    if (o.signal?.aborted) throw cancelled(o.signal);
    let have = await partSize(part);
    if (have > o.sizeInBytes) {
      await truncate(part, 0);
      have = 0;
    }
    if (have > 0) res.resumedFrom.push(have);
    res.requests++;
    const r = await requestOnce(o, part, have);
    if (r.kind === 'done') {
      await rename(part, o.dest);
      return res;
    }
    lastReason = r.reason;
    o.log.warn(
      { url: redactUrl(o.url), attempt: i + 1, attempts, have, reason: r.reason },
      'download interrupted, will resume',
    );
    if (i + 1 < attempts) {
      try {
        await delay(backoff, o.signal);
      } catch {
        throw cancelled(o.signal);
      }
      backoff = Math.min(backoff * 2, 30_000);
    }
  }
  throw new HubError(
    'HUB_DOWNLOAD_FAILED',
    `download of ${redactUrl(o.url)} failed after ${attempts} attempts: ${lastReason}`,
    {
      erc: HubErc.DownloadUnreachable,
      details: { url: redactUrl(o.url), attempts },
    },
  );
}

/** One GET; resolves with how it ended. Writes into `part` (append on 206, rewrite on 200). */
async function requestOnce(o: DownloadOptions, part: string, have: number): Promise<Attempt> {
  const get = o.url.startsWith('https:') ? httpsGet : httpGet;
  const headers: Record<string, string> = have > 0 ? { range: `bytes=${have}-` } : {};
  let response: IncomingMessage;
  try {
    response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = get(o.url, { headers, ...(o.signal && { signal: o.signal }) }, resolve);
      req.setTimeout(o.idleTimeoutMs ?? 60_000, () => req.destroy(new Error('no response (idle timeout)')));
      req.on('error', reject);
    });
  } catch (e) {
    if (o.signal?.aborted) throw cancelled(o.signal);
    return { kind: 'retry', reason: (e as Error).message };
  }
  const status = response.statusCode ?? 0;
  if (status === 416 && have === o.sizeInBytes && !o.sizeIsLimit) {
    response.resume();
    return { kind: 'done' };
  }
  if (status !== 200 && status !== 206) {
    response.resume();
    // 4xx other than 408/429 will not get better by asking again.
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      throw new HubError('HUB_DOWNLOAD_FAILED', `GET ${redactUrl(o.url)}: HTTP ${status}`, {
        erc: HubErc.httpStatus(status),
        details: { url: redactUrl(o.url), status },
      });
    }
    if (status === 416) await truncate(part, 0);
    return { kind: 'retry', reason: `HTTP ${status}` };
  }
  const append = status === 206 && rangeStart(response.headers['content-range']) === have;
  if (status === 206 && !append) {
    response.resume();
    await truncate(part, 0).catch(() => undefined);
    return { kind: 'retry', reason: `unexpected Content-Range ${response.headers['content-range']}` };
  }
  let written = append ? have : 0;
  // Socket chunks are garbage once written; collect them every few MiB so memory stays bounded.
  const reclaim = bufferReclaimer();
  const limit = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      written += chunk.length;
      reclaim(chunk.length);
      if (written > o.sizeInBytes)
        cb(
          new HubError(
            'HUB_DOWNLOAD_FAILED',
            o.sizeIsLimit
              ? `${redactUrl(o.url)} sends more than ${o.sizeInBytes} bytes, the most accepted`
              : `${redactUrl(o.url)} sends more than the ${o.sizeInBytes} bytes the manifest lists`,
            { erc: HubErc.DownloadTooLarge },
          ),
        );
      else cb(null, chunk);
    },
  });
  response.setTimeout(o.idleTimeoutMs ?? 60_000, () => response.destroy(new Error('body stalled (idle timeout)')));
  try {
    await pipeline(
      response,
      limit,
      createWriteStream(part, { flags: append ? 'a' : 'w' }),
      ...(o.signal ? [{ signal: o.signal }] : []),
    );
  } catch (e) {
    if (o.signal?.aborted) throw cancelled(o.signal);
    if (e instanceof HubError) {
      await truncate(part, 0);
      throw e;
    }
    return { kind: 'retry', reason: `connection cut after ${written} bytes: ${(e as Error).message}` };
  }
  if (written < o.sizeInBytes && !o.sizeIsLimit)
    return { kind: 'retry', reason: `body ended at ${written} of ${o.sizeInBytes} bytes` };
  return { kind: 'done' };
}

function rangeStart(header: string | undefined): number | undefined {
  const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(header ?? '');
  return m ? Number(m[1]) : undefined;
}

/** A URL without its query (blob SAS tokens live there) for logs and results. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : `${url.slice(0, q)}?…`;
}
