/**
 * Errors of the IoT Hub agent layer: a stable code plus the ADU extended result code the agent
 * reports for it, so a failed deployment's `lastInstallResult.extendedResultCodes` says why.
 */
import { makeExtendedResultCode } from '../model/result-codes.js';

/** JWS validation results of the ADU agent (`JWSResult`, `reference/adu-agent.md` §5.4 step 7). */
export const JwsResult = {
  BadStructure: 2,
  InvalidSignature: 4,
  DisallowedRootKid: 5,
  MissingRootKid: 6,
  InvalidRootKid: 7,
  InvalidEncodingJwsHeader: 8,
  InvalidSjwkPayload: 9,
  SigningKeyDisabled: 10,
  FailGenPubKey: 12,
} as const;

/** ERC `MAKE(10 INFRA_MGMT, 2 JWS_UPDATE_MANIFEST_VALIDATION, JWSResult)` (§5.4 step 7). */
export function jwsErc(jwsResult: number): number {
  return makeExtendedResultCode(10, 2, jwsResult);
}

/** Hub-layer ERCs. Facility 4 component 2 (content downloader, SIMPLE_HTTP) for downloads; 8/3 and 10/x are ADU's own. */
export const HubErc = {
  /** 0xa0000005 ROOTKEY_SIGNING_KEY_IS_DISABLED (§5.4 step 5). */
  SigningKeyDisabled: 0xa0000005,
  /** 0x80300010: legacy actions 0/1/2 are rejected (§4.3). */
  UnsupportedAction: 0x80300010,
  /** 0x8030000b MISSING_DETACHED_UPDATE_MANIFEST_ENTITY (§5.2). */
  MissingDetachedManifest: 0x8030000b,
  /** HTTP answered with a non-success status: value = the status (0x40200194 for 404). */
  httpStatus: (status: number): number => makeExtendedResultCode(4, 2, status & 0xfff),
  /** The URL could not be reached (DNS, refused, reset) after every attempt. */
  DownloadUnreachable: makeExtendedResultCode(4, 2, 0x1001),
  /** The overall download deadline passed. */
  DownloadTimeout: makeExtendedResultCode(4, 2, 0x1002),
  /** `fileUrls` has no URL for a file the manifest needs. */
  DownloadNoUrl: makeExtendedResultCode(4, 2, 0x1003),
  /** The server sent more bytes than the manifest's `sizeInBytes`. */
  DownloadTooLarge: makeExtendedResultCode(4, 2, 0x1004),
} as const;

export type HubErrorCode =
  | 'HUB_CONFIG_INVALID'
  | 'HUB_SIGNATURE_INVALID'
  | 'HUB_DOWNLOAD_FAILED'
  | 'HUB_SERVICE_INVALID'
  | 'HUB_ROOT_KEY_PACKAGE_INVALID'
  | 'HUB_TWIN_TIMEOUT';

export class HubError extends Error {
  readonly code: HubErrorCode;
  /** ADU extended result code to report (0 when none applies). */
  readonly erc: number;
  readonly details: Record<string, unknown>;

  constructor(
    code: HubErrorCode,
    message: string,
    opts: { erc?: number; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'HubError';
    this.code = code;
    this.erc = opts.erc ?? 0;
    this.details = opts.details ?? {};
  }
}

export function isHubError(e: unknown, code?: HubErrorCode): e is HubError {
  return e instanceof HubError && (code === undefined || e.code === code);
}
