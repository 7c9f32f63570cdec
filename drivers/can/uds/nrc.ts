/**
 * Negative response codes of ISO 14229-1 Annex A.1, every one named (python-udsoncan
 * `ResponseCode.py`; reference/bus-protocols.md §1.3). Flat table: code → name.
 */
export const Nrc = {
  generalReject: 0x10,
  serviceNotSupported: 0x11,
  subFunctionNotSupported: 0x12,
  incorrectMessageLengthOrInvalidFormat: 0x13,
  responseTooLong: 0x14,
  busyRepeatRequest: 0x21,
  conditionsNotCorrect: 0x22,
  requestSequenceError: 0x24,
  noResponseFromSubnetComponent: 0x25,
  failurePreventsExecutionOfRequestedAction: 0x26,
  requestOutOfRange: 0x31,
  securityAccessDenied: 0x33,
  authenticationRequired: 0x34,
  invalidKey: 0x35,
  exceedNumberOfAttempts: 0x36,
  requiredTimeDelayNotExpired: 0x37,
  certificateVerificationFailedInvalidTimePeriod: 0x50,
  certificateVerificationFailedInvalidSignature: 0x51,
  certificateVerificationFailedInvalidChainOfTrust: 0x52,
  certificateVerificationFailedInvalidType: 0x53,
  certificateVerificationFailedInvalidFormat: 0x54,
  certificateVerificationFailedInvalidContent: 0x55,
  certificateVerificationFailedInvalidScope: 0x56,
  certificateVerificationFailedInvalidCertificate: 0x57,
  ownershipVerificationFailed: 0x58,
  challengeCalculationFailed: 0x59,
  settingAccessRightsFailed: 0x5a,
  sessionKeyCreationDerivationFailed: 0x5b,
  configurationDataUsageFailed: 0x5c,
  deAuthenticationFailed: 0x5d,
  uploadDownloadNotAccepted: 0x70,
  transferDataSuspended: 0x71,
  generalProgrammingFailure: 0x72,
  wrongBlockSequenceCounter: 0x73,
  requestCorrectlyReceivedResponsePending: 0x78,
  subFunctionNotSupportedInActiveSession: 0x7e,
  serviceNotSupportedInActiveSession: 0x7f,
  rpmTooHigh: 0x81,
  rpmTooLow: 0x82,
  engineIsRunning: 0x83,
  engineIsNotRunning: 0x84,
  engineRunTimeTooLow: 0x85,
  temperatureTooHigh: 0x86,
  temperatureTooLow: 0x87,
  vehicleSpeedTooHigh: 0x88,
  vehicleSpeedTooLow: 0x89,
  throttlePedalTooHigh: 0x8a,
  throttlePedalTooLow: 0x8b,
  transmissionRangeNotInNeutral: 0x8c,
  transmissionRangeNotInGear: 0x8d,
  brakeSwitchNotClosed: 0x8f,
  shifterLeverNotInPark: 0x90,
  torqueConverterClutchLocked: 0x91,
  voltageTooHigh: 0x92,
  voltageTooLow: 0x93,
  resourceTemporarilyNotAvailable: 0x94,
} as const;

export type NrcName = keyof typeof Nrc;

const NAMES = new Map<number, string>(Object.entries(Nrc).map(([name, code]) => [code, name]));

/** The ISO name of an NRC; unnamed codes by range (0x38-0x4F link security, 0xF0-0xFE manufacturer). */
export function nrcName(code: number): string {
  const n = NAMES.get(code);
  if (n) return n;
  if (code >= 0x38 && code <= 0x4f) return `reservedByExtendedDataLinkSecurityDocument(0x${code.toString(16)})`;
  if (code >= 0xf0 && code <= 0xfe) return `vehicleManufacturerSpecific(0x${code.toString(16)})`;
  return `isoSAEReserved(0x${code.toString(16)})`;
}
