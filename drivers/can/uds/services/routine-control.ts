import { udsError } from '../errors.js';
import { concat, readUint, requireLength, writeUint, type UdsService } from './service.js';

/**
 * RoutineControl 0x31 (ISO 14229-1 §13.2): `31 <01 start|02 stop|03 results> <RID hi lo> [option record]`
 * → `71 <sub> <RID> [routineInfo, status record]`.
 */
export const RoutineControl = {
  sid: 0x31,
  name: 'RoutineControl',
  hasSubFunction: true,
  echoLength: 3,
  allowedNrcs: [0x12, 0x13, 0x22, 0x24, 0x31, 0x33, 0x72],
} as const satisfies UdsService;

export const RoutineControlType = { start: 0x01, stop: 0x02, requestResults: 0x03 } as const;

/** Standard routine ids (ISO 14229-1 Annex F; udsoncan `Routine.py`); memory-check ids are OEM-specific. */
export const RoutineId = {
  eraseMemory: 0xff00,
  checkProgrammingDependencies: 0xff01,
} as const;

export function encodeRoutineControl(
  type: number,
  routineId: number,
  optionRecord: Uint8Array = new Uint8Array(0),
): Uint8Array {
  return concat([RoutineControl.sid, type & 0x7f], writeUint(routineId, 2, 'routineId'), optionRecord);
}

/** Returns the status record (bytes after the RID). */
export function decodeRoutineControl(resp: Uint8Array, type: number, routineId: number): Uint8Array {
  requireLength(RoutineControl, resp, 4);
  const rid = readUint(resp.subarray(2, 4));
  if ((resp[1]! & 0x7f) !== type || rid !== routineId) {
    throw udsError(
      'UDS_UNEXPECTED_RESPONSE',
      `RoutineControl echoed 0x${resp[1]!.toString(16)}/0x${rid.toString(16)}, asked 0x${type.toString(16)}/0x${routineId.toString(16)}`,
      {
        service: 'RoutineControl',
        routineId,
      },
    );
  }
  return resp.slice(4);
}
