import { CancelledError } from '../shared/errors.js';
import type { BusEventListener, CanBus, CanBusEvent, FrameListener } from './bus.js';
import { canError } from './errors.js';
import { makeFrame, matchesFilters, type CanFilter, type CanFrame, type CanFrameInit } from './frame.js';
import type { Logger } from 'pino';

interface Subscription {
  filters: readonly CanFilter[] | undefined;
  listener: FrameListener;
}

/**
 * What every backend shares (reference/style-anchors.md §1, python-can `BusABC`): frame validation,
 * filtering and fan-out to subscribers, one-shot `receive`, events and the teardown contract.
 * A backend implements {@link CanBusBase.transmit} and calls {@link CanBusBase.deliver} /
 * {@link CanBusBase.emitEvent}.
 */
export abstract class CanBusBase implements CanBus {
  private readonly subs = new Set<Subscription>();
  /** `subs` as an array, rebuilt on (un)subscribe: delivery iterates it without copying per frame. */
  private subsList: readonly Subscription[] = [];
  private readonly eventListeners = new Set<BusEventListener>();
  private readonly closers = new Set<(e: Error) => void>();
  protected closed = false;

  constructor(
    readonly name: string,
    readonly fdCapable: boolean,
    protected readonly log?: Logger,
  ) {}

  /** Backend hook: put a validated frame on the wire. */
  protected abstract transmit(frame: CanFrame, signal?: AbortSignal): Promise<void>;
  /** Backend hook: release the backend. */
  protected abstract release(): Promise<void>;

  async send(init: CanFrameInit, signal?: AbortSignal): Promise<void> {
    if (this.closed) throw canError('CAN_CLOSED', `${this.name} is closed`, { iface: this.name });
    if (signal?.aborted) throw new CancelledError(signal.reason);
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
    if (frame.fd && !this.fdCapable) {
      throw canError('CAN_FRAME_INVALID', `${this.name} does not carry CAN FD frames`, {
        iface: this.name,
        id: frame.id,
        length: frame.data.length,
      });
    }
    await this.transmit(frame, signal);
  }

  subscribe(filters: readonly CanFilter[] | undefined, listener: FrameListener): () => void {
    const sub: Subscription = { filters, listener };
    if (!this.closed) {
      this.subs.add(sub);
      this.subsList = [...this.subs];
    }
    return () => {
      if (this.subs.delete(sub)) this.subsList = [...this.subs];
    };
  }

  receive(filters: readonly CanFilter[] | undefined, timeoutMs: number, signal?: AbortSignal): Promise<CanFrame> {
    return new Promise<CanFrame>((resolve, reject) => {
      if (this.closed) return reject(canError('CAN_CLOSED', `${this.name} is closed`, { iface: this.name }));
      if (signal?.aborted) return reject(new CancelledError(signal.reason));
      const cleanup = () => {
        unsubscribe();
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.closers.delete(onClose);
      };
      const onAbort = () => {
        cleanup();
        reject(new CancelledError(signal?.reason));
      };
      const onClose = (e: Error) => {
        cleanup();
        reject(e);
      };
      const unsubscribe = this.subscribe(filters, (f) => {
        cleanup();
        resolve(f);
      });
      const timer = setTimeout(() => {
        cleanup();
        reject(
          canError('CAN_RX_TIMEOUT', `no frame on ${this.name} within ${timeoutMs} ms`, {
            iface: this.name,
            timeoutMs,
          }),
        );
      }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.closers.add(onClose);
    });
  }

  onEvent(listener: BusEventListener): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.shutdown(canError('CAN_CLOSED', `${this.name} was closed`, { iface: this.name }));
    await this.release();
  }

  /** Marks the bus closed, rejects pending receives with `error` and drops listeners. */
  protected shutdown(error: Error): void {
    this.closed = true;
    for (const c of [...this.closers]) c(error);
    this.closers.clear();
    this.subs.clear();
    this.subsList = [];
  }

  /** Fans a received frame out to matching subscribers, in subscription order. */
  protected deliver(frame: CanFrame): void {
    // A listener may unsubscribe others (or itself) during delivery: the snapshot stays, `has` skips them.
    const list = this.subsList;
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      if (!this.subs.has(s) || !matchesFilters(frame, s.filters)) continue;
      try {
        s.listener(frame);
      } catch (e) {
        this.reportListenerError(e, 'CAN frame listener threw');
      }
    }
  }

  private reportListenerError(e: unknown, msg: string): void {
    if (this.log) this.log.error({ err: e, iface: this.name }, msg);
    else process.emitWarning(`${msg} on ${this.name}: ${e instanceof Error ? e.message : String(e)}`);
  }

  protected emitEvent(event: CanBusEvent): void {
    for (const l of [...this.eventListeners]) {
      try {
        l(event);
      } catch (e) {
        this.reportListenerError(e, 'CAN event listener threw');
      }
    }
  }
}
