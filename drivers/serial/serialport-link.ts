import type { Logger } from 'pino';
import { SerialPort } from 'serialport';
import { BusError, CancelledError } from '../shared/errors.js';
import type { SerialLink, SerialLinkOptions } from './link.js';
import { directIoBinding, type SerialPortBinding } from './direct-io-binding.js';
import { ReceiveBuffer } from './receive-buffer.js';
import { childLog } from '../shared/child-log.js';

/** Options of {@link openSerialLink}. */
export interface SerialportLinkOptions extends SerialLinkOptions {
  /** Parent logger; the link logs through a child `{ component: 'serial.link', port }`. */
  log?: Logger;
  /** Exclusive lock (TIOCEXCL) so no second process opens the port. Default true. */
  lock?: boolean;
  /**
   * The `serialport` binding to open through; default the platform's with reads and writes on the
   * event-loop thread ({@link directIoBinding}). A seam for tests that inject faults below the
   * stream (e.g. a failing modem-line ioctl).
   */
  binding?: SerialPortBinding;
}

export type { SerialPortBinding };

/** serialport reports open failures as text only ("…, cannot open /dev/x"); errno names by message. */
const OPEN_ERRNO: ReadonlyArray<[RegExp, string, string]> = [
  [
    /No such file or directory/i,
    'ENOENT',
    'check the device path and the cable; USB adapters can change name on replug (use /dev/serial/by-id)',
  ],
  [/Permission denied/i, 'EACCES', 'add the agent user to the "dialout" group, or run with access to the port'],
  [
    /Cannot lock port|Resource temporarily unavailable/i,
    'EBUSY',
    'another process holds the port (ModemManager, gpsd, a terminal program); stop it or set lock:false',
  ],
  [/Device or resource busy/i, 'EBUSY', 'another process holds the port'],
  [/Inappropriate ioctl|Not a typewriter/i, 'ENOTTY', 'the path is not a serial device'],
  [/No such device/i, 'ENXIO', 'the device is gone (unplugged?)'],
];

/** Modem-line ioctls a pty does not implement; `setControlLines` is a logged no-op there. */
// "Function not implemented": qemu-user (a Pi userland emulated on x86, make test-arm) does not emulate them on a pty.
const NO_MODEM_LINES = /Inappropriate ioctl for device|Invalid argument|Function not implemented/i;

/**
 * Opens a serial port through the `serialport` package and returns it as a {@link SerialLink}.
 *
 * `assertControlLinesOnOpen: false`: on Linux the kernel raises DTR/RTS inside `open(2)` whenever
 * the port's termios baud is not B0 (`tty_port_block_til_ready`, also for the O_NONBLOCK open
 * serialport does; serial_core and cdc-acm go through it), so user space cannot stop that edge
 * (reference/bus-protocols.md §4). What works from user space: open with `hupcl: false`, so closing
 * never drops the lines (no edge on close), and deassert DTR and RTS right after open, which
 * shrinks the open pulse to the open→ioctl gap (tens of µs). That is enough for ESP32-style
 * two-transistor auto-reset circuits (they need DTR and RTS in opposite states); a board with a
 * capacitor-coupled DTR reset (Arduino) may still see the edge. Checked on ptys (no modem lines:
 * the ioctl fails with ENOTTY and is skipped); not measured on a real UART here.
 *
 * Throws BusError `SERIAL_OPEN_FAILED` with details `{ path, errno, hint }`, or `SERIAL_IO` when the
 * port opened but its control lines could not be set (EIO: the adapter went away); the port is
 * closed again before either is thrown. ENOTTY/EINVAL/ENOSYS on the modem lines mean "no modem
 * lines" (ptys, qemu-user) and are not errors.
 */
export async function openSerialLink(options: SerialportLinkOptions): Promise<SerialLink> {
  const baudRate = options.baudRate ?? 115200;
  const quietLines = options.assertControlLinesOnOpen === false;
  const log = options.log && childLog(options.log, { component: 'serial.link', port: options.path });
  const port = new SerialPort({
    path: options.path,
    baudRate,
    autoOpen: false,
    lock: options.lock ?? true,
    hupcl: !quietLines,
    // serialport takes `binding` from the options over its default (SerialPort's constructor spreads them last).
    ...({ binding: options.binding ?? directIoBinding() } as object),
  });
  try {
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const hit = OPEN_ERRNO.find(([re]) => re.test(msg));
    throw new BusError(
      'SERIAL_OPEN_FAILED',
      `cannot open ${options.path}: ${msg}`,
      {
        path: options.path,
        errno: hit?.[1] ?? 'UNKNOWN',
        hint: hit?.[2] ?? 'check the device path and permissions',
      },
      e,
    );
  }
  const link = new SerialportLink(port, options.path, log);
  if (quietLines) {
    try {
      await link.setControlLines({ dtr: false, rts: false });
    } catch (e) {
      // The port is open: close it before reporting, or its poller keeps the process alive (issue 13 item 7:
      // EIO from an adapter that vanished between open and ioctl left `list` hanging forever).
      await link.close().catch((ce: unknown) => log?.warn({ err: ce }, 'closing after a failed open failed too'));
      throw e;
    }
  }
  log?.debug({ baudRate, quietLines }, 'serial port open');
  return link;
}

/**
 * {@link SerialLink} on a `serialport` stream. Received bytes go into a {@link ReceiveBuffer}
 * at once (flowing mode), so nothing is lost between reads; reads wait on that buffer.
 */
export class SerialportLink implements SerialLink {
  private readonly rx: ReceiveBuffer;
  private state: 'open' | 'closed' | 'disconnected' = 'open';

  constructor(
    private readonly port: SerialPort,
    readonly path: string,
    private readonly log?: Logger,
  ) {
    this.rx = new ReceiveBuffer(path);
    port.on('data', (chunk: Buffer) => {
      if (log?.isLevelEnabled('trace')) log.trace({ dir: 'rx', len: chunk.length, hex: chunk.toString('hex') }, 'rx');
      this.rx.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    });
    port.on('close', (err: (Error & { disconnected?: boolean }) | null) => {
      if (this.state !== 'open') return;
      this.state = 'disconnected';
      log?.warn({ err: err ?? undefined }, 'serial port disconnected');
      this.rx.fail(
        () =>
          new BusError(
            'SERIAL_DISCONNECTED',
            `${path} disconnected${err ? `: ${err.message}` : ''}`,
            { path },
            err ?? undefined,
          ),
      );
    });
    port.on('error', (err: Error) => {
      log?.error({ err }, 'serial port error');
    });
  }

  async write(data: Uint8Array, signal?: AbortSignal, opts?: { drain?: boolean }): Promise<void> {
    this.assertUsable();
    if (signal?.aborted) throw new CancelledError(signal.reason);
    if (this.log?.isLevelEnabled('trace'))
      this.log.trace({ dir: 'tx', len: data.length, hex: Buffer.from(data).toString('hex') }, 'tx');
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(new CancelledError(signal?.reason));
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (err: Error | null | undefined) => {
        signal?.removeEventListener('abort', onAbort);
        if (!err) return resolve();
        reject(
          this.state === 'open'
            ? new BusError(
                'SERIAL_DISCONNECTED',
                `write to ${this.path} failed: ${err.message}`,
                { path: this.path },
                err,
              )
            : this.stateError(),
        );
      };
      this.port.write(buf, (err) => {
        if (err || opts?.drain === false) return done(err);
        this.port.drain((e) => done(e));
      });
    });
  }

  read(max: number, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array> {
    return this.rx.read(max, timeoutMs, signal);
  }

  readExactly(n: number, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array> {
    return this.rx.readExactly(n, timeoutMs, signal);
  }

  discardInput(): void {
    this.rx.discard();
  }

  /** On a backend without modem lines (pty: ENOTTY) this logs at debug and returns. */
  async setControlLines(lines: { dtr?: boolean; rts?: boolean }): Promise<void> {
    this.assertUsable();
    const settings: { dtr?: boolean; rts?: boolean } = {};
    if (lines.dtr !== undefined) settings.dtr = lines.dtr;
    if (lines.rts !== undefined) settings.rts = lines.rts;
    try {
      await new Promise<void>((resolve, reject) => this.port.set(settings, (err) => (err ? reject(err) : resolve())));
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (!NO_MODEM_LINES.test(msg))
        throw new BusError(
          'SERIAL_IO',
          `cannot set control lines on ${this.path}: ${msg}`,
          { path: this.path, lines },
          e,
        );
      this.log?.debug({ lines, reason: msg }, 'port has no modem control lines; setControlLines ignored');
    }
  }

  /** Idempotent. Pending reads reject with `SERIAL_CLOSED`. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    this.rx.fail(() => new BusError('SERIAL_CLOSED', `${this.path} is closed`, { path: this.path }), true);
    if (!wasOpen || !this.port.isOpen) return;
    await new Promise<void>((resolve, reject) =>
      this.port.close((err) =>
        err
          ? reject(new BusError('SERIAL_IO', `closing ${this.path} failed: ${err.message}`, { path: this.path }, err))
          : resolve(),
      ),
    );
    this.log?.debug('serial port closed');
  }

  private stateError(): BusError {
    return this.state === 'closed'
      ? new BusError('SERIAL_CLOSED', `${this.path} is closed`, { path: this.path })
      : new BusError('SERIAL_DISCONNECTED', `${this.path} disconnected`, { path: this.path });
  }

  private assertUsable(): void {
    if (this.state !== 'open') throw this.stateError();
  }
}
