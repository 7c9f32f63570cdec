import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { ReceiveBuffer } from '../../drivers/serial/receive-buffer.js';
import { delay } from '../../drivers/shared/deadline.js';
import { BusError, CancelledError, isBusError } from '../../drivers/shared/errors.js';
import type { BlockCheck } from '../../drivers/serial/ymodem/constants.js';
import {
  YmodemSimReceiver,
  type BatchOutcome,
  type BatchStats,
  type ReceiverTiming,
  type YmodemSimFaults,
} from './ymodem-sim-receiver.js';

export type { YmodemSimFaults } from './ymodem-sim-receiver.js';

/**
 * The simulator's end of the wire, event style. `PacedPort` (a pty end paced at a baud rate) and
 * `MemoryLink` (ymodem-memory-link.ts) both fit.
 */
export interface YmodemSimPort {
  write(data: Uint8Array): Promise<void>;
  onData(listener: (data: Uint8Array) => void): void;
  close(): Promise<void>;
  /** Fault injection: the port vanishes (unplug). Without it `disappearAt` closes the port. */
  disappear?(): Promise<void>;
  /** Modem line changes from the host; only where the transport carries them (not a pty). */
  onControlLines?(listener: (lines: { dtr: boolean; rts: boolean }) => void): void;
}

/** How the application is told to jump into the bootloader. */
export type YmodemSimEntry =
  /** A magic byte sequence on the line, e.g. "\x7fBOOT\r". */
  | { type: 'bytes'; bytes: Uint8Array }
  /** DTR asserted then released (seen only where the port carries lines; on a pty use {@link YmodemBootloaderSim.enterBootloader}). */
  | { type: 'dtr-pulse' }
  /** Only {@link YmodemBootloaderSim.enterBootloader} (a reset button, a GPIO the test drives). */
  | { type: 'external' };

export interface YmodemBootloaderSimOptions {
  port: YmodemSimPort;
  /** Default `{ type: 'bytes', bytes: "\x7fBOOT\r" }`. */
  entry?: YmodemSimEntry;
  /** Mode at start. Default 'app'. */
  startIn?: 'app' | 'bootloader';
  /** Version the application reports before any flash. Default '1.0.0'. */
  version?: string;
  /** The application's version query. Defaults: request "VERSION?\r", response `v${version}\r\n`. */
  versionQuery?: { request?: string; response?: (version: string) => string };
  /** Version of a received image. Default: the `VER:x.y.z` marker in the image; undefined keeps the old version. */
  versionFromImage?: (image: Uint8Array, fileName: string) => string | undefined;
  /** Receiver timings (defaults from the spec, see ReceiverTiming) plus `bootMs`: reset-to-app time after a batch, default 50. */
  timing?: Partial<ReceiverTiming> & { bootMs?: number };
  /** Fault switches (fire once per simulator); `bootFails`: the new image does not start, the old version stays. */
  faults?: YmodemSimFaults & { bootFails?: boolean };
  /** Text written when the bootloader starts (before the 'C's), as many vendor bootloaders print. Default none. */
  banner?: string;
  /**
   * How the bootloader checks blocks. `checksum`: it asks with NAK instead of 'C', expects the 8-bit
   * checksum and takes 128-byte blocks only (old XMODEM-derived bootloaders). Default 'crc'.
   */
  check?: BlockCheck;
  log?: Logger;
}

export type SimMode = 'app' | 'bootloader' | 'booting' | 'gone' | 'stopped';

/**
 * One batch as the simulator saw it. `startedAt`/`endedAt` (`performance.now()`): first file header
 * received intact / batch ended; for throughput figures measured at the device.
 */
export type TransferRecord = BatchOutcome & { stats: BatchStats; startedAt: number | undefined; endedAt: number };

/** Default entry sequence: DEL, "BOOT", CR. */
export const DEFAULT_ENTRY_BYTES: Uint8Array = new TextEncoder().encode('\x7fBOOT\r');

/** The `VER:x.y.z` marker rule. */
export function versionMarker(image: Uint8Array): string | undefined {
  return /VER:(\d+\.\d+\.\d+)/.exec(
    Buffer.from(image.buffer, image.byteOffset, image.byteLength).toString('latin1'),
  )?.[1];
}

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal.aborted) return reject(new CancelledError(signal.reason));
    signal.addEventListener('abort', () => reject(new CancelledError(signal.reason)), { once: true });
  });
}

const ENTRY_TIMING: ReceiverTiming = {
  cIntervalMs: 1000,
  blockTimeoutMs: 10_000,
  interByteTimeoutMs: 1000,
  flashWriteMsPerBlock: 0,
  eraseMs: 0,
  maxErrors: 10,
};

/**
 * A vendor-style YMODEM bootloader behind an application, on the far end of a serial line:
 *
 * ```
 * app ──entry (magic bytes | DTR pulse | enterBootloader())──▶ bootloader: 'C' every cIntervalMs
 *  ▲                                                              │ batch received
 *  └──────────── boot after bootMs: version from the image ◀──────┘ (failed/cancelled: stays)
 * ```
 *
 * The application answers the version query; the bootloader stores the received image and keeps
 * a record per batch ({@link transfers}). Standalone use on a pty: `ymodem-sim-cli.ts`.
 */
export class YmodemBootloaderSim {
  mode: SimMode;
  version: string;
  /** Last image flashed, with its name. */
  image: Uint8Array | undefined;
  fileName: string | undefined;
  readonly transfers: TransferRecord[] = [];
  readonly stats = { entries: 0, boots: 0, versionQueries: 0 };
  private readonly rx = new ReceiveBuffer('ymodem-sim');
  private readonly life = new AbortController();
  private wake = new AbortController();
  private readonly events = new EventEmitter();
  private readonly timing: ReceiverTiming & { bootMs: number };
  private readonly receiver: YmodemSimReceiver;
  private readonly loop: Promise<void>;
  /** The error that stopped the simulator's loop, if any. */
  failure: unknown;

  constructor(private readonly o: YmodemBootloaderSimOptions) {
    this.mode = o.startIn ?? 'app';
    this.version = o.version ?? '1.0.0';
    this.timing = { ...ENTRY_TIMING, bootMs: 50, ...o.timing };
    o.port.onData((d) => this.rx.push(d.slice()));
    const entry = o.entry ?? { type: 'bytes', bytes: DEFAULT_ENTRY_BYTES };
    if (entry.type === 'dtr-pulse') {
      if (!o.port.onControlLines) o.log?.warn('port carries no control lines: use enterBootloader() for a DTR entry');
      let dtr = false;
      o.port.onControlLines?.((lines) => {
        if (dtr && !lines.dtr) this.enterBootloader();
        dtr = lines.dtr;
      });
    }
    this.receiver = new YmodemSimReceiver(
      {
        read: (max, ms) => this.read(max, ms),
        write: (d) => this.o.port.write(d),
        discard: () => this.rx.discard(),
        sleep: (ms) => (Number.isFinite(ms) ? delay(ms, this.life.signal) : untilAborted(this.life.signal)),
        disappear: () => (this.o.port.disappear ? this.o.port.disappear() : this.o.port.close()),
      },
      this.timing,
      o.faults,
      o.check,
    );
    this.loop = this.run().catch((e: unknown) => {
      if (this.life.signal.aborted) return;
      this.failure = e;
      o.log?.error({ err: e }, 'ymodem sim stopped on an error');
      this.setMode('stopped');
    });
  }

  /** Jumps from the application into the bootloader (reset into bootloader). No effect in other modes. */
  enterBootloader(): void {
    if (this.mode === 'app') this.wake.abort('enter bootloader');
  }

  /** Resolves with the `n`-th batch record (1-based) once it exists, or rejects after `timeoutMs`. */
  async waitForTransfer(n: number, timeoutMs: number): Promise<TransferRecord> {
    const until = performance.now() + timeoutMs;
    while (this.transfers.length < n) await this.waitEvent('transfer', Math.max(1, until - performance.now()));
    return this.transfers[n - 1]!;
  }

  /** Resolves when the simulator is in `mode` (at once if it is), or rejects after `timeoutMs`. */
  async waitForMode(mode: SimMode, timeoutMs: number): Promise<void> {
    while (this.mode !== mode) await this.waitEvent('mode', timeoutMs);
  }

  /** Stops the simulator and closes its port. Idempotent. Rethrows an error that stopped the simulator early. */
  async close(): Promise<void> {
    this.life.abort('simulator closed');
    this.rx.fail(() => new BusError('SERIAL_CLOSED', 'simulator closed'), true);
    await this.loop;
    if (this.mode !== 'gone') await this.o.port.close();
    this.setMode('stopped');
    if (this.failure !== undefined) throw this.failure as Error;
  }

  private async run(): Promise<void> {
    while (!this.life.signal.aborted) {
      if (this.mode === 'app') await this.appMode();
      else if (this.mode === 'bootloader') await this.bootloaderMode();
      else return;
    }
  }

  private async appMode(): Promise<void> {
    const entry = this.o.entry ?? { type: 'bytes', bytes: DEFAULT_ENTRY_BYTES };
    const magic = entry.type === 'bytes' ? Buffer.from(entry.bytes).toString('latin1') : undefined;
    const request = this.o.versionQuery?.request ?? 'VERSION?\r';
    const respond = this.o.versionQuery?.response ?? ((v: string) => `v${v}\r\n`);
    this.wake = new AbortController();
    const signal = AbortSignal.any([this.life.signal, this.wake.signal]);
    let window = '';
    while (this.mode === 'app') {
      let chunk: Uint8Array;
      try {
        chunk = await this.rx.read(256, 3_600_000, signal);
      } catch (e) {
        if (this.life.signal.aborted) return;
        if (this.wake.signal.aborted) return this.setMode('bootloader');
        if (isBusError(e, 'SERIAL_TIMEOUT')) continue;
        throw e;
      }
      window = (window + Buffer.from(chunk).toString('latin1')).slice(-256);
      if (magic !== undefined && window.endsWith(magic)) {
        this.o.log?.debug('ymodem sim: entry sequence');
        return this.setMode('bootloader');
      }
      if (window.endsWith(request)) {
        window = '';
        this.stats.versionQueries++;
        await this.o.port.write(new TextEncoder().encode(respond(this.version)));
      }
    }
  }

  private async bootloaderMode(): Promise<void> {
    this.stats.entries++;
    this.rx.discard();
    if (this.o.banner) await this.o.port.write(new TextEncoder().encode(this.o.banner));
    while (this.mode === 'bootloader') {
      const before = { ...this.receiver.stats };
      const outcome = await this.receiver.receiveBatch();
      const s = this.receiver.stats;
      const stats = {
        blocks: s.blocks - before.blocks,
        naks: s.naks - before.naks,
        duplicates: s.duplicates - before.duplicates,
      };
      const record: TransferRecord = {
        ...outcome,
        stats,
        startedAt: this.receiver.headerAt,
        endedAt: performance.now(),
      };
      this.transfers.push(record);
      this.o.log?.info({ outcome: outcome.kind, files: outcome.files.map((f) => f.fileName) }, 'ymodem sim: batch');
      const file = outcome.files[0];
      if (file) {
        this.image = file.data;
        this.fileName = file.fileName;
      }
      this.events.emit('transfer', record);
      if (outcome.kind === 'gone') return this.setMode('gone');
      if (outcome.kind === 'complete') return this.boot();
    }
  }

  private async boot(): Promise<void> {
    this.setMode('booting');
    await delay(this.timing.bootMs, this.life.signal);
    if (this.image && this.fileName !== undefined && !this.o.faults?.bootFails) {
      this.version = (this.o.versionFromImage ?? versionMarker)(this.image, this.fileName) ?? this.version;
    }
    this.stats.boots++;
    this.rx.discard();
    this.setMode('app');
  }

  private async read(max: number, timeoutMs: number): Promise<Uint8Array | undefined> {
    try {
      return await this.rx.read(max, timeoutMs, this.life.signal);
    } catch (e) {
      if (isBusError(e, 'SERIAL_TIMEOUT')) return undefined;
      throw e;
    }
  }

  private setMode(mode: SimMode): void {
    if (this.mode === mode) return;
    this.mode = mode;
    this.events.emit('mode', mode);
  }

  private waitEvent<T>(name: string, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.events.off(name, on);
        reject(new Error(`ymodem sim: no ${name} event within ${timeoutMs} ms (mode ${this.mode})`));
      }, timeoutMs);
      const on = (v: T) => {
        clearTimeout(timer);
        resolve(v);
      };
      this.events.once(name, on);
    });
  }
}
