import { udsError } from '../errors.js';
import { readUint, requireLength, type UdsService } from './service.js';

/**
 * DiagnosticSessionControl 0x10 (ISO 14229-1 §9.2): `10 <session>` → `50 <session> P2hi P2lo P2*hi P2*lo`.
 * P2server_max is in 1 ms units, P2*server_max in 10 ms units (2013 edition; udsoncan decodes the same).
 */
export const DiagnosticSessionControl = {
  sid: 0x10,
  name: 'DiagnosticSessionControl',
  hasSubFunction: true,
  echoLength: 1,
  allowedNrcs: [0x12, 0x13, 0x22],
} as const satisfies UdsService;

export const Session = { default: 0x01, programming: 0x02, extended: 0x03, safetySystem: 0x04 } as const;

export interface SessionTiming {
  session: number;
  /** P2server_max in ms, when the response carries it. */
  p2ServerMs: number | undefined;
  /** P2*server_max in ms, when the response carries it. */
  p2StarServerMs: number | undefined;
}

export function encodeDiagnosticSessionControl(session: number): Uint8Array {
  return Uint8Array.of(DiagnosticSessionControl.sid, session & 0x7f);
}

export function decodeDiagnosticSessionControl(resp: Uint8Array, session: number): SessionTiming {
  requireLength(DiagnosticSessionControl, resp, 2);
  if ((resp[1]! & 0x7f) !== (session & 0x7f)) {
    throw udsError(
      'UDS_UNEXPECTED_RESPONSE',
      `DiagnosticSessionControl echoed session 0x${resp[1]!.toString(16)}, asked 0x${session.toString(16)}`,
      { service: 'DiagnosticSessionControl' },
    );
  }
  if (resp.length < 6) return { session, p2ServerMs: undefined, p2StarServerMs: undefined };
  return { session, p2ServerMs: readUint(resp.subarray(2, 4)), p2StarServerMs: readUint(resp.subarray(4, 6)) * 10 };
}
