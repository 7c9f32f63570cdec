/**
 * Base error for every bus driver and protocol stack. `code` is stable and prefixed per layer
 * (`CAN_`, `ISOTP_`, `UDS_`, `SERIAL_`, `SMP_`, `YMODEM_`, `USB_`, `DFU_`); `details` is typed per
 * code by the layer that throws it. Drivers never import from `src/`, so the agent maps these codes
 * to ADU extended result codes in one table on its side.
 */
export class BusError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'BusError';
    this.code = code;
    this.details = details;
  }
}

/** A cancel reason as text: an Error's message, anything else as String() renders it. */
function reasonText(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

/** The single error raised when an operation's AbortSignal fires (user cancel), never a timeout. */
export class CancelledError extends BusError {
  constructor(reason?: unknown) {
    super('CANCELLED', `operation cancelled${reason ? `: ${reasonText(reason)}` : ''}`, {}, reason);
    this.name = 'CancelledError';
  }
}

export function isBusError(e: unknown, code?: string): e is BusError {
  return e instanceof BusError && (code === undefined || e.code === code);
}

export function isCancelled(e: unknown): boolean {
  return e instanceof CancelledError || (e instanceof Error && e.name === 'AbortError');
}

/** Throws {@link CancelledError} when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError(signal.reason);
}
