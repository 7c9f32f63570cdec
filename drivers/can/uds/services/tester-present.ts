import { requireLength, type UdsService } from './service.js';

/**
 * TesterPresent 0x3E (ISO 14229-1 §9.6): `3E 00` → `7E 00`; `3E 80` = no response wanted. Keeps a
 * non-default session alive (S3server 5000 ms); send between requests, never during a pending one.
 */
export const TesterPresent = {
  sid: 0x3e,
  name: 'TesterPresent',
  hasSubFunction: true,
  echoLength: 1,
  allowedNrcs: [0x12, 0x13],
} as const satisfies UdsService;

export function encodeTesterPresent(suppressResponse = false): Uint8Array {
  return Uint8Array.of(TesterPresent.sid, suppressResponse ? 0x80 : 0x00);
}

export function decodeTesterPresent(resp: Uint8Array): void {
  requireLength(TesterPresent, resp, 2);
}
