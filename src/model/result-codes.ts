/**
 * ADU result codes and extended result codes (`reference/adu-agent.md` §4.1-4.2, from
 * `src/adu_types/inc/aduc/types/adu_core.h` and `src/inc/aduc/result.h` of the ADU agent).
 * Success ⇔ resultCode > 0.
 */
export const ResultCode = {
  Failure: 0,
  FailureCancelled: -1,
  Success: 1,
  IdleSuccess: 200,
  DeploymentInProgressSuccess: 400,
  DownloadSuccess: 500,
  DownloadInProgress: 501,
  DownloadSkippedFileExists: 502,
  DownloadSkippedUpdateAlreadyInstalled: 503,
  DownloadSkippedNoMatchingComponents: 504,
  InstallSuccess: 600,
  InstallInProgress: 601,
  InstallSkippedUpdateAlreadyInstalled: 603,
  InstallSkippedNoMatchingComponents: 604,
  InstallRequiredImmediateReboot: 605,
  InstallRequiredReboot: 606,
  InstallRequiredImmediateAgentRestart: 607,
  InstallRequiredAgentRestart: 608,
  ApplySuccess: 700,
  ApplyInProgress: 701,
  ApplyRequiredImmediateReboot: 705,
  ApplyRequiredReboot: 706,
  ApplyRequiredImmediateAgentRestart: 707,
  ApplyRequiredAgentRestart: 708,
  CancelSuccess: 800,
  CancelUnableToCancel: 801,
  IsInstalledInstalled: 900,
  IsInstalledNotInstalled: 901,
  BackupSuccess: 1000,
  BackupSuccessUnsupported: 1001,
  RestoreSuccess: 1100,
  RestoreSuccessUnsupported: 1101,
} as const;

export type ResultCodeValue = (typeof ResultCode)[keyof typeof ResultCode];

const NAMES = new Map<number, string>(Object.entries(ResultCode).map(([k, v]) => [v, k]));

export function resultCodeName(code: number): string {
  return NAMES.get(code) ?? `Unknown(${code})`;
}

/** An ADUC_Result plus details, as a handler returns it. */
export interface AducResult {
  resultCode: number;
  extendedResultCode: number;
  resultDetails?: string;
}

export function isSuccess(r: AducResult): boolean {
  return r.resultCode > 0;
}

export function result(resultCode: number, extendedResultCode = 0, resultDetails?: string): AducResult {
  return resultDetails === undefined
    ? { resultCode, extendedResultCode }
    : { resultCode, extendedResultCode, resultDetails };
}

/** Facilities of the extended result code (`MAKE_ADUC_EXTENDEDRESULTCODE`). */
export const Facility = {
  Unknown: 0,
  LowerLayer: 1,
  UpperLayer: 2,
  UpdateContentHandler: 3,
  ContentDownloader: 4,
  ComponentEnumerator: 7,
  Utility: 8,
  InfraMgmt: 10,
} as const;

/** Content-handler components under facility 3. 32 = EXTERNAL, which custom handlers use. */
export const HandlerComponent = {
  Common: 0,
  Steps: 4,
  Script: 5,
  External: 32,
} as const;

/** `((facility & 0xF) << 28) | ((component & 0xFF) << 20) | (value & 0xFFFFF)` as an unsigned 32-bit value. */
export function makeExtendedResultCode(facility: number, component: number, value: number): number {
  return (((facility & 0xf) << 28) | ((component & 0xff) << 20) | (value & 0xfffff)) >>> 0;
}

/** ERC as the ADU agent reports it: 8 uppercase hex digits (`%08X`). */
export function formatErc(erc: number): string {
  return (erc >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

/**
 * Extended result codes used by the core. Names follow the ADU agent where it has the same
 * condition; sensor-proxy's own codes live under facility 3 component 32 (EXTERNAL), value
 * ranges 0x1xx workflow, 0x2xx manifest/files, 0x3xx handlers, 0x4xx enumerators.
 */
export const Erc = {
  None: 0,
  /** 0x30500005: script step without `handlerProperties.scriptFileName` (ADU script handler). */
  ScriptMissingScriptFileName: 0x30500005,
  /** 0x30500205: script exited 0 without a parseable result file (ADU script handler). */
  ScriptResultFileMissing: 0x30500205,
  /** 0x30500206: script wrote resultCode <= 0 with extendedResultCode 0 (ADU script handler). */
  ScriptResultErcZero: 0x30500206,
  /** 0x4000000c: payload hash mismatch (ADU content downloader). */
  InvalidFileHash: 0x4000000c,
  /** 0x80300001: manifest validation failed (ADU update data parser). */
  ManifestValidationFailed: 0x80300001,
  /** 0x8030000a: unsupported update manifest version. */
  UnsupportedManifestVersion: 0x8030000a,
  /** 0x30400005: reference step compatibility could not be read (ADU steps handler). */
  RefStepCompatibilityFailed: 0x30400005,
  /** 0x3040000a: invalid components data (ADU steps handler). */
  InvalidComponentsData: 0x3040000a,
  /** 0x70000001..: component enumerator failures (ADU facility 7). */
  EnumeratorFailed: 0x70000002,
  /** 0x32000101: the deployment was cancelled (CLI Ctrl-C, `--cancel`, or the service sent Cancel). */
  WorkflowCancelled: makeExtendedResultCode(3, 32, 0x101),
  /** 0x32000102: a step names a handler id that no handler is registered for. */
  WorkflowUnknownHandler: makeExtendedResultCode(3, 32, 0x102),
  /** 0x32000103: a handler threw instead of returning a result (a bug in the handler; see resultDetails and the log). */
  WorkflowHandlerThrew: makeExtendedResultCode(3, 32, 0x103),
  /** 0x32000104: a reference step names a child update whose manifest is not among the update files. */
  WorkflowChildNotFound: makeExtendedResultCode(3, 32, 0x104),
  /** A handler asked for a reboot / agent restart and the agent could not carry it out. */
  WorkflowRestartFailed: makeExtendedResultCode(3, 32, 0x105),
  /** 0x32000401: a selected component's sensor is declared but absent (not attached). */
  ComponentAbsent: makeExtendedResultCode(3, 32, 0x401),
  /** 0x32000402: a selected component's sensor is attached or expected but cannot be reached. */
  ComponentUnreachable: makeExtendedResultCode(3, 32, 0x402),
  /** 0x32000201: a file the manifest lists is not in the update folder / was not delivered. */
  FileMissing: makeExtendedResultCode(3, 32, 0x201),
  /** 0x32000202: a file's size differs from the manifest's sizeInBytes. */
  FileSizeMismatch: makeExtendedResultCode(3, 32, 0x202),
} as const;

/** Child process exit code → ERC, as the ADU script handler does (`0x30501000 + exit`). */
export function scriptExitCodeErc(exitCode: number): number {
  return makeExtendedResultCode(Facility.UpdateContentHandler, HandlerComponent.Script, 0x1000 + (exitCode & 0xfff));
}
