import { BusError, CancelledError } from '../../drivers/shared/errors.js';
import type { SerialLink } from '../../drivers/serial/link.js';
import { ReceiveBuffer } from '../../drivers/serial/receive-buffer.js';

/** Modem control line levels as last set by one end. */
export interface ControlLines {
  dtr: boolean;
  rts: boolean;
}

/**
 * One end of an in-memory serial cable: a {@link SerialLink} for unit tests of YMODEM code, with
 * the same teardown contract as the `serialport` backend (it uses the same {@link ReceiveBuffer}):
 * `close()` rejects pending reads with `SERIAL_CLOSED` and the peer's with `SERIAL_DISCONNECTED`;
 * an aborted read rejects with CancelledError and leaves the link usable.
 *
 * Unlike a pty it carries modem control lines: `setControlLines` on one end reaches the other's
 * {@link MemoryLink.onControlLines} listeners (a simulated DTR/RTS bootloader entry). A device
 * simulator may take its input as events ({@link MemoryLink.onData}) instead of reads.
 * Bytes are delivered on a later macrotask, never inside `write`, as a real port would.
 */
export class MemoryLink implements SerialLink {
  private peer: MemoryLink | undefined;
  private readonly rx: ReceiveBuffer;
  private state: 'open' | 'closed' | 'disconnected' = 'open';
  private readonly dataListeners: ((data: Uint8Array) => void)[] = [];
  private readonly lineListeners: ((lines: ControlLines, changed: Partial<ControlLines>) => void)[] = [];
  /** Levels this end drives (both start asserted, as after a default Linux open). */
  readonly lines: ControlLines = { dtr: true, rts: true };
  /** Every `setControlLines` call on this end, in order. */
  readonly lineHistory: Partial<ControlLines>[] = [];
  /** Bytes written by this end, total. */
  bytesWritten = 0;

  /**
   * @param persistent the end outlives its peer, like a device behind a tty that the host opens
   *   and closes again and again (see {@link createMemoryPort}); default false.
   */
  constructor(
    readonly path: string,
    private readonly persistent = false,
  ) {
    this.rx = new ReceiveBuffer(path);
  }

  /** Connects two ends; used by {@link createMemoryLinkPair}. */
  static connect(a: MemoryLink, b: MemoryLink): void {
    a.peer = b;
    b.peer = a;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  async write(data: Uint8Array, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw new CancelledError(signal.reason);
    this.assertUsable();
    const copy = data.slice();
    this.bytesWritten += copy.length;
    const peer = this.peer;
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        peer?.deliver(copy);
        resolve();
      }),
    );
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

  async setControlLines(lines: { dtr?: boolean; rts?: boolean }): Promise<void> {
    this.assertUsable();
    const changed: Partial<ControlLines> = {};
    if (lines.dtr !== undefined) changed.dtr = this.lines.dtr = lines.dtr;
    if (lines.rts !== undefined) changed.rts = this.lines.rts = lines.rts;
    this.lineHistory.push(changed);
    const peer = this.peer;
    const snapshot = { ...this.lines };
    setImmediate(() => peer?.lineChanged(snapshot, changed));
  }

  /** Receives incoming bytes as events instead of reads (for simulators); bytes then skip the read buffer. */
  onData(listener: (data: Uint8Array) => void): void {
    this.dataListeners.push(listener);
  }

  /** Called when the peer changes its control lines, with the peer's new levels. */
  onControlLines(listener: (lines: ControlLines, changed: Partial<ControlLines>) => void): void {
    this.lineListeners.push(listener);
  }

  /** Idempotent. Pending reads here reject with `SERIAL_CLOSED`; the peer becomes disconnected. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.rx.fail(() => new BusError('SERIAL_CLOSED', `${this.path} is closed`, { path: this.path }), true);
    const peer = this.peer;
    setImmediate(() => peer?.lost(this));
  }

  /** Fault injection: this end vanishes (device unplugged); same as `close()` seen from the peer. */
  disappear(): Promise<void> {
    return this.close();
  }

  private deliver(data: Uint8Array): void {
    if (this.state !== 'open') return;
    if (this.dataListeners.length > 0) for (const l of this.dataListeners) l(data);
    else this.rx.push(data);
  }

  private lineChanged(lines: ControlLines, changed: Partial<ControlLines>): void {
    if (this.state !== 'open') return;
    for (const l of this.lineListeners) l(lines, changed);
  }

  private lost(from: MemoryLink): void {
    if (this.state !== 'open' || this.peer !== from) return; // a newer peer has connected since
    if (this.persistent) {
      this.peer = undefined;
      return;
    }
    this.state = 'disconnected';
    this.rx.fail(
      () => new BusError('SERIAL_DISCONNECTED', `${this.path} disconnected (peer closed)`, { path: this.path }),
    );
  }

  private assertUsable(): void {
    if (this.state === 'closed') throw new BusError('SERIAL_CLOSED', `${this.path} is closed`, { path: this.path });
    if (this.state === 'disconnected')
      throw new BusError('SERIAL_DISCONNECTED', `${this.path} disconnected`, { path: this.path });
  }
}

/** A connected pair: `host` for the code under test, `device` for a simulator or a scripted peer. */
export function createMemoryLinkPair(paths: { host?: string; device?: string } = {}): {
  host: MemoryLink;
  device: MemoryLink;
} {
  const host = new MemoryLink(paths.host ?? 'mem:host');
  const device = new MemoryLink(paths.device ?? 'mem:device');
  MemoryLink.connect(host, device);
  return { host, device };
}

/**
 * A device that stays put while the host opens and closes its port: `open()` returns a fresh host
 * {@link MemoryLink} connected to the persistent `device` end (what a handler does per action).
 * Bytes the device writes while no host has it open are lost.
 */
export function createMemoryPort(path = 'mem:port'): {
  device: MemoryLink;
  open: () => Promise<MemoryLink>;
  opens: () => number;
} {
  const device = new MemoryLink(`${path}#device`, true);
  let count = 0;
  return {
    device,
    open: async () => {
      count++;
      const host = new MemoryLink(path);
      MemoryLink.connect(host, device);
      return host;
    },
    opens: () => count,
  };
}
