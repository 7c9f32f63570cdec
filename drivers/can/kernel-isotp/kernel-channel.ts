import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { BusError, CancelledError } from '../../shared/errors.js';
import { systemClock, type Clock } from '../clock.js';
import { canError } from '../errors.js';
import { isoTpError, rxTimeoutError } from '../isotp/errors.js';
import { resolveIsoTpOptions, type IsoTpOptions, type ResolvedIsoTpOptions } from '../isotp/options.js';
import { MessageInbox } from '../isotp/message-inbox.js';
import { encodeStMin } from '../isotp/st-min.js';
import type { IsoTpTransport } from '../isotp/transport.js';
import type { AddonSocket, AddonSocketOptions, AddonSystemError, IsoTpAddon } from './addon.js';
import { loadIsoTpAddon } from './addon.js';
import { KERNEL_ISOTP_HINT } from './availability.js';

/** Options of a kernel ISO-TP connection: the common {@link IsoTpOptions} plus what only the kernel has. */
export interface KernelIsoTpOptions extends IsoTpOptions {
  /**
   * CAN_ISOTP_WAIT_TX_DONE: the kernel's write() returns once the PDU is transmitted. It blocks even on
   * a non-blocking socket, so the addon runs it on the libuv thread pool. Default false: the addon
   * learns the end of the transfer from poll() (the socket turns writable when the tx state machine
   * is idle, Linux 6.1.y and later) and reads SO_ERROR, without a thread.
   */
  waitTxDone?: boolean;
  /**
   * Gap the kernel adds after every frame (can_isotp_options.frame_txtime, N_As), µs. Default 0: frames
   * back to back (the kernel paces CFs on the tx echo of the previous one and on STmin); the kernel's own
   * default is 50 µs.
   */
  frameTxTimeUs?: number;
  /** Check the padding of received frames (CAN_ISOTP_RX_PADDING | CHK_PAD_LEN | CHK_PAD_DATA; EBADMSG). Default false. */
  checkRxPadding?: boolean;
  /** A functional (1:n) sender of single frames (CAN_ISOTP_SF_BROADCAST): nothing is received. */
  sfBroadcast?: boolean;
}

export interface KernelIsoTpEnv {
  /** Time source of the receive timeout. Default real time. */
  clock?: Clock;
  log?: Logger;
  /** The addon to use instead of the built one (unit tests pass a fake). */
  addon?: IsoTpAddon;
}

export interface KernelIsoTpStats {
  messagesSent: number;
  messagesReceived: number;
  /** Reception errors with no `receive` waiting (wrong SN, N_Cr): logged, counted here. */
  unclaimedErrors: number;
}

/** The kernel's ISO-TP receive buffer limit in Debian 6.1 and 5.10 (MAX_MSG_LENGTH 66000; reference §1.2). */
const KERNEL_MAX_PDU = 66_000;
/** Errors the kernel reports for the interface itself: the connection cannot go on until it is back. */
const LINK_ERRORS = new Set(['ENETDOWN', 'ENODEV', 'ENXIO', 'EADDRNOTAVAIL']);

/**
 * One ISO 15765-2 connection on a Linux CAN_ISOTP socket (`can-isotp`, mainline since 5.10) through
 * our addon (native/isotp): the kernel segments, paces (STmin with hrtimers) and reassembles; we
 * write and read whole messages. Same contract as {@link IsoTpChannel}, with these differences:
 * N_Bs and N_Cr are the kernel's fixed 1000 ms (`timeouts` are not applied), FC.WAIT is never sent
 * and not counted (`maxWaitFrames` unused), and a reception in progress cannot be discarded.
 *
 * errno → code: ECOMM ISOTP_TIMEOUT_BS (no flow control), ETIMEDOUT ISOTP_TIMEOUT_CR, EILSEQ
 * ISOTP_WRONG_SN, EBADMSG ISOTP_MALFORMED, EMSGSIZE ISOTP_OVERFLOW, ENETDOWN/ENODEV CAN_NETDOWN,
 * ENOBUFS CAN_TX_FAILED (net/can/isotp.c header comment; reference/bus-protocols.md §1.2).
 */
export class KernelIsoTpChannel implements IsoTpTransport {
  readonly backend = 'kernel' as const;
  readonly stats: KernelIsoTpStats = { messagesSent: 0, messagesReceived: 0, unclaimedErrors: 0 };
  private readonly inbox = new MessageInbox();
  private readonly clock: Clock;
  private readonly log: Logger | undefined;
  private socket: AddonSocket | undefined;
  private txDone: Promise<void> | undefined;
  /** Size of the PDU written by `exchange` without waiting for tx done (its tx errors come via onError). */
  private unconfirmedTxSize: number | undefined;
  private closed = false;

  private constructor(
    readonly iface: string,
    readonly options: ResolvedIsoTpOptions,
    env: KernelIsoTpEnv,
  ) {
    this.clock = env.clock ?? systemClock;
    this.log = env.log;
  }

  /**
   * Opens a CAN_ISOTP socket on `iface`. Throws `ISOTP_KERNEL_UNAVAILABLE` (no addon, no can-isotp:
   * the message names `make native` or `modprobe can-isotp` and CONFIG_CAN_ISOTP), `CAN_OPEN_FAILED`
   * (no such interface), `ISOTP_CONFIG` (bad options, FD on a classic interface).
   */
  static open(iface: string, options: KernelIsoTpOptions, env: KernelIsoTpEnv = {}): KernelIsoTpChannel {
    const r = resolveIsoTpOptions(options);
    const loaded = env.addon ? { addon: env.addon } : loadIsoTpAddon();
    if ('error' in loaded) throw isoTpError('ISOTP_KERNEL_UNAVAILABLE', loaded.error, { iface, hint: 'make native' });
    const addon = loaded.addon;
    let mtu: number;
    try {
      mtu = Number(readFileSync(`/sys/class/net/${iface}/mtu`, 'utf8').trim());
    } catch (e) {
      throw canError('CAN_OPEN_FAILED', `CAN interface ${iface} does not exist`, { iface }, e);
    }
    if (r.txDataLength > 8 && mtu < addon.constants.CANFD_MTU)
      throw isoTpError('ISOTP_CONFIG', `txDataLength ${r.txDataLength} needs CAN FD but ${iface} is classic`, {
        field: 'txDataLength',
      });
    const ch = new KernelIsoTpChannel(iface, r, env);
    const socketOptions = kernelSocketOptions(addon, iface, r, options);
    try {
      ch.socket = new addon.IsoTpSocket(
        socketOptions,
        (data) => ch.onMessage(data),
        (err) => ch.onError(err),
      );
    } catch (e) {
      throw openError(e as AddonSystemError, iface, r);
    }
    return ch;
  }

  /**
   * Sends one message (1 byte up to the kernel's PDU limit). Resolves when the kernel has transmitted
   * it. An abort rejects at once with CancelledError; the kernel finishes (or times out) the PDU in
   * flight, and the next send waits for that.
   */
  async send(payload: Uint8Array, signal?: AbortSignal): Promise<void> {
    if (this.closed || !this.socket) throw isoTpError('ISOTP_BUSY', 'channel is closed');
    if (payload.length === 0 || payload.length > 0xffffffff)
      throw isoTpError('ISOTP_PAYLOAD_SIZE', `cannot send a ${payload.length}-byte ISO-TP message`, {
        size: payload.length,
      });
    if (signal?.aborted) throw new CancelledError(signal.reason);
    if (this.txDone) await this.txDone.catch(() => {});
    if (this.closed || !this.socket) throw isoTpError('ISOTP_BUSY', 'channel is closed');
    const socket = this.socket;
    this.unconfirmedTxSize = undefined;
    const data = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    const done = new Promise<void>((resolve, reject) => {
      try {
        socket.send(data, (err) => (err ? reject(this.mapError(err, 'send', payload.length)) : resolve()));
      } catch (e) {
        reject(this.mapError(e as AddonSystemError, 'send', payload.length));
      }
    });
    this.txDone = done;
    const clear = () => {
      if (this.txDone === done) this.txDone = undefined;
    };
    done.then(clear, clear);
    await abortable(done, signal);
    this.stats.messagesSent++;
  }

  receive(timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array> {
    return this.takeMessage(timeoutMs, signal);
  }

  /** The next message within `timeoutMs`; `extendUs` may push the deadline back when it is reached. */
  private takeMessage(timeoutMs: number, signal?: AbortSignal, extendUs?: () => number): Promise<Uint8Array> {
    if (this.closed && !this.inbox.hasQueued) return Promise.reject(new CancelledError('ISO-TP channel closed'));
    return this.inbox.take(
      this.clock,
      timeoutMs * 1000,
      () => rxTimeoutError(this.options.rxId, timeoutMs, { backend: 'kernel' }),
      signal,
      extendUs,
    );
  }

  /**
   * Sends `payload` and returns the next message received (a request and its response), rejecting as
   * `receive` does after `timeoutMs`, counted from this call. When nothing is being sent, the PDU is
   * written at once and not waited for (the addon's `trySend`): the answer proves it went out, as for a
   * tester that does a blocking send() then recv(), and one event-loop wake-up per request is saved (no
   * POLLOUT for "tx done"); the timeout is extended while the PDU is still being transmitted when it
   * expires (Linux ≥ 6.1.y tells, see `txBusy`). A transmission error of that PDU (no flow control, FC.OVFLW) then rejects the
   * receive with the same codes as `send`. Otherwise (a send in flight, the previous PDU still going
   * out, `waitTxDone`): `send`, then `receive`. Queued messages are taken first: `discard` before.
   */
  exchange(payload: Uint8Array, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array> {
    const socket = this.socket;
    if (this.closed || !socket) return Promise.reject(isoTpError('ISOTP_BUSY', 'channel is closed'));
    if (payload.length === 0 || payload.length > 0xffffffff)
      return Promise.reject(
        isoTpError('ISOTP_PAYLOAD_SIZE', `cannot send a ${payload.length}-byte ISO-TP message`, {
          size: payload.length,
        }),
      );
    if (signal?.aborted) return Promise.reject(new CancelledError(signal.reason));
    // An addon built before trySend existed (an older package) takes the send + receive path.
    if (this.txDone === undefined && typeof socket.trySend === 'function') {
      let written: boolean;
      try {
        written = socket.trySend(payload);
      } catch (e) {
        return Promise.reject(this.mapError(e as AddonSystemError, 'send', payload.length));
      }
      if (written) {
        this.stats.messagesSent++;
        this.unconfirmedTxSize = payload.length;
        // No message can be delivered before this returns to the event loop: the receive is in line in time.
        // P2 runs from the end of the request (ISO 14229-2): a deadline reached while the PDU is still
        // going out (a slow bus, FC.WAIT) is extended by the whole timeout, checked again then.
        return this.takeMessage(timeoutMs, signal, () => (this.socket?.txBusy() ? timeoutMs * 1000 : 0));
      }
    }
    const start = this.clock.now();
    return this.send(payload, signal).then(() =>
      this.receive(Math.max(0, timeoutMs - (this.clock.now() - start) / 1000), signal),
    );
  }

  discard(): void {
    this.inbox.clear();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.socket?.close();
    } catch (e) {
      this.log?.warn({ err: e, iface: this.iface }, 'closing the ISO-TP socket failed');
    }
    this.socket = undefined;
    this.inbox.failAll(new CancelledError('ISO-TP channel closed'));
  }

  private onMessage(data: Buffer): void {
    this.stats.messagesReceived++;
    this.unconfirmedTxSize = undefined;
    const msg = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.inbox.deliver(msg);
  }

  /** Errors the kernel reports outside a send: reception errors and the interface going down. */
  private onError(err: AddonSystemError): void {
    // ECOMM (no flow control) and EMSGSIZE (FC.OVFLW) after an exchange's trySend belong to that PDU.
    const unconfirmed = this.unconfirmedTxSize;
    const ofSend = unconfirmed !== undefined && (err.code === 'ECOMM' || err.code === 'EMSGSIZE');
    if (ofSend) this.unconfirmedTxSize = undefined;
    const e = ofSend ? this.mapError(err, 'send', unconfirmed) : this.mapError(err, 'receive');
    if (LINK_ERRORS.has(err.code)) {
      this.log?.warn({ iface: this.iface, code: err.code }, 'CAN interface went down under an ISO-TP connection');
      this.inbox.failAll(e);
      return;
    }
    if (!this.inbox.failNext(e)) {
      this.stats.unclaimedErrors++;
      this.log?.warn({ code: e.code, details: e.details }, 'ISO-TP reception failed');
    }
  }

  private mapError(err: AddonSystemError, op: 'send' | 'receive', size?: number): BusError {
    const o = this.options;
    const ids = { iface: this.iface, txId: o.txId, rxId: o.rxId, errno: err.code, backend: 'kernel' };
    const hex = (n: number) => `0x${n.toString(16)}`;
    switch (err.code) {
      case 'ECOMM':
        return isoTpError(
          'ISOTP_TIMEOUT_BS',
          `no flow control from ${hex(o.rxId)} within N_Bs (kernel: 1000 ms)`,
          ids,
          err,
        );
      case 'ETIMEDOUT':
        return isoTpError(
          'ISOTP_TIMEOUT_CR',
          `no consecutive frame from ${hex(o.rxId)} within N_Cr (kernel: 1000 ms)`,
          ids,
          err,
        );
      case 'EILSEQ':
        return isoTpError(
          'ISOTP_WRONG_SN',
          `consecutive frame with a wrong sequence number on ${hex(o.rxId)}`,
          ids,
          err,
        );
      case 'EBADMSG':
        return isoTpError('ISOTP_MALFORMED', `a frame on ${hex(o.rxId)} has a wrong layout or padding`, ids, err);
      case 'EMSGSIZE':
        return op === 'send'
          ? isoTpError(
              'ISOTP_OVERFLOW',
              `receiver refused a ${size ?? '?'}-byte message (FC.OVFLW)`,
              { ...ids, size },
              err,
            )
          : isoTpError('ISOTP_OVERFLOW', `a message on ${hex(o.rxId)} is larger than maxMessageSize`, ids, err);
      case 'ENETDOWN':
      case 'ENODEV':
      case 'ENXIO':
      case 'EADDRNOTAVAIL':
        return canError(
          'CAN_NETDOWN',
          `${this.iface} went ${err.code === 'ENETDOWN' ? 'down' : 'away'} during an ISO-TP ${op} (${err.code}); bring it up (ip link set ${this.iface} up) and retry`,
          ids,
          err,
        );
      case 'ENOBUFS':
      case 'EAGAIN':
        return canError('CAN_TX_FAILED', `${this.iface}: the CAN tx queue is full (${err.code})`, ids, err);
      case 'EBADF':
        return canError('CAN_CLOSED', `the ISO-TP socket on ${this.iface} was closed`, ids, err);
      default:
        return canError('CAN_TX_FAILED', `ISO-TP ${op} on ${this.iface} failed: ${err.message}`, ids, err);
    }
  }
}

/** Rejects with CancelledError when `signal` fires first. */
function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CancelledError(signal.reason));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}

/** The socket options for `r` (struct can_isotp_options / fc_options / ll_options, linux/can/isotp.h). */
export function kernelSocketOptions(
  addon: IsoTpAddon,
  iface: string,
  r: ResolvedIsoTpOptions,
  k: KernelIsoTpOptions,
): AddonSocketOptions {
  const c = addon.constants;
  let flags = 0;
  if (r.padding !== false) flags |= c.CAN_ISOTP_TX_PADDING;
  if (k.checkRxPadding && r.padding !== false)
    flags |= c.CAN_ISOTP_RX_PADDING | c.CAN_ISOTP_CHK_PAD_LEN | c.CAN_ISOTP_CHK_PAD_DATA;
  if (r.addressing !== 'normal') {
    flags |= c.CAN_ISOTP_EXTEND_ADDR;
    if (r.rxAddress !== r.txAddress) flags |= c.CAN_ISOTP_RX_EXT_ADDR;
  }
  if (r.txStMinOverrideUs !== undefined) flags |= c.CAN_ISOTP_FORCE_TXSTMIN;
  if (k.waitTxDone) flags |= c.CAN_ISOTP_WAIT_TX_DONE;
  if (k.sfBroadcast) flags |= c.CAN_ISOTP_SF_BROADCAST;
  const frameTxTimeUs = k.frameTxTimeUs ?? 0;
  const o: AddonSocketOptions = {
    iface,
    txId: r.txId,
    rxId: r.rxId,
    extended: r.extendedIds,
    flags,
    frameTxTimeNs: frameTxTimeUs > 0 ? Math.round(frameTxTimeUs * 1000) : c.CAN_ISOTP_FRAME_TXTIME_ZERO,
    extAddress: r.txAddress ?? 0,
    rxExtAddress: r.rxAddress ?? r.txAddress ?? 0,
    txPadContent: r.padding === false ? 0xcc : r.padding,
    rxPadContent: r.padding === false ? 0xcc : r.padding,
    fcBs: r.blockSize,
    fcStmin: encodeStMin(r.stMinUs),
    fcWftmax: Math.min(r.maxWaitFrames, 0xff),
    rxBufferSize: Math.min(k.maxMessageSize ?? KERNEL_MAX_PDU, 1 << 20),
  };
  if (r.txStMinOverrideUs !== undefined) o.txStminNs = Math.round(r.txStMinOverrideUs * 1000);
  if (r.txDataLength > 8) {
    o.llMtu = c.CANFD_MTU;
    o.llTxDl = r.txDataLength;
    o.llTxFlags = r.brs ? c.CANFD_BRS : 0;
  }
  return o;
}

function openError(err: AddonSystemError, iface: string, r: ResolvedIsoTpOptions): BusError {
  const details = { iface, txId: r.txId, rxId: r.rxId, errno: err.code, syscall: err.syscall };
  if (err.code === 'EPROTONOSUPPORT' || err.code === 'EAFNOSUPPORT')
    return isoTpError(
      'ISOTP_KERNEL_UNAVAILABLE',
      `the kernel has no ISO-TP sockets (${err.syscall}: ${err.code}): ${KERNEL_ISOTP_HINT}`,
      { ...details, hint: 'modprobe can-isotp' },
      err,
    );
  if (err.code === 'ENODEV' || err.code === 'ENXIO')
    return canError('CAN_OPEN_FAILED', `CAN interface ${iface} does not exist`, details, err);
  if (err.code === 'EINVAL')
    return isoTpError(
      'ISOTP_CONFIG',
      `the kernel refused the ISO-TP options on ${iface}: ${err.message}`,
      details,
      err,
    );
  return canError('CAN_OPEN_FAILED', `cannot open an ISO-TP socket on ${iface}: ${err.message}`, details, err);
}
