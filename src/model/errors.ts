/**
 * One error class for the agent core, with a stable code per layer (`MANIFEST_`, `WORKFLOW_`,
 * `CONFIG_`, `HANDLER_`, `ENUM_`, `FILE_`, `CLI_`, quick flash's `TARGET_` and `IMAGE_`; `INPUT_TOO_LARGE`
 * for any input over its size limit, see `input-limits.ts`). Bus drivers have their own (`drivers/shared/errors.ts`).
 * `hint` says what the user can do about it; the CLI prints it.
 */
export type CoreErrorCode =
  | 'MANIFEST_INVALID_JSON'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_NOT_FOUND'
  | 'MANIFEST_CHILD_NOT_FOUND'
  | 'MANIFEST_TOO_LARGE'
  | 'FILE_MISSING'
  | 'FILE_SIZE_MISMATCH'
  | 'FILE_HASH_MISMATCH'
  | 'FILE_NAME_INVALID'
  | 'CONFIG_INVALID'
  | 'CONFIG_NOT_FOUND'
  | 'HANDLER_UNKNOWN'
  | 'ENUM_FAILED'
  | 'ENUM_UNKNOWN_TYPE'
  | 'ENUM_NOT_CONFIGURED'
  | 'WORKFLOW_CANCELLED'
  | 'WORKFLOW_STATE_CORRUPT'
  | 'WORKFLOW_BUSY'
  | 'REBOOT_FAILED'
  | 'CLI_USAGE'
  | 'INPUT_TOO_LARGE'
  /** Quick flash: a target that is not there (`TARGET_NOT_FOUND`), or that does not fit (`TARGET_INVALID`). */
  | 'TARGET_NOT_FOUND'
  | 'TARGET_INVALID'
  /** Quick flash: the image is not one the protocol takes (no MCUboot header, no DFU suffix). */
  | 'IMAGE_REJECTED';

export class SensorProxyError extends Error {
  readonly code: CoreErrorCode;
  readonly details: Record<string, unknown>;
  readonly hint: string | undefined;

  constructor(
    code: CoreErrorCode,
    message: string,
    opts: { details?: Record<string, unknown>; hint?: string; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SensorProxyError';
    this.code = code;
    this.details = opts.details ?? {};
    this.hint = opts.hint;
  }
}

export function isSensorProxyError(e: unknown, code?: CoreErrorCode): e is SensorProxyError {
  return e instanceof SensorProxyError && (code === undefined || e.code === code);
}

/** Message of any thrown value, for result details. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
