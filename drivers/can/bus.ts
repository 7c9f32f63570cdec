import type { CanFilter, CanFrame, CanFrameInit } from './frame.js';

/**
 * Error and state events a bus reports (reference/bus-protocols.md §1.1). `tx-retry` is emitted for
 * every back-off on a full tx queue (ENOBUFS), so a congested bus is visible, never a silent drop.
 */
export type CanBusEvent =
  | { kind: 'bus-off' }
  | { kind: 'error-passive' | 'error-warning' | 'restarted' }
  /** An error frame with the raw SocketCAN error class (`linux/can/error.h`). */
  | { kind: 'error-frame'; errorClass: number; data: Uint8Array }
  | { kind: 'tx-retry'; retries: number; waitedUs: number }
  /** The interface went away (unregistered, link down for good); pending receives reject. */
  | { kind: 'stopped'; reason: string };

export type FrameListener = (frame: CanFrame) => void;
export type BusEventListener = (event: CanBusEvent) => void;

/**
 * A CAN bus as one node on it sees it (reference/style-anchors.md §1). Implementations:
 * `SocketCanBus` (Linux SocketCAN through npm `socketcan`), `MemoryCanBus` (in-process wire).
 *
 * Semantics follow SocketCAN CAN_RAW with loopback on: a frame sent through one `CanBus` is seen by
 * every *other* `CanBus` on the same wire (other processes and other sockets of this process), never
 * by its own listeners.
 *
 * Teardown contract: `close()` makes later `send`/`receive` reject with BusError `CAN_CLOSED`, rejects
 * pending `receive` calls with `CAN_CLOSED` and drops all listeners. An aborted `signal` rejects that
 * one call with CancelledError and leaves the bus usable. When the interface disappears, a
 * `stopped` event is emitted and the bus behaves as closed.
 */
export interface CanBus {
  /** Interface name, e.g. `vcan0` or `mem:bench`. */
  readonly name: string;
  /** True when the bus carries CAN FD frames (vcan with MTU 72, FD controller, FD memory wire). */
  readonly fdCapable: boolean;
  /**
   * Sends one frame. Resolves when the backend accepted it (SocketCAN: queued in the kernel; memory
   * bus with timing: on-wire transmission finished). A full tx queue (ENOBUFS) is retried with
   * exponential back-off up to the bus's tx timeout, then rejects with `CAN_TX_TIMEOUT`.
   * Rejects with `CAN_FRAME_INVALID` (bad id/length, FD on a classic bus), `CAN_TX_FAILED`,
   * `CAN_BUS_OFF`, `CAN_CLOSED`, or CancelledError.
   */
  send(frame: CanFrameInit, signal?: AbortSignal): Promise<void>;
  /**
   * Optional fast path of backends whose send is a synchronous non-blocking write (SocketCanBus):
   * puts `frame` on the wire now and returns true, or returns false without sending when it would
   * have to wait (full tx queue): then use {@link CanBus.send}, which retries with back-off. No promise,
   * no timer, and the bus keeps no reference to `frame` (callers may reuse the object). Throws like
   * `send` rejects (`CAN_CLOSED`, `CAN_FRAME_INVALID`).
   */
  trySend?(frame: CanFrameInit): boolean;
  /**
   * Calls `listener` for every received frame passing `filters` (none: all frames), in arrival order,
   * until the returned function is called. Listener exceptions are reported via `onEvent`-free
   * logging by the backend and never stop delivery to others.
   */
  subscribe(filters: readonly CanFilter[] | undefined, listener: FrameListener): () => void;
  /**
   * Resolves with the next frame passing `filters` that arrives after the call, or rejects with
   * `CAN_RX_TIMEOUT` after `timeoutMs`, `CAN_CLOSED`, or CancelledError.
   */
  receive(filters: readonly CanFilter[] | undefined, timeoutMs: number, signal?: AbortSignal): Promise<CanFrame>;
  /** Registers a listener for bus events (bus-off, error frames, tx back-off, stopped). Returns an unsubscribe function. */
  onEvent(listener: BusEventListener): () => void;
  /** Closes the bus (see the teardown contract). Idempotent. */
  close(): Promise<void>;
}
