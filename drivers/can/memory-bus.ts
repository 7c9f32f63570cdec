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
  /**
   * With a timing model: frames a member may have queued for the wire before `send` waits (like a
   * controller's tx queue, `qlen 10` on Linux CAN netdevs, reference §1.1). `send` resolves when its
   * frame is queued, as a SocketCAN write does. 0 = resolve only when the frame has been transmitted.
   * Default 10.
   */
  txQueueLength?: number;
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
  readonly txQueueLength: number;
  private busyUntil = 0;
  private busOff = false;
  private readonly queued = new Map<MemoryCanBus, { count: number; waiters: (() => void)[] }>();

  constructor(
    readonly name: string,
    options: MemoryCanNetworkOptions = {},
  ) {
    this.fd = options.fd ?? true;
    this.timing = options.timing;
    this.clock = options.clock ?? systemClock;
    this.txQueueLength = options.txQueueLength ?? 10;
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

  /** @internal Serialises `frame` on the wire and delivers it; resolves when queued (see txQueueLength) or transmitted. */
  carry(frame: CanFrame, from: MemoryCanBus, signal?: AbortSignal): Promise<void> {
    if (this.busOff) return Promise.reject(canError('CAN_BUS_OFF', `${this.name} is bus-off`, { iface: this.name }));
    if (signal?.aborted) return Promise.reject(new CancelledError(signal.reason));
    this.stats.frames++;
    this.stats.dataBytes += frame.data.length;
    return new Promise<void>((resolve) => {
      if (!this.timing) {
        queueMicrotask(() => {
          this.fanOut(frame, from);
          resolve();
        });
        return;
      }
      const duration = frameDurationUs(frame, this.timing);
      this.stats.busyUs += duration;
      this.busyUntil = Math.max(this.clock.now(), this.busyUntil) + duration;
      const q = this.queued.get(from) ?? { count: 0, waiters: [] };
      this.queued.set(from, q);
      q.count++;
      const queuedOnly = this.txQueueLength > 0;
      this.wire.push({ frame, from, at: this.busyUntil, done: queuedOnly ? undefined : resolve });
      if (this.wire.length === 1) this.pumpWire();
      // Accepted into the tx queue: resolve now, or when one of this member's frames has left it.
      if (queuedOnly) {
        if (q.count <= this.txQueueLength) resolve();
        else q.waiters.push(resolve);
      }
    });
  }

  /** Frames on the wire in transmission order, each delivered at its end-of-frame time. */
  private readonly wire: { frame: CanFrame; from: MemoryCanBus; at: number; done: (() => void) | undefined }[] = [];

  /** One timer for the head of the wire, so frames arrive strictly in order even when timers fire late. */
  private pumpWire(): void {
    const head = this.wire[0];
    if (!head) return;
    this.clock.schedule(head.at - this.clock.now(), () => {
      const now = this.clock.now();
      while (this.wire.length > 0 && this.wire[0]!.at <= now) {
        const w = this.wire.shift()!;
        this.fanOut(w.frame, w.from);
        const q = this.queued.get(w.from)!;
        q.count--;
        q.waiters.shift()?.();
        w.done?.();
      }
      this.pumpWire();
    });
  }

  private fanOut(frame: CanFrame, from: MemoryCanBus): void {
    const stamped: CanFrame = { ...frame, timestamp: this.clock.now() };
    for (const m of this.members) if (m !== from || m.receiveOwn) m.receiveFrame(stamped);
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
