import type { Logger } from 'pino';
import { CancelledError, isCancelled, type BusError } from '../../shared/errors.js';
import type { CanBus } from '../bus.js';
import { deadline, sleep, systemClock, type Clock } from '../clock.js';
import type { CanFrame, CanFrameInit } from '../frame.js';
import { isoTpError, rxTimeoutError } from './errors.js';
import { resolveIsoTpOptions, type IsoTpOptions, type ResolvedIsoTpOptions } from './options.js';
import { decodePdu, encodeFlowControl, type FrameLayout } from './pci.js';
import { MessageInbox } from './message-inbox.js';
import { IsoTpReceiver } from './receiver.js';
import { IsoTpSender } from './sender.js';
import { encodeStMin } from './st-min.js';
import type { IsoTpTransport } from './transport.js';

/** Kind of an outgoing frame, for {@link IsoTpChannelHooks}. */
export type IsoTpFrameKind = 'SF' | 'FF' | 'CF' | 'FC';

/** Seams for simulators (fault injection); production code leaves them unset. */
export interface IsoTpChannelHooks {
  /** Called before each outgoing frame; may delay (await) it, and returns false to drop it. */
  beforeSend?(data: Uint8Array, kind: IsoTpFrameKind): boolean | Promise<boolean>;
}

export interface IsoTpChannelEnv {
  /** Protocol time source. Default real time. */
  clock?: Clock;
  log?: Logger;
  hooks?: IsoTpChannelHooks;
}

/** Counters of one channel. */
export interface IsoTpStats {
  framesSent: number;
  framesReceived: number;
  messagesSent: number;
  messagesReceived: number;
  /** Reception errors with no `receive` waiting (wrong SN, N_Cr, interrupted): logged, counted here. */
  unclaimedErrors: number;
}

const KIND_BY_PCI: IsoTpFrameKind[] = ['SF', 'FF', 'CF', 'FC'];
const NO_DATA = new Uint8Array(0);
/** Frames sent synchronously before the sender yields to the event loop once (setImmediate). */
const FAST_BURST = 64;

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * One ISO 15765-2 connection over a {@link CanBus} (the runner around the pure {@link IsoTpSender}
 * and {@link IsoTpReceiver}): supplies the bus, the clock, N_As/N_Bs/N_Cr timers, STmin gaps and the
 * abort signal.
 *
 *   send(payload) ─▶ IsoTpSender ─frames─▶ CanBus ─▶ peer      peer FC ─▶ IsoTpSender
 *   CanBus(rxId) ─▶ IsoTpReceiver ─FC─▶ CanBus; ─message─▶ receive()
 *
 * Received messages are queued until taken by {@link IsoTpChannel.receive}; {@link IsoTpChannel.discard}
 * drops stale ones (call it before a request whose answer you then await).
 */
export class IsoTpChannel implements IsoTpTransport {
  readonly backend = 'user' as const;
  readonly options: ResolvedIsoTpOptions;
  readonly stats: IsoTpStats = {
    framesSent: 0,
    framesReceived: 0,
    messagesSent: 0,
    messagesReceived: 0,
    unclaimedErrors: 0,
  };
  private readonly clock: Clock;
  private readonly log: Logger | undefined;
  private readonly hooks: IsoTpChannelHooks;
  private readonly layout: FrameLayout;
  private readonly receiver: IsoTpReceiver;
  private readonly unsubscribe: () => void;
  private readonly inbox = new MessageInbox();
  private sender: IsoTpSender | undefined;
  /** The frame object handed to `trySend`, reused (the bus keeps no reference). */
  private readonly txFrame: CanFrameInit;
  /** N_Cr: one timer per reception, pushed forward lazily (see {@link IsoTpChannel.armCr}). */
  private crDeadlineUs = 0;
  private fcWake: (() => void) | undefined;
  private cancelCr: (() => void) | undefined;
  private closed = false;

  constructor(
    readonly bus: CanBus,
    options: IsoTpOptions,
    env: IsoTpChannelEnv = {},
  ) {
    this.options = resolveIsoTpOptions(options);
    if (this.options.txDataLength > 8 && !bus.fdCapable) {
      throw isoTpError(
        'ISOTP_CONFIG',
        `txDataLength ${this.options.txDataLength} needs CAN FD but ${bus.name} is classic`,
        { field: 'txDataLength' },
      );
    }
    this.clock = env.clock ?? systemClock;
    this.log = env.log;
    this.hooks = env.hooks ?? {};
    this.layout = {
      prefix: this.options.addressing === 'normal' ? undefined : this.options.txAddress,
      txDataLength: this.options.txDataLength,
      padding: this.options.padding,
    };
    this.receiver = new IsoTpReceiver({
      layout: this.layout,
      blockSize: this.options.blockSize,
      maxMessageSize: this.options.maxMessageSize,
    });
    const fd = this.options.txDataLength > 8;
    this.txFrame = {
      id: this.options.txId,
      extended: this.options.extendedIds,
      data: NO_DATA,
      fd,
      brs: fd && this.options.brs,
    };
    const mask = this.options.extendedIds ? 0x1fffffff : 0x7ff;
    this.unsubscribe = bus.subscribe([{ id: this.options.rxId, mask, extended: this.options.extendedIds }], (f) =>
      this.onFrame(f),
    );
  }

  /**
   * Sends one message (1 byte .. 2^32-1 bytes). Resolves when the last frame was handed to the bus.
   * Rejects with `ISOTP_TIMEOUT_BS`, `ISOTP_TIMEOUT_AS`, `ISOTP_OVERFLOW`, `ISOTP_WAIT_LIMIT`,
   * `ISOTP_BUSY`, `ISOTP_PAYLOAD_SIZE`, a CAN error, or CancelledError (honours `signal`).
   */
  async send(payload: Uint8Array, signal?: AbortSignal): Promise<void> {
    if (this.closed) throw isoTpError('ISOTP_BUSY', 'channel is closed');
    if (this.sender)
      throw isoTpError('ISOTP_BUSY', 'a send is already in progress on this channel', { txId: this.options.txId });
    const sender = new IsoTpSender(payload, {
      layout: this.layout,
      maxWaitFrames: this.options.maxWaitFrames,
      stMinOverrideUs: this.options.txStMinOverrideUs,
    });
    this.sender = sender;
    this.fcError = undefined;
    const fast = this.fast;
    let burst = 0;
    try {
      for (;;) {
        // An FC may arrive while the previous frame's send is still being confirmed.
        this.throwFcError();
        const action = sender.next();
        if (action.kind === 'done') break;
        if (action.kind === 'await-fc') {
          await this.awaitFlowControl(sender, signal);
          continue;
        }
        if (action.gapUs > 0) await sleep(this.clock, action.gapUs, signal);
        else if (fast) {
          if (signal?.aborted) throw new CancelledError(signal.reason);
          if (this.trySendFrame(action.data)) {
            // Back-to-back frames go out synchronously; let I/O (an FC, other work) in now and then.
            if (++burst % FAST_BURST === 0) await yieldToEventLoop();
            continue;
          }
        }
        await this.sendFrame(action.data, signal);
      }
      this.stats.messagesSent++;
    } catch (e) {
      sender.fail();
      throw e;
    } finally {
      this.sender = undefined;
      this.fcWake = undefined;
    }
  }

  /**
   * The next complete message (queued ones first). Rejects with `ISOTP_RX_TIMEOUT` after
   * `timeoutMs` of clock time, with a reception error (`ISOTP_WRONG_SN`, `ISOTP_TIMEOUT_CR`,
   * `ISOTP_RX_INTERRUPTED`) of the message it was waiting for, or CancelledError.
   */
  receive(timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array> {
    return this.inbox.take(
      this.clock,
      timeoutMs * 1000,
      () => rxTimeoutError(this.options.rxId, timeoutMs, { receiving: this.receiver.progress }),
      signal,
    );
  }

  /** Drops queued messages and any reception in progress. */
  discard(): void {
    this.inbox.clear();
    this.receiver.reset();
    this.cancelCr?.();
    this.cancelCr = undefined;
  }

  /** Stops listening; pending receives reject with CancelledError. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.cancelCr?.();
    this.cancelCr = undefined;
    this.inbox.failAll(new CancelledError('ISO-TP channel closed'));
  }

  private async awaitFlowControl(sender: IsoTpSender, signal?: AbortSignal): Promise<void> {
    const nBs = this.options.timeouts.nBsMs;
    // Each FC (CTS or WAIT) ends this wait; a WAIT leaves the sender in wait-fc, so N_Bs restarts.
    await deadline(
      this.clock,
      new Promise<void>((resolve) => {
        this.fcWake = resolve;
      }),
      nBs * 1000,
      () =>
        isoTpError(
          'ISOTP_TIMEOUT_BS',
          `no flow control from 0x${this.options.rxId.toString(16)} within N_Bs ${nBs} ms (timeouts.nBsMs)`,
          {
            txId: this.options.txId,
            rxId: this.options.rxId,
            bytesSent: sender.bytesSent,
            timeoutMs: nBs,
          },
        ),
      signal,
    );
    this.throwFcError();
  }

  private throwFcError(): void {
    if (this.fcError) {
      const e = this.fcError;
      this.fcError = undefined;
      throw e;
    }
  }

  private fcError: BusError | undefined;

  /** The synchronous path needs a bus with a synchronous write and nothing that inspects single frames. */
  private get fast(): boolean {
    return this.bus.trySend !== undefined && !this.hooks.beforeSend && !this.log?.isLevelEnabled('trace');
  }

  /** One frame through {@link CanBus.trySend} (no promise, no N_As timer: the write cannot block). */
  private trySendFrame(data: Uint8Array): boolean {
    const f = this.txFrame;
    f.data = data;
    const sent = this.bus.trySend!(f);
    f.data = NO_DATA;
    if (sent) this.stats.framesSent++;
    return sent;
  }

  private async sendFrame(data: Uint8Array, signal?: AbortSignal): Promise<void> {
    const kind = KIND_BY_PCI[(data[this.layout.prefix === undefined ? 0 : 1]! >> 4) & 3]!;
    if (this.hooks.beforeSend && !(await this.hooks.beforeSend(data, kind))) return;
    if (this.log?.isLevelEnabled('trace'))
      this.log.trace(
        { dir: 'tx', id: this.options.txId, len: data.length, hex: Buffer.from(data).toString('hex') },
        'isotp frame',
      );
    const nAs = this.options.timeouts.nAsMs;
    const fd = this.options.txDataLength > 8;
    await deadline(
      this.clock,
      this.bus.send(
        { id: this.options.txId, extended: this.options.extendedIds, data, fd, brs: fd && this.options.brs },
        signal,
      ),
      nAs * 1000,
      () =>
        isoTpError('ISOTP_TIMEOUT_AS', `frame not transmitted within N_As ${nAs} ms (timeouts.nAsMs)`, {
          txId: this.options.txId,
          timeoutMs: nAs,
        }),
      signal,
    );
    this.stats.framesSent++;
  }

  private onFrame(frame: CanFrame): void {
    let pduBytes = frame.data;
    if (this.layout.prefix !== undefined) {
      if (frame.data[0] !== this.options.rxAddress) return;
      pduBytes = frame.data.subarray(1);
    }
    this.stats.framesReceived++;
    if (this.log?.isLevelEnabled('trace'))
      this.log.trace(
        { dir: 'rx', id: frame.id, len: frame.data.length, hex: Buffer.from(frame.data).toString('hex') },
        'isotp frame',
      );
    const pdu = decodePdu(pduBytes, frame.data.length);
    if (pdu.type === 'FC') {
      const sender = this.sender;
      if (!sender) return;
      try {
        if (!sender.onFlowControl(pdu)) return;
      } catch (e) {
        this.fcError = e as BusError;
      }
      const wake = this.fcWake;
      this.fcWake = undefined;
      wake?.();
      return;
    }
    const outputs = this.receiver.onPdu(pdu, frame.data.length);
    for (const out of outputs) this.handleReceiverOutput(out);
    // N_Cr runs from "FC sent or CF received" (ISO 15765-2 §9.8.2): after an FC it is armed once the FC is out.
    if (outputs.some((o) => o.kind === 'flow-control')) {
      this.cancelCr?.();
      this.cancelCr = undefined;
    } else this.armCr();
  }

  /**
   * (Re)starts N_Cr. Called for every CF, so it does not re-arm a timer each time: it moves the
   * deadline, and the one armed timer, when it fires early, sleeps again for the rest.
   */
  private armCr(): void {
    if (this.receiver.state !== 'receiving') {
      this.cancelCr?.();
      this.cancelCr = undefined;
      return;
    }
    const nCrUs = this.options.timeouts.nCrMs * 1000;
    this.crDeadlineUs = this.clock.now() + nCrUs;
    if (!this.cancelCr) this.scheduleCr(nCrUs);
  }

  private scheduleCr(us: number): void {
    this.cancelCr = this.clock.schedule(us, () => {
      this.cancelCr = undefined;
      if (this.receiver.state !== 'receiving') return;
      const left = this.crDeadlineUs - this.clock.now();
      if (left > 0) return this.scheduleCr(left);
      for (const out of this.receiver.onTimeout(this.options.timeouts.nCrMs)) this.handleReceiverOutput(out);
    });
  }

  private handleReceiverOutput(out: ReturnType<IsoTpReceiver['onPdu']>[number]): void {
    switch (out.kind) {
      case 'message': {
        this.stats.messagesReceived++;
        this.inbox.deliver(out.data);
        return;
      }
      case 'flow-control': {
        const fc = encodeFlowControl(
          this.layout,
          out.status,
          this.options.blockSize,
          encodeStMin(this.options.stMinUs),
        );
        // The FC goes out synchronously where the bus allows it (no promise or timer per block).
        if (this.fast && this.trySendFrame(fc)) {
          this.armCr();
          return;
        }
        this.sendFrame(fc).then(
          () => this.armCr(),
          (e: unknown) => {
            if (isCancelled(e)) return;
            const err = isoTpError(
              'ISOTP_TIMEOUT_AS',
              `flow control could not be sent: ${(e as Error).message}`,
              { rxId: this.options.rxId },
              e,
            );
            this.receiver.reset();
            this.handleReceiverOutput({ kind: 'error', error: err });
          },
        );
        return;
      }
      case 'error': {
        if (!this.inbox.failNext(out.error)) {
          this.stats.unclaimedErrors++;
          this.log?.warn({ code: out.error.code, details: out.error.details }, 'ISO-TP reception failed');
        }
        return;
      }
      case 'ignored':
        this.log?.debug({ reason: out.reason, rxId: this.options.rxId }, 'ISO-TP frame ignored');
        return;
    }
  }
}
