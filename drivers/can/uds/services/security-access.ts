import { udsError } from '../errors.js';
import { requireLength, type UdsService } from './service.js';

/**
 * SecurityAccess 0x27 (ISO 14229-1 §9.4): `27 <odd level>` → `67 <level> <seed…>`;
 * `27 <level+1> <key…>` → `67 <level+1>`. Levels 0x01..0x7E (udsoncan `normalize_level`).
 * An all-zero seed means the level is already unlocked (common convention, reference §1.3).
 */
export const SecurityAccess = {
  sid: 0x27,
  name: 'SecurityAccess',
  hasSubFunction: true,
  echoLength: 1,
  allowedNrcs: [0x12, 0x13, 0x22, 0x24, 0x31, 0x35, 0x36, 0x37],
} as const satisfies UdsService;

/** Computes the key for a seed; vendor-specific, plugged in by the caller (may be async: HSM, service). */
export type SecurityKeyFunction = (seed: Uint8Array, level: number) => Uint8Array | Promise<Uint8Array>;

export function checkLevel(level: number): void {
  if (!Number.isInteger(level) || level < 1 || level > 0x7d || level % 2 === 0) {
    throw udsError(
      'UDS_INVALID_REQUEST',
      `security level ${level} must be odd, 0x01..0x7D (the requestSeed sub-function)`,
      { field: 'securityLevel', level },
    );
  }
}

export function encodeRequestSeed(level: number): Uint8Array {
  checkLevel(level);
  return Uint8Array.of(SecurityAccess.sid, level);
}

export function decodeRequestSeed(resp: Uint8Array, level: number): Uint8Array {
  requireLength(SecurityAccess, resp, 2);
  if (resp[1] !== level)
    throw udsError(
      'UDS_UNEXPECTED_RESPONSE',
      `SecurityAccess echoed 0x${resp[1]!.toString(16)}, asked seed 0x${level.toString(16)}`,
      { service: 'SecurityAccess' },
    );
  return resp.slice(2);
}

export function encodeSendKey(level: number, key: Uint8Array): Uint8Array {
  checkLevel(level);
  const out = new Uint8Array(2 + key.length);
  out[0] = SecurityAccess.sid;
  out[1] = level + 1;
  out.set(key, 2);
  return out;
}

export function decodeSendKey(resp: Uint8Array, level: number): void {
  requireLength(SecurityAccess, resp, 2);
  if (resp[1] !== level + 1)
    throw udsError(
      'UDS_UNEXPECTED_RESPONSE',
      `SecurityAccess echoed 0x${resp[1]!.toString(16)}, sent key 0x${(level + 1).toString(16)}`,
      { service: 'SecurityAccess' },
    );
}
