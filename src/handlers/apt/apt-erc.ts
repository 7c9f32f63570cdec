/**
 * Extended result codes of `microsoft/apt:1`, the ADU agent's values
 * (`scripts/error_code_generator_defs/result_codes.json`: facility 3 UPDATE_CONTENT_HANDLER,
 * component 2 APT; 0x30000068 is the common content-handler PARSE_BAD_FORMAT). sensor-proxy's own
 * additions live under facility 3 component 32 (EXTERNAL), range 0x09xx.
 */
import { makeExtendedResultCode } from '../../model/result-codes.js';

export const AptErc = {
  /** ADUC_ERC_UPDATE_CONTENT_HANDLER_PARSE_BAD_FORMAT */
  ParseBadFormat: 0x30000068,
  /** ADUC_ERC_APT_HANDLER_INVALID_PACKAGE_DATA */
  InvalidPackageData: 0x30200002,
  /** ADUC_ERC_APT_HANDLER_PACKAGE_PREPARE_FAILURE_WRONG_FILECOUNT */
  WrongFileCount: 0x30200004,
  /** ADUC_ERC_APT_HANDLER_INSTALLCRITERIA_PERSIST_FAILURE */
  InstalledCriteriaPersistFailure: 0x30200006,
  /** ADUC_ERC_APT_HANDLER_MISSING_INSTALLED_CRITERIA */
  MissingInstalledCriteria: 0x30200007,
  /** ADUC_ERC_APT_HANDLER_PACKAGE_DOWNLOAD_FAILURE */
  PackageDownloadFailure: 0x30200100,
  /** ADUC_ERC_APT_HANDLER_PACKAGE_INSTALL_FAILURE */
  PackageInstallFailure: 0x30200200,
  /** sensor-proxy: apt-get could not be started (wrong `aptGet` in the config, not installed). */
  AptGetNotStarted: makeExtendedResultCode(3, 32, 0x901),
  /** sensor-proxy: apt-get ran longer than `timeoutSeconds`. */
  AptGetTimeout: makeExtendedResultCode(3, 32, 0x902),
  /** sensor-proxy: invalid handler config. */
  InvalidConfig: makeExtendedResultCode(3, 32, 0x903),
} as const;
