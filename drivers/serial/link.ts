/**
 * A serial link: bytes in and out of a UART, USB-serial adapter or pty. Protocol stacks (SMP,
 * YMODEM) speak only to this interface, so they run on the real `serialport` backend
 * (`serialport-link.ts`) and in unit tests alike.
 *
 * Teardown contract: `close()` rejects every pending `read` with BusError `SERIAL_CLOSED`;
 * a device that disappears (unplug, pty peer closed) rejects pending and later reads with
 * `SERIAL_DISCONNECTED`; an aborted `signal` rejects that read with CancelledError and
 * leaves the link usable.
 */
export interface SerialLink {
  readonly path: string;
  /**
   * Writes all bytes and waits until the OS has sent them (drain). With `{ drain: false }` it
   * resolves once the OS has taken them: for a caller that waits for the peer's answer next
   * anyway (the answer cannot come before the bytes went out), which saves a round trip through
   * the driver per write.
   */
  write(data: Uint8Array, signal?: AbortSignal, opts?: { drain?: boolean }): Promise<void>;
  /**
   * Reads at least 1 and at most `max` bytes that arrived since the last read, waiting up to
   * `timeoutMs` (rejects with BusError `SERIAL_TIMEOUT`, details `{ timeoutMs }`).
   */
  read(max: number, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array>;
  /** Reads exactly `n` bytes within `timeoutMs` overall. */
  readExactly(n: number, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array>;
  /** Drops any bytes received but not yet read. */
  discardInput(): void;
  /** Sets modem control lines (no-op where the backend has none, e.g. some ptys). */
  setControlLines(lines: { dtr?: boolean; rts?: boolean }): Promise<void>;
  close(): Promise<void>;
}

export interface SerialLinkOptions {
  path: string;
  /** Line rate in baud. Default 115200. */
  baudRate?: number;
  /**
   * When false, the port is opened without raising DTR/RTS (opening a Linux tty raises them by
   * default, which resets many boards: reference/bus-protocols.md §4). Default true.
   */
  assertControlLinesOnOpen?: boolean;
}
