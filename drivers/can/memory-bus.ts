import type { Logger } from 'pino';
import { CancelledError } from '../shared/errors.js';
import { frameDurationUs, type BitTiming } from './bit-timing.js';
import { CanBusBase } from './bus-base.js';
import type { CanBusEvent } from './bus.js';
import { systemClock, type Clock } from './clock.js';
import { canError } from './errors.js';
import type { CanFrame } from './frame.js';

export interface MemoryCanNetworkOptions {
  /** Carries CAN FD frames (like vcan with MTU 72). Default true. */
  fd?: boolean;
  /**
   * Bit-timing model: each frame occupies the wire for its on-wire time including stuffing
   * (`bit-timing.ts`), frames are serialised, `send` resolves when the frame has been transmitted.
   * Default none: delivery in the next microtask, no bit time (like vcan).
   */
  timing?: BitTiming;
  /** Time source for the timing model and timestamps. Default {@link systemClock}. */
  clock?: Clock;
}

/** Counters of one memory wire, for benchmarks. */
export interface MemoryWireStats {
  frames: number;
  dataBytes: number;
  /** Sum of on-wire time of all frames (0 without a timing model). */
  busyUs: number;
}

const registry = new Map<string, MemoryCanNetwork>();

/**
 * An in-process CAN wire. Every member bus sees every frame sent by the others, in send order
 * (SocketCAN loopback semantics: never its own frames unless it joined with `receiveOwn`).
 *
 *   MemoryCanBus ──send──▶ MemoryCanNetwork (FIFO, optional bit time) ──deliver──▶ other members
 */
export class MemoryCanNetwork {
  readonly fd: boolean;
  readonly timing: BitTiming | undefined;
  readonly clock: Clock;
  readonly stats: MemoryWireStats = { frames: 0, dataBytes: 0, busyUs: 0 };
  private readonly members = new Set<MemoryCanBus>();
  private busyUntil = 0;
  private busOff = false;

  constructor(readonly name: string, options: MemoryCanNetworkOptions = {}) {
    this.fd = options.fd ?? true;
    this.timing = options.timing;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * The process-wide network called `name` (what interface `mem:<name>` in a config opens),
   * created with `options` on first use.
   */
  static named(name: string, options?: MemoryCanNetworkOptions): MemoryCanNetwork {
    let n = registry.get(name);
    if (!n) {
      n = new MemoryCanNetwork(name, options);
      registry.set(name, n);
    }
    return n;
  }

  /** Removes a named network from the registry (its members stay usable). */
  static forget(name: string): void {
    registry.delete(name);
  }

  /** A new node on this wire. */
  join(options: { receiveOwn?: boolean; log?: Logger } = {}): MemoryCanBus {
    const bus = new MemoryCanBus(this, options.receiveOwn ?? false, options.log);
    this.members.add(bus);
    return bus;
  }

  /** Delivers a bus event to every member; `bus-off` makes sends fail with CAN_BUS_OFF until `restarted`. */
  injectEvent(event: CanBusEvent): void {
    if (event.kind === 'bus-off') this.busOff = true;
    if (event.kind === 'restarted') this.busOff = false;
    for (const m of this.members) m.receiveEvent(event);
  }

  /** @internal */
  leave(bus: MemoryCanBus): void {
    this.members.delete(bus);
  }

  /** @internal Serialises `frame` on the wire and delivers it; resolves when transmitted. */
  carry(frame: CanFrame, from: MemoryCanBus, signal?: AbortSignal): Promise<void> {
    if (this.busOff) return Promise.reject(canError('CAN_BUS_OFF', `${this.name} is bus-off`, { iface: this.name }));
    this.stats.frames++;
    this.stats.dataBytes += frame.data.length;
    return new Promise<void>((resolve, reject) => {
      const deliver = () => {
        signal?.removeEventListener('abort', onAbort);
        const stamped: CanFrame = { ...frame, timestamp: this.clock.now() };
        for (const m of this.members) if (m !== from || m.receiveOwn) m.receiveFrame(stamped);
        resolve();
      };
      let cancel: (() => void) | undefined;
      const onAbort = () => {
        cancel?.();
        reject(new CancelledError(signal?.reason));
      };
      if (!this.timing) {
        queueMicrotask(deliver);
        return;
      }
      const now = this.clock.now();
      const duration = frameDurationUs(frame, this.timing);
      this.stats.busyUs += duration;
      const start = Math.max(now, this.busyUntil);
      this.busyUntil = start + duration;
      cancel = this.clock.schedule(this.busyUntil - now, deliver);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** One node's view of a {@link MemoryCanNetwork}; same contract as `SocketCanBus`. */
export class MemoryCanBus extends CanBusBase {
  constructor(
    readonly network: MemoryCanNetwork,
    readonly receiveOwn: boolean,
    log?: Logger,
  ) {
    super(`mem:${network.name}`, network.fd, log);
  }

  protected transmit(frame: CanFrame, signal?: AbortSignal): Promise<void> {
    return this.network.carry(frame, this, signal);
  }

  protected async release(): Promise<void> {
    this.network.leave(this);
  }

  /** @internal */
  receiveFrame(frame: CanFrame): void {
    if (!this.closed) this.deliver(frame);
  }

  /** @internal */
  receiveEvent(event: CanBusEvent): void {
    if (!this.closed) this.emitEvent(event);
  }
}
