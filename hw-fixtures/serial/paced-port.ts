import type { Logger } from 'pino';
import { SerialPort } from 'serialport';
import { delay } from '../../drivers/shared/deadline.js';
import { isCancelled, throwIfAborted } from '../../drivers/shared/errors.js';

export interface PacedPortOptions {
  /** The simulator's end of the pty pair. */
  path: string;
  /**
   * Line rate the simulated UART runs at, baud. A pty has none, so bytes are released no faster
   * than `bitsPerByte / baudRate` seconds each, in both directions. 0 = no pacing. Default 115200.
   */
  baudRate?: number;
  /** Bits on the wire per byte: 10 for 8N1 (start + 8 data + stop), 11 for 8E1. Default 10. */
  bitsPerByte?: number;
  /**
   * Timestamps of the pty end itself, before pacing (`rx`: a chunk the host's bytes arrived in) and
   * after it (`tx`: a piece handed to the pty): turnaround measurements at the device side.
   */
  onWire?: (dir: 'rx' | 'tx', data: Uint8Array, at: number) => void;
  log?: Logger;
}

/** Longest burst written to the pty in one go, in line time (ms): keeps the pacing smooth. */
const SLICE_MS = 2;

/** Timers fire up to ~1 ms late; the last stretch before a deadline is waited out on setImmediate. */
const SPIN_MS = 1.5;

/**
 * Resolves at `target` (performance.now() ms) with sub-millisecond accuracy: a timer for the
 * bulk, then event-loop turns for the last {@link SPIN_MS}. Rejects with CancelledError on abort.
 */
async function sleepUntil(target: number, signal: AbortSignal): Promise<void> {
  const coarse = target - performance.now() - SPIN_MS;
  if (coarse >= 1) await delay(coarse, signal);
  while (performance.now() < target) {
    throwIfAborted(signal);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * What a device simulator holds on its end of a pty pair: a `serialport` port whose output is
 * paced at a baud rate (the host sees bytes arrive as fast as a real UART would deliver them)
 * and whose input is handed to the simulator no earlier than it would have finished arriving.
 *
 * Pacing keeps an absolute "line free at" time per direction, so timer jitter does not
 * accumulate. `disappear()` closes the port mid-transfer (fault injection); `reopen()` brings it
 * back with stale input flushed, as a rebooted device would.
 */
export class PacedPort {
  private port: SerialPort | undefined;
  private session = new AbortController();
  private txFreeAt = 0;
  private rxFreeAt = 0;
  private txChain: Promise<void> = Promise.resolve();
  private readonly listeners: ((data: Uint8Array) => void)[] = [];
  private readonly baudRate: number;
  private readonly bitsPerByte: number;
  /** Bytes that left / reached the simulated UART since construction. */
  readonly stats = { bytesOut: 0, bytesIn: 0, disappearances: 0 };

  private constructor(private readonly options: PacedPortOptions) {
    this.baudRate = options.baudRate ?? 115200;
    this.bitsPerByte = options.bitsPerByte ?? 10;
  }

  static async open(options: PacedPortOptions): Promise<PacedPort> {
    const p = new PacedPort(options);
    await p.reopen();
    return p;
  }

  get path(): string {
    return this.options.path;
  }

  get isOpen(): boolean {
    return this.port?.isOpen === true;
  }

  /** Line time of `n` bytes at the configured rate, ms (0 when unpaced). */
  lineTimeMs(n: number): number {
    return this.baudRate > 0 ? (n * this.bitsPerByte * 1000) / this.baudRate : 0;
  }

  /** Registers a receiver of (paced) incoming bytes. */
  onData(listener: (data: Uint8Array) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Queues bytes for paced output; resolves when the last byte has left the simulated line.
   * Writes are sent in call order. Resolves early (dropping the rest) when the port disappears.
   */
  write(data: Uint8Array): Promise<void> {
    const signal = this.session.signal;
    const job = this.txChain.then(() => this.pacedWrite(data, signal));
    this.txChain = job.catch(() => undefined);
    return job;
  }

  /** Closes the port now: output in flight stops, input is no longer delivered. */
  async disappear(): Promise<void> {
    this.stats.disappearances++;
    this.options.log?.info('paced port: disappear');
    await this.closePort();
  }

  /** (Re)opens the port, discarding whatever the host sent while it was away. */
  async reopen(): Promise<void> {
    if (this.isOpen) return;
    this.session = new AbortController();
    const signal = this.session.signal;
    const port = new SerialPort({ path: this.options.path, baudRate: 115200, autoOpen: false, hupcl: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    await new Promise<void>((resolve, reject) => port.flush((err) => (err ? reject(err) : resolve())));
    port.on('data', (chunk: Buffer) =>
      this.received(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length), signal),
    );
    port.on('error', (err: Error) => this.options.log?.warn({ err }, 'paced port error'));
    this.port = port;
    this.txFreeAt = this.rxFreeAt = 0;
  }

  async close(): Promise<void> {
    await this.closePort();
  }

  private async closePort(): Promise<void> {
    this.session.abort(new Error('paced port closed'));
    const port = this.port;
    this.port = undefined;
    if (!port?.isOpen) return;
    await new Promise<void>((resolve, reject) => port.close((err) => (err ? reject(err) : resolve())));
  }

  private received(data: Uint8Array, signal: AbortSignal): void {
    const now = performance.now();
    this.options.onWire?.('rx', data, now);
    this.rxFreeAt = Math.max(now, this.rxFreeAt) + this.lineTimeMs(data.length);
    const deliver = () => {
      if (signal.aborted) return;
      this.stats.bytesIn += data.length;
      for (const l of this.listeners) l(data);
    };
    if (this.rxFreeAt <= now) return deliver();
    sleepUntil(this.rxFreeAt, signal).then(deliver, (e: unknown) => {
      if (!isCancelled(e)) this.options.log?.error({ err: e }, 'paced port: receive pacing failed');
    });
  }

  private async pacedWrite(data: Uint8Array, signal: AbortSignal): Promise<void> {
    const slice =
      this.baudRate > 0 ? Math.max(1, Math.floor((this.baudRate / this.bitsPerByte) * (SLICE_MS / 1000))) : data.length;
    for (let off = 0; off < data.length; off += slice) {
      if (signal.aborted) return;
      const piece = data.subarray(off, off + slice);
      // A byte reaches the far end when its stop bit is done: wait out the line time, then hand it over.
      const now = performance.now();
      this.txFreeAt = Math.max(now, this.txFreeAt) + this.lineTimeMs(piece.length);
      try {
        await sleepUntil(this.txFreeAt, signal);
        const port = this.port;
        if (!port || signal.aborted) return;
        this.options.onWire?.('tx', piece, performance.now());
        await new Promise<void>((resolve, reject) =>
          port.write(Buffer.from(piece), (err) => (err ? reject(err) : resolve())),
        );
      } catch (e) {
        // The port disappeared mid-write: the rest is lost, as on a real line.
        if (isCancelled(e) || signal.aborted) return;
        throw e;
      }
      this.stats.bytesOut += piece.length;
    }
  }
}
