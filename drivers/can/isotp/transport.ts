/** Which ISO-TP implementation carries a connection: the kernel's CAN_ISOTP sockets or ours over raw CAN frames. */
export type IsoTpBackend = 'kernel' | 'user';

/** The `isotp.backend` setting: `auto` takes the kernel's where it is available (see `chooseIsoTpBackend`). */
export type IsoTpBackendSetting = 'auto' | IsoTpBackend;

export const ISOTP_BACKEND_SETTINGS: readonly IsoTpBackendSetting[] = ['auto', 'kernel', 'user'];

/**
 * One ISO-TP connection (one tx id, one rx id) as the UDS client uses it. Implementations:
 * `IsoTpChannel` (user space, over any CanBus) and `KernelIsoTpChannel` (Linux CAN_ISOTP sockets).
 * Both pass the same contract tests (test/unit/can/isotp-transport-contract, test/vm/isotp-backends).
 */
export interface IsoTpTransport {
  readonly backend: IsoTpBackend;
  /** Sends one message; resolves when its last frame is out. Rejects with ISOTP_/CAN_ codes or CancelledError. */
  send(payload: Uint8Array, signal?: AbortSignal): Promise<void>;
  /** The next complete message (queued ones first); ISOTP_RX_TIMEOUT after `timeoutMs`, reception errors, CancelledError. */
  receive(timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array>;
  /** Drops queued messages. */
  discard(): void;
  /** Stops the connection; pending receives reject with CancelledError. Idempotent. */
  close(): void;
}
