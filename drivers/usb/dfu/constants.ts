/**
 * USB DFU 1.1 and DfuSe protocol constants (reference/bus-protocols.md §3.1-3.2, from dfu-util 0.11
 * `src/dfu.h`, `src/usb_dfu.h`, `src/dfuse.c`). Every request, state and status has a name here;
 * errors and logs use the names.
 */

/** Class-specific requests, recipient interface, `wIndex` = interface number (DFU 1.1 §3, table 3.2). */
export const DfuRequest = {
  DETACH: 0,
  DNLOAD: 1,
  UPLOAD: 2,
  GETSTATUS: 3,
  CLRSTATUS: 4,
  GETSTATE: 5,
  ABORT: 6,
} as const;
export type DfuRequestName = keyof typeof DfuRequest;

/** bState values (DFU 1.1 §6.1.2; dfu-util `src/dfu.h`). */
export const DfuState = {
  appIDLE: 0,
  appDETACH: 1,
  dfuIDLE: 2,
  dfuDNLOAD_SYNC: 3,
  dfuDNBUSY: 4,
  dfuDNLOAD_IDLE: 5,
  dfuMANIFEST_SYNC: 6,
  dfuMANIFEST: 7,
  dfuMANIFEST_WAIT_RESET: 8,
  dfuUPLOAD_IDLE: 9,
  dfuERROR: 10,
} as const;
export type DfuStateName = keyof typeof DfuState;

/** bStatus values (DFU 1.1 §6.1.2 table 6.2; dfu-util `src/dfu.h`). */
export const DfuStatus = {
  OK: 0x00,
  errTARGET: 0x01,
  errFILE: 0x02,
  errWRITE: 0x03,
  errERASE: 0x04,
  errCHECK_ERASED: 0x05,
  errPROG: 0x06,
  errVERIFY: 0x07,
  errADDRESS: 0x08,
  errNOTDONE: 0x09,
  errFIRMWARE: 0x0a,
  errVENDOR: 0x0b,
  errUSBR: 0x0c,
  errPOR: 0x0d,
  errUNKNOWN: 0x0e,
  errSTALLEDPKT: 0x0f,
} as const;
export type DfuStatusName = keyof typeof DfuStatus;

const STATE_NAMES = new Map<number, DfuStateName>(Object.entries(DfuState).map(([k, v]) => [v, k as DfuStateName]));
const STATUS_NAMES = new Map<number, DfuStatusName>(Object.entries(DfuStatus).map(([k, v]) => [v, k as DfuStatusName]));

/** `dfuDNLOAD_IDLE`, or `state(0x42)` for a value the spec does not define. */
export function dfuStateName(v: number): string {
  return STATE_NAMES.get(v) ?? `state(0x${v.toString(16)})`;
}

/** `errTARGET`, or `status(0x42)` for a value the spec does not define. */
export function dfuStatusName(v: number): string {
  return STATUS_NAMES.get(v) ?? `status(0x${v.toString(16)})`;
}

/** Interface class/subclass of DFU; protocol 1 = run-time, 2 = DFU mode (DFU 1.1 §4.2.1, §4.2.3). */
export const DFU_INTERFACE_CLASS = 0xfe;
export const DFU_INTERFACE_SUBCLASS = 0x01;
export const DFU_PROTOCOL_RUNTIME = 0x01;
export const DFU_PROTOCOL_DFU_MODE = 0x02;
/** DFU functional descriptor type and length (DFU 1.1 §4.1.3, table 4.2). */
export const DFU_FUNCTIONAL_DESCRIPTOR_TYPE = 0x21;
export const DFU_FUNCTIONAL_DESCRIPTOR_LENGTH = 9;
/** bcdDFUVersion: 0x0110 = DFU 1.1, 0x011A = ST DfuSe (reference §3.2). */
export const BCD_DFU_1_1 = 0x0110;
export const BCD_DFUSE = 0x011a;

/** DfuSe command bytes, sent as DNLOAD with wValue 0 (reference §3.2, dfu-util `src/dfuse.c`). */
export const DfuseCommand = {
  GET_COMMANDS: 0x00,
  SET_ADDRESS: 0x21,
  ERASE: 0x41,
  READ_UNPROTECT: 0x92,
} as const;
/** DfuSe data blocks use wValue >= 2: address = pointer + (wValue - 2) * wTransferSize (reference §3.2). */
export const DFUSE_DATA_BLOCK_BASE = 2;

/** bmRequestType of DFU class requests to an interface (USB 2.0 §9.3.1). */
export const REQUEST_TYPE_CLASS_INTERFACE_OUT = 0x21;
export const REQUEST_TYPE_CLASS_INTERFACE_IN = 0xa1;
/** Length of the GETSTATUS answer (DFU 1.1 §6.1.2). */
export const GETSTATUS_LENGTH = 6;
