import {
  Erc,
  Facility,
  HandlerComponent,
  makeExtendedResultCode,
  scriptExitCodeErc,
} from '../../model/result-codes.js';

/**
 * Extended result codes of the `microsoft/script:1` handler.
 *
 * The first group are the ADU agent's own codes (`scripts/error_code_generator_defs/result_codes.json`,
 * facility 3 EXTENSION_UPDATE_CONTENT_HANDLER, component 5 ADUC_CONTENT_HANDLER_SCRIPT), so a
 * dashboard that knows ADU reads them unchanged (`reference/adu-agent.md` §3.5, §4.2).
 * The second group covers conditions the ADU handler has no code for (it has no timeout and
 * no cancel of a running script); they live under facility 3 component 32 (EXTERNAL), values
 * 0x380-0x38F, inside the 0x3xx "handlers" range of `src/model/result-codes.ts`.
 */
export const ScriptErc = {
  /** 0x30500005 ADUC_ERC_SCRIPT_HANDLER_MISSING_SCRIPTFILENAME_PROPERTY: no `handlerProperties.scriptFileName`. */
  MissingScriptFileName: Erc.ScriptMissingScriptFileName,
  /**
   * 0x30500103 ADUC_ERC_SCRIPT_HANDLER_DOWNLOAD_FAILURE_GET_PRIMARY_FILE_ENTITY (value 259): `scriptFileName`
   * names no file of the step. This is what ADU returns when `workflow_get_update_file_by_name` fails.
   */
  ScriptFileNotInStep: makeExtendedResultCode(Facility.UpdateContentHandler, HandlerComponent.Script, 259),
  /** 0x30500204 ADUC_ERC_SCRIPT_HANDLER_INSTALL_FAILURE_MISSING_PRIMARY_SCRIPT_FILE (value 516): listed, but absent from the work folder. */
  ScriptFileMissingOnDisk: makeExtendedResultCode(Facility.UpdateContentHandler, HandlerComponent.Script, 516),
  /** 0x30500205 ADUC_ERC_SCRIPT_HANDLER_INSTALL_FAILURE_PARSE_RESULT_FILE (517): exit 0 without a readable result file. */
  ResultFileUnreadable: Erc.ScriptResultFileMissing,
  /** 0x30500206 ..._SCRIPT_RESULT_EXTENDEDRESULTCODE_ZERO (518): the script reported a failure with ERC 0. */
  ResultErcZero: Erc.ScriptResultErcZero,

  /** 0x32000380: the run exceeded `timeoutSeconds`; the process group was terminated. */
  Timeout: makeExtendedResultCode(Facility.UpdateContentHandler, HandlerComponent.External, 0x380),
  /** 0x32000381: the script was killed by a signal it did not get from us (OOM killer, `kill -9`, crash). */
  KilledBySignal: makeExtendedResultCode(Facility.UpdateContentHandler, HandlerComponent.External, 0x381),
  /** 0x32000382: the script could not be started (no shebang, not executable, interpreter missing). */
  SpawnFailed: makeExtendedResultCode(Facility.UpdateContentHandler, HandlerComponent.External, 0x382),
  /** 0x32000383: a handlerProperty has the wrong type or range (`arguments`, `apiVersion`, `timeoutSeconds`, `scriptFileName`). */
  InvalidHandlerProperties: makeExtendedResultCode(Facility.UpdateContentHandler, HandlerComponent.External, 0x383),
  /** 0x32000384: `--action-is-installed` reported a success code other than 900/901. */
  IsInstalledUnexpectedResult: makeExtendedResultCode(Facility.UpdateContentHandler, HandlerComponent.External, 0x384),
} as const;

/** ADUC_ERC_SCRIPT_HANDLER_CHILD_PROCESS_FAILURE_EXITCODE(exit) = 0x30501000 + exit (`src/inc/aduc/result.h`). */
export const childProcessExitErc = scriptExitCodeErc;
