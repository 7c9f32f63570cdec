import type { Logger } from 'pino';
import { readFile } from 'node:fs/promises';
import { CancelledError } from '../shared/errors.js';
import { CanBusBase } from './bus-base.js';
import { sleep, systemClock } from './clock.js';
import { canError } from './errors.js';
import { makeFrame, type CanFilter, type CanFrame, type CanFrameInit } from './frame.js';

/** The part of npm `socketcan`'s RawChannel we use (sebi2k1/node-can `src/can.d.ts`). */
interface RawMessage {
  id: number;
  ext?: boolean;
  rtr?: boolean;
  err?: boolean;
  data: Buffer;
  ts_sec?: number;
  ts_usec?: number;
}
interface RawChannel {
  addListener(event: 'onMessage' | 'onStopped', cb: (msg: RawMessage) => void): void;
  start(): void;
  stop(): void;
  send(msg: { id: number; ext: boolean; rtr?: boolean; data: Buffer }): number;
  sendFD(msg: { id: number; ext: boolean; fd_brs: boolean; data: Buffer }): number;
  setRxFilters(filters: { id: number; mask: number; invert?: boolean }[]): void;
}
interface SocketCanModule {
  createRawChannelWithOptions(name: string, options: { timestamps?: boolean; non_block_send?: boolean }): RawChannel;
}

export interface SocketCanBusOptions {
  /** Interface name, e.g. `can0`, `vcan0`. */
  iface: string;
  /**
   * How long a send may keep retrying on a full tx queue (ENOBUFS / EAGAIN: real CAN netdevs default
   * to `qlen 10`, reference/bus-protocols.md §1.1) before `CAN_TX_TIMEOUT`. Default 1000 ms (ISO 15765-2 N_As).
   */
  txTimeoutMs?: number;
  /**
   * Receive timestamps (`CanFrame.timestamp`, from SIOCGSTAMP: one more syscall per received frame).
   * Default false; sniffers that measure gaps turn it on.
   */
  timestamps?: boolean;
  /** Kernel receive filters (CAN_RAW_FILTER); default none = all frames. Subscribers filter again. */
  kernelFilters?: CanFilter[];
  log?: Logger;
}

/** SocketCAN error classes (`linux/can/error.h`): CAN_ERR_CRTL 0x4, CAN_ERR_BUSOFF 0x40, CAN_ERR_RESTARTED 0x100. */
const CAN_ERR_CRTL = 0x004;
const CAN_ERR_BUSOFF = 0x040;
const CAN_ERR_RESTARTED = 0x100;
/** data[1] bits of CAN_ERR_CRTL: 0x04/0x08 rx/tx warning, 0x10/0x20 rx/tx passive. */
const CAN_ERR_CRTL_WARNING = 0x0c;
const CAN_ERR_CRTL_PASSIVE = 0x30;

const EMPTY: Buffer = Buffer.alloc(0);

/** First back-off on a full tx queue, doubled per retry up to {@link TX_BACKOFF_MAX_US}. */
const TX_BACKOFF_START_US = 200;
const TX_BACKOFF_MAX_US = 20_000;

/**
 * Linux SocketCAN (CAN_RAW) through the npm `socketcan` addon, loaded with a dynamic `import()` so a
 * gateway without it still runs the other buses (style anchors §1).
 *
 * Limits of the addon (socketcan 4.3, `native/can.cc`): `send` returns -1 without errno, so every
 * refused non-blocking send is treated as a full queue and retried with back-off until `txTimeoutMs`
 * (each retry is reported as a `tx-retry` event); received frames carry no FD flag, so frames longer
 * than 8 bytes are reported as FD; the socket is closed by the addon when the channel is collected.
 */
export class SocketCanBus extends CanBusBase {
  private readonly txTimeoutUs: number;
  /** Reused by {@link SocketCanBus.trySend}: the addon reads it synchronously and keeps nothing. */
  private readonly txMsg: { id: number; ext: boolean; fd_brs: boolean; data: Buffer } = {
    id: 0,
    ext: false,
    fd_brs: false,
    data: EMPTY,
  };

  private constructor(
    iface: string,
    fdCapable: boolean,
    private readonly channel: RawChannel,
    txTimeoutMs: number,
    log?: Logger,
  ) {
    super(iface, fdCapable, log);
    this.txTimeoutUs = txTimeoutMs * 1000;
    channel.addListener('onMessage', (m) => this.onRaw(m));
    channel.addListener('onStopped', () => {
      if (this.closed) return;
      this.emitEvent({ kind: 'stopped', reason: `${iface} stopped (interface down or removed)` });
      this.shutdown(canError('CAN_CLOSED', `${iface} stopped`, { iface }));
    });
    channel.start();
  }

  /**
   * Opens `options.iface`. FD capability is read from `/sys/class/net/<iface>/mtu` (72 = CANFD_MTU).
   * Throws `CAN_BACKEND_UNAVAILABLE` when `socketcan` cannot be loaded, `CAN_OPEN_FAILED` when the
   * interface cannot be bound.
   */
  static async open(options: SocketCanBusOptions): Promise<SocketCanBus> {
    let mod: SocketCanModule;
    try {
      const imported = (await import('socketcan')) as unknown as Partial<SocketCanModule> & {
        default?: SocketCanModule;
      };
      mod =
        typeof imported.createRawChannelWithOptions === 'function'
          ? (imported as SocketCanModule)
          : (imported.default as SocketCanModule);
    } catch (e) {
      throw canError(
        'CAN_BACKEND_UNAVAILABLE',
        'the socketcan package is not installed or failed to load',
        { iface: options.iface },
        e,
      );
    }
    let mtu: number;
    try {
      mtu = Number((await readFile(`/sys/class/net/${options.iface}/mtu`, 'utf8')).trim());
    } catch (e) {
      throw canError('CAN_OPEN_FAILED', `CAN interface ${options.iface} does not exist`, { iface: options.iface }, e);
    }
    let channel: RawChannel;
    try {
      channel = mod.createRawChannelWithOptions(options.iface, {
        timestamps: options.timestamps ?? false,
        non_block_send: true,
      });
    } catch (e) {
      throw canError('CAN_OPEN_FAILED', `cannot open CAN interface ${options.iface}`, { iface: options.iface }, e);
    }
    if (options.kernelFilters?.length)
      channel.setRxFilters(options.kernelFilters.map((f) => ({ id: f.id, mask: f.mask })));
    return new SocketCanBus(options.iface, mtu >= 72, channel, options.txTimeoutMs ?? 1000, options.log);
  }

  /**
   * One non-blocking write, no promise or timer (the ISO-TP sender's path for back-to-back frames):
   * false when the addon refused it (full queue, or an interface going down; `send` then retries
   * with back-off and names the error).
   */
  trySend(init: CanFrameInit): boolean {
    if (this.closed) throw canError('CAN_CLOSED', `${this.name} is closed`, { iface: this.name });
    let frame: CanFrame;
    try {
      frame = makeFrame(init);
    } catch (e) {
      throw canError(
        'CAN_FRAME_INVALID',
        `invalid frame for ${this.name}: ${(e as Error).message}`,
        { iface: this.name },
        e,
      );
    }
    if (frame.fd && !this.fdCapable)
      throw canError('CAN_FRAME_INVALID', `${this.name} does not carry CAN FD frames`, {
        iface: this.name,
        id: frame.id,
        length: frame.data.length,
      });
    const m = this.txMsg;
    m.id = frame.id;
    m.ext = frame.extended;
    m.fd_brs = frame.brs;
    m.data = Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength);
    const n = frame.fd ? this.channel.sendFD(m) : this.channel.send(m);
    m.data = EMPTY;
    return n > 0;
  }

  protected async transmit(frame: CanFrame, signal?: AbortSignal): Promise<void> {
    const data = Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength);
    const start = systemClock.now();
    let backoff = TX_BACKOFF_START_US;
    for (let retries = 0; ; retries++) {
      if (this.closed) throw canError('CAN_CLOSED', `${this.name} was closed`, { iface: this.name });
      const n = frame.fd
        ? this.channel.sendFD({ id: frame.id, ext: frame.extended, fd_brs: frame.brs, data })
        : this.channel.send({ id: frame.id, ext: frame.extended, data });
      if (n > 0) return;
      const waited = systemClock.now() - start;
      if (waited >= this.txTimeoutUs) {
        throw canError(
          'CAN_TX_TIMEOUT',
          `${this.name}: tx queue stayed full for ${Math.round(waited / 1000)} ms (${retries} retries)`,
          {
            iface: this.name,
            retries,
            timeoutMs: this.txTimeoutUs / 1000,
          },
        );
      }
      this.emitEvent({ kind: 'tx-retry', retries: retries + 1, waitedUs: waited });
      if (signal?.aborted) throw new CancelledError(signal.reason);
      await sleep(systemClock, backoff, signal);
      backoff = Math.min(backoff * 2, TX_BACKOFF_MAX_US);
    }
  }

  protected async release(): Promise<void> {
    try {
      this.channel.stop();
    } catch (e) {
      this.log?.warn({ err: e, iface: this.name }, 'socketcan stop failed');
    }
  }

  private onRaw(m: RawMessage): void {
    if (m.err) {
      this.onErrorFrame(m);
      return;
    }
    if (m.rtr) return;
    const data = new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength);
    const frame: CanFrame =
      m.ts_sec === undefined
        ? { id: m.id, extended: m.ext === true, data, fd: data.length > 8, brs: false }
        : {
            id: m.id,
            extended: m.ext === true,
            data,
            fd: data.length > 8,
            brs: false,
            timestamp: m.ts_sec * 1e6 + (m.ts_usec ?? 0),
          };
    this.deliver(frame);
  }

  private onErrorFrame(m: RawMessage): void {
    const data = new Uint8Array(m.data);
    const cls = m.id;
    if (cls & CAN_ERR_BUSOFF) this.emitEvent({ kind: 'bus-off' });
    if (cls & CAN_ERR_RESTARTED) this.emitEvent({ kind: 'restarted' });
    if (cls & CAN_ERR_CRTL) {
      const ctrl = data[1] ?? 0;
      if (ctrl & CAN_ERR_CRTL_PASSIVE) this.emitEvent({ kind: 'error-passive' });
      else if (ctrl & CAN_ERR_CRTL_WARNING) this.emitEvent({ kind: 'error-warning' });
    }
    this.emitEvent({ kind: 'error-frame', errorClass: cls, data });
    this.log?.warn({ iface: this.name, errorClass: cls }, 'CAN error frame');
  }
}
