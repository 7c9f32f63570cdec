import type { Logger } from 'pino';
import { isBusError, throwIfAborted, type BusError } from '../../shared/errors.js';
import type { ImageSource } from '../../shared/image-source.js';
import { sleep, systemClock, type Clock } from '../clock.js';
import type { UdsClient } from './client.js';
import { CRC32_INIT, crc32Final, crc32Update } from './crc32.js';
import { udsError } from './errors.js';
import { Nrc } from './nrc.js';
import { Session } from './services/diagnostic-session-control.js';
import { ResetType } from './services/ecu-reset.js';
import { Did } from './services/read-data-by-identifier.js';
import { RoutineControlType, RoutineId } from './services/routine-control.js';
import type { SecurityKeyFunction } from './services/security-access.js';
import { concat, writeUint } from './services/service.js';
import { nextBlockSequenceCounter } from './services/transfer-data.js';

/** Where and how the image goes into the ECU's memory. */
export interface UdsMemoryLayout {
  /** Download (and erase) start address. */
  address: number;
  /** Bytes of the address / size fields in RequestDownload and the erase option record. Default 4 / 4. */
  addressLength?: number;
  sizeLength?: number;
  /** dataFormatIdentifier of RequestDownload. Default 0x00. */
  dataFormat?: number;
  /** Erase routine id. Default 0xFF00 (eraseMemory). */
  eraseRoutineId?: number;
  /** Erase option record: `alfid-address-size` (default) or `none`. */
  eraseOptionRecord?: 'alfid-address-size' | 'none';
  /** Check routine id, started with the image CRC-32 (4 bytes BE) as option record; status 0x00 = good. null = skip. Default 0x0202. */
  checkRoutineId?: number | null;
  /** Upper bound of data bytes per TransferData, below the ECU's maxNumberOfBlockLength − 2. Default none. */
  maxBlockData?: number;
}

export type UdsFlashPhase = 'session' | 'security' | 'erase' | 'download' | 'check' | 'reset' | 'verify';

export interface UdsFlashProgress {
  phase: UdsFlashPhase;
  bytesDone: number;
  bytesTotal: number;
  attempt: number;
}

export interface UdsFlashOptions {
  client: UdsClient;
  image: ImageSource;
  memory: UdsMemoryLayout;
  /** Security unlock before erase; omitted = none. */
  security?: { level: number; keyFunction: SecurityKeyFunction };
  /** Session for programming. Default 0x02. */
  programmingSession?: number;
  /** ECUReset type after programming. Default 0x01 hardReset. */
  resetType?: number;
  /**
   * How long the ECU may stay silent after the reset: TesterPresent is polled every `resetPollMs`
   * (default 100), each poll waiting at most `resetPollTimeoutMs` (default 500, capped by P2). Default 5000 ms.
   */
  resetTimeoutMs?: number;
  resetPollMs?: number;
  resetPollTimeoutMs?: number;
  /** DID holding the software version. Default 0xF189. */
  versionDid?: number;
  /** The version the new image must report; unset = read and return it without comparing. */
  expectedVersion?: string;
  /** Whole-sequence attempts; a recoverable failure (lost response, NRC 0x24/0x71/0x72/0x73, reset mid-transfer) starts again from the session. Default 2. */
  attempts?: number;
  onProgress?: (p: UdsFlashProgress) => void;
  signal?: AbortSignal;
  clock?: Clock;
  log?: Logger;
}

export interface UdsFlashResult {
  version: string;
  attempts: number;
  bytes: number;
  crc32: number;
  blocks: number;
}

/** Bytes read from the image at a time (whole TransferData blocks): few reads, bounded memory. */
const READ_WINDOW = 64 * 1024;

/** NRCs after which starting over from the session may succeed (reference §1.3 reactions). */
const RESTARTABLE_NRC = new Set([
  Nrc.requestSequenceError,
  Nrc.transferDataSuspended,
  Nrc.generalProgrammingFailure,
  Nrc.wrongBlockSequenceCounter,
  Nrc.uploadDownloadNotAccepted,
  Nrc.conditionsNotCorrect,
]);
const RESTARTABLE_CODES = new Set([
  'UDS_TIMEOUT_P2',
  'UDS_TIMEOUT_P2_STAR',
  'ISOTP_TIMEOUT_BS',
  'ISOTP_TIMEOUT_CR',
  'ISOTP_WRONG_SN',
  'ISOTP_RX_TIMEOUT',
  'ISOTP_RX_INTERRUPTED',
]);

/** True when a flash attempt that failed with `e` is worth repeating from the start. */
export function isRestartable(e: unknown): boolean {
  if (!isBusError(e)) return false;
  if (e.code === 'UDS_NEGATIVE_RESPONSE') return RESTARTABLE_NRC.has(e.details['nrc'] as never);
  return RESTARTABLE_CODES.has(e.code);
}

/** Decodes a version DID record: ASCII, trailing NUL/space padding dropped. */
export function decodeVersion(data: Uint8Array): string {
  let end = data.length;
  while (end > 0 && (data[end - 1] === 0 || data[end - 1] === 0x20 || data[end - 1] === 0xff)) end--;
  return Buffer.from(data.subarray(0, end)).toString('latin1');
}

/**
 * The UDS programming sequence (reference/bus-protocols.md §1.3 "Flash sequence"):
 *
 *   10 02 → 27 seed/key → 31 01 FF00 erase → 34 download → 36 × n (streamed, CRC-32 on the fly)
 *   → 37 → 31 01 <check> crc32 → 11 01 → TesterPresent until back → 22 F189 == expected
 *
 * The image is read block by block from `image` (never whole in memory). Throws coded BusErrors:
 * `UDS_CHECK_FAILED`, `UDS_VERSION_MISMATCH`, `UDS_ECU_NOT_BACK`, anything the client throws, or CancelledError.
 */
export async function flashUds(o: UdsFlashOptions): Promise<UdsFlashResult> {
  const attempts = o.attempts ?? 2;
  for (let attempt = 1; ; attempt++) {
    try {
      return await flashOnce(o, attempt);
    } catch (e) {
      if (attempt >= attempts || !isRestartable(e) || o.signal?.aborted) throw e;
      o.log?.warn(
        { attempt, code: (e as BusError).code, details: (e as BusError).details },
        'UDS flash attempt failed; starting over from the programming session',
      );
    }
  }
}

async function flashOnce(o: UdsFlashOptions, attempt: number): Promise<UdsFlashResult> {
  const { client, image, memory: m, signal } = o;
  const total = image.size;
  const clock = o.clock ?? systemClock;
  const progress = (phase: UdsFlashPhase, bytesDone: number) =>
    o.onProgress?.({ phase, bytesDone, bytesTotal: total, attempt });
  const al = m.addressLength ?? 4;
  const sl = m.sizeLength ?? 4;

  // The image's first window is read while the session, security and erase steps run (issue 16): the
  // download starts with data in hand.
  const readWindow = (offset: number): Promise<Uint8Array> => {
    const p =
      offset >= total
        ? Promise.resolve(new Uint8Array(0))
        : image.readAt(offset, Math.min(READ_WINDOW, total - offset));
    p.catch(() => {}); // awaited below; this only keeps an abandoned prefetch from being "unhandled"
    return p;
  };
  let nextWin = readWindow(0);

  progress('session', 0);
  await client.diagnosticSessionControl(o.programmingSession ?? Session.programming, { signal });
  if (o.security) {
    progress('security', 0);
    await client.securityAccess(o.security.level, o.security.keyFunction, { signal });
  }
  progress('erase', 0);
  const eraseRecord =
    (m.eraseOptionRecord ?? 'alfid-address-size') === 'none'
      ? undefined
      : concat([(sl << 4) | al], writeUint(m.address, al, 'memory.address'), writeUint(total, sl, 'image size'));
  await client.routineControl(RoutineControlType.start, m.eraseRoutineId ?? RoutineId.eraseMemory, eraseRecord, {
    signal,
  });

  const dl = await client.requestDownload(
    { address: m.address, size: total, addressLength: al, sizeLength: sl, dataFormat: m.dataFormat ?? 0 },
    { signal },
  );
  const blockData = Math.min(dl.maxNumberOfBlockLength - 2, m.maxBlockData ?? Infinity);
  let bsc = 1;
  let done = 0;
  let crc = CRC32_INIT;
  let blocks = 0;
  progress('download', 0);
  // Per-request work off the critical path (issue 16): each request is assembled in one reused buffer
  // from image windows read ahead (the next window is asked for right after a request is written, so
  // the read runs while that block is on the bus), and its CRC is computed while the answer is awaited.
  const request = new Uint8Array(2 + blockData);
  let win: Uint8Array = new Uint8Array(0);
  let winEnd = 0;
  let at = 0;
  while (done < total) {
    throwIfAborted(signal);
    const n = Math.min(blockData, total - done);
    let readNext = false;
    for (let filled = 0; filled < n;) {
      if (at >= win.length) {
        win = await nextWin;
        if (win.length === 0)
          throw udsError('UDS_INVALID_REQUEST', `image ended at ${done + filled} of ${total} bytes`, {
            offset: done + filled,
            size: total,
          });
        winEnd += win.length;
        at = 0;
        readNext = true;
      }
      const k = Math.min(n - filled, win.length - at);
      request.set(win.subarray(at, at + k), 2 + filled);
      at += k;
      filled += k;
    }
    const chunk = request.subarray(2, 2 + n);
    const answered = client.transferData(bsc, chunk, { signal, requestBuffer: request });
    if (readNext) nextWin = readWindow(winEnd);
    crc = crc32Update(crc, chunk);
    await answered;
    done += n;
    blocks++;
    bsc = nextBlockSequenceCounter(bsc);
    progress('download', done);
  }
  await client.requestTransferExit(undefined, { signal });
  const imageCrc = crc32Final(crc);

  const checkId = m.checkRoutineId === undefined ? 0x0202 : m.checkRoutineId;
  if (checkId !== null) {
    progress('check', total);
    const status = await client.routineControl(RoutineControlType.start, checkId, writeUint(imageCrc, 4, 'crc32'), {
      signal,
    });
    if (status.length > 0 && status[0] !== 0x00) {
      throw udsError(
        'UDS_CHECK_FAILED',
        `check routine 0x${checkId.toString(16)} reported status 0x${status[0]!.toString(16)} for CRC-32 0x${imageCrc.toString(16)}`,
        {
          routineId: checkId,
          status: status[0],
          crc32: imageCrc,
        },
      );
    }
  }

  progress('reset', total);
  await client.ecuReset(o.resetType ?? ResetType.hardReset, { signal });
  await waitUntilBack(o, clock);

  progress('verify', total);
  const version = decodeVersion(
    await client.readDataByIdentifier(o.versionDid ?? Did.vehicleManufacturerEcuSoftwareVersionNumber, { signal }),
  );
  if (o.expectedVersion !== undefined && version !== o.expectedVersion) {
    throw udsError(
      'UDS_VERSION_MISMATCH',
      `after the reset the ECU reports version "${version}", expected "${o.expectedVersion}"`,
      { expected: o.expectedVersion, actual: version },
    );
  }
  return { version, attempts: attempt, bytes: total, crc32: imageCrc, blocks };
}

/** Polls TesterPresent until the ECU answers after its reset, within resetTimeoutMs. */
async function waitUntilBack(o: UdsFlashOptions, clock: Clock): Promise<void> {
  const limitUs = (o.resetTimeoutMs ?? 5000) * 1000;
  const start = clock.now();
  let last: unknown;
  while (clock.now() - start < limitUs) {
    try {
      await o.client.testerPresent({
        signal: o.signal,
        retry: false,
        p2Ms: Math.min(o.client.timing.p2Ms, o.resetPollTimeoutMs ?? 500),
      });
      return;
    } catch (e) {
      if (!isBusError(e) || e.code === 'CANCELLED') throw e;
      last = e;
      await sleep(clock, (o.resetPollMs ?? 100) * 1000, o.signal);
    }
  }
  throw udsError(
    'UDS_ECU_NOT_BACK',
    `ECU silent for ${o.resetTimeoutMs ?? 5000} ms after ECUReset (resetTimeoutMs)`,
    { timeoutMs: o.resetTimeoutMs ?? 5000 },
    last,
  );
}
