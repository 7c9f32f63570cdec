import type { Component } from '../../model/component.js';
import { SensorProxyError } from '../../model/errors.js';
import { ISOTP_BACKEND_SETTINGS, type IsoTpBackendSetting } from '../../../drivers/can/isotp/transport.js';
import type { StepSettings } from '../bus-flash-handler.js';

/**
 * Settings of `sensor-proxy/uds:1`, merged in this order (later wins): {@link DEFAULT_UDS_SETTINGS} →
 * gateway config `handlers["sensor-proxy/uds:1"]` → the component's `properties` (from the CAN
 * enumerator: `interface`, `txId`, `rxId`, …) → the step's `handlerProperties`. Every key is valid
 * in all three places. Ids and addresses are numbers or hex strings (`"0x7E0"`).
 */
export interface UdsSettings {
  /** CAN interface: `can0`, `vcan0`, or `mem:<name>` for the in-process memory bus. Required. */
  interface: string;
  /** Physical request id (tester → ECU). Required. */
  txId: number;
  /** Physical response id (ECU → tester). Required. */
  rxId: number;
  /** Functional request id. Default 0x7DF. */
  functionalId: number;
  /** 29-bit ids. Default: any id > 0x7FF. */
  extendedIds: boolean | undefined;
  /** ISO-TP addressing: normal (default), extended, mixed; `txAddress`/`rxAddress` bytes for the latter two. */
  addressing: 'normal' | 'extended' | 'mixed';
  txAddress: number | undefined;
  rxAddress: number | undefined;
  /** ISO-TP TX_DL: 8 = classic (default), 12..64 = CAN FD. */
  txDataLength: number;
  /** ISO-TP padding byte, or false. Default 0xCC. */
  padding: number | false;
  /** BS / STmin (µs) we announce when receiving. Default 0 / 0. */
  blockSize: number;
  stMinUs: number;
  /** Odd SecurityAccess level before erase; 0 = no security access. Default 1. */
  securityLevel: number;
  /** Key algorithm: `xor` (key = seed XOR `keyMask`, repeated), `none`, or a name registered with the factory. Default `xor`. */
  keyAlgorithm: string;
  /** Hex bytes for `xor`. Default "5AA53CC3". Never logged. */
  keyMask: string;
  /** Download start address. Required for install. */
  memoryAddress: number | undefined;
  /** RequestDownload / erase record field sizes, bytes. Default 4 / 4. */
  addressLength: number;
  sizeLength: number;
  /** RequestDownload dataFormatIdentifier. Default 0. */
  dataFormat: number;
  /** Erase routine and its option record. Default 0xFF00, `alfid-address-size`. */
  eraseRoutineId: number;
  eraseOptionRecord: 'alfid-address-size' | 'none';
  /** CRC-32 check routine id; null = none. Default 0x0202. */
  checkRoutineId: number | null;
  /** Version DID read by IsInstalled and after the reset. Default 0xF189. */
  versionDid: number;
  /** ECUReset type. Default 1 (hardReset). */
  resetType: number;
  /** How long the ECU may stay silent after the reset, ms. Default 5000. */
  resetTimeoutMs: number;
  /** P2client / P2*client before the session response, and the margin added to server values, ms. Defaults 1000 / 5000 / 100. */
  p2Ms: number;
  p2StarMs: number;
  p2MarginMs: number;
  /** ISO-TP N_As / N_Bs / N_Cr, ms. Default 1000 each. */
  nAsMs: number;
  nBsMs: number;
  nCrMs: number;
  /** Sends per request on a lost response, and whole programming sequences per install. Defaults 3 / 2. */
  requestAttempts: number;
  flashAttempts: number;
  /** Cap on data bytes per TransferData (below the ECU's maxNumberOfBlockLength − 2). Default none. */
  maxBlockData: number | undefined;
  /**
   * `isotp.backend`: `auto` (default) takes the kernel's ISO-TP (CAN_ISOTP sockets, can-isotp) where it is
   * loaded or loadable and says in the log which one it took and why; `kernel` insists on it (clear error
   * naming `modprobe can-isotp` otherwise); `user` is our ISO-TP over raw frames (also `mem:` buses).
   * With `kernel`, N_Bs/N_Cr are the kernel's fixed 1000 ms.
   */
  isotp: { backend: IsoTpBackendSetting };
}

export const DEFAULT_UDS_SETTINGS: Readonly<Omit<UdsSettings, 'interface' | 'txId' | 'rxId'>> = Object.freeze({
  functionalId: 0x7df,
  extendedIds: undefined,
  addressing: 'normal',
  txAddress: undefined,
  rxAddress: undefined,
  txDataLength: 8,
  padding: 0xcc,
  blockSize: 0,
  stMinUs: 0,
  securityLevel: 1,
  keyAlgorithm: 'xor',
  keyMask: '5AA53CC3',
  memoryAddress: undefined,
  addressLength: 4,
  sizeLength: 4,
  dataFormat: 0,
  eraseRoutineId: 0xff00,
  eraseOptionRecord: 'alfid-address-size',
  checkRoutineId: 0x0202,
  versionDid: 0xf189,
  resetType: 1,
  resetTimeoutMs: 5000,
  p2Ms: 1000,
  p2StarMs: 5000,
  p2MarginMs: 100,
  nAsMs: 1000,
  nBsMs: 1000,
  nCrMs: 1000,
  requestAttempts: 3,
  flashAttempts: 2,
  maxBlockData: undefined,
  isotp: Object.freeze({ backend: 'auto' as IsoTpBackendSetting }),
});

type Kind =
  | 'id'
  | 'int'
  | 'posint'
  | 'string'
  | 'bool'
  | 'padding'
  | 'addressing'
  | 'eraseRecord'
  | 'nullableId'
  | 'optionalInt'
  | 'isotp';
const KINDS: Record<keyof UdsSettings, Kind> = {
  interface: 'string',
  txId: 'id',
  rxId: 'id',
  functionalId: 'id',
  extendedIds: 'bool',
  addressing: 'addressing',
  txAddress: 'optionalInt',
  rxAddress: 'optionalInt',
  txDataLength: 'posint',
  padding: 'padding',
  blockSize: 'int',
  stMinUs: 'int',
  securityLevel: 'int',
  keyAlgorithm: 'string',
  keyMask: 'string',
  memoryAddress: 'optionalInt',
  addressLength: 'posint',
  sizeLength: 'posint',
  dataFormat: 'int',
  eraseRoutineId: 'id',
  eraseOptionRecord: 'eraseRecord',
  checkRoutineId: 'nullableId',
  versionDid: 'id',
  resetType: 'posint',
  resetTimeoutMs: 'posint',
  p2Ms: 'posint',
  p2StarMs: 'posint',
  p2MarginMs: 'int',
  nAsMs: 'posint',
  nBsMs: 'posint',
  nCrMs: 'posint',
  requestAttempts: 'posint',
  flashAttempts: 'posint',
  maxBlockData: 'optionalInt',
  isotp: 'isotp',
};

/** A number, or a string in hex (`0x7E0`, `7E0h` not accepted) or decimal. */
function toInt(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(v.trim())) return Number(v.trim());
  return undefined;
}

function convert(kind: Kind, v: unknown): { ok: true; value: unknown } | { ok: false; expected: string } {
  switch (kind) {
    case 'id':
    case 'int':
    case 'optionalInt': {
      const n = toInt(v);
      return n === undefined ? { ok: false, expected: 'a non-negative integer or hex string' } : { ok: true, value: n };
    }
    case 'nullableId': {
      if (v === null) return { ok: true, value: null };
      const n = toInt(v);
      return n === undefined ? { ok: false, expected: 'an integer, hex string or null' } : { ok: true, value: n };
    }
    case 'posint': {
      const n = toInt(v);
      return n === undefined || n === 0 ? { ok: false, expected: 'a positive integer' } : { ok: true, value: n };
    }
    case 'string':
      return typeof v === 'string' && v.length > 0
        ? { ok: true, value: v }
        : { ok: false, expected: 'a non-empty string' };
    case 'bool':
      return typeof v === 'boolean' ? { ok: true, value: v } : { ok: false, expected: 'true or false' };
    case 'padding': {
      if (v === false) return { ok: true, value: false };
      const n = toInt(v);
      return n === undefined || n > 0xff ? { ok: false, expected: 'a byte or false' } : { ok: true, value: n };
    }
    case 'addressing':
      return v === 'normal' || v === 'extended' || v === 'mixed'
        ? { ok: true, value: v }
        : { ok: false, expected: 'normal, extended or mixed' };
    case 'isotp': {
      const o = v as Record<string, unknown>;
      const ok =
        typeof v === 'object' &&
        v !== null &&
        !Array.isArray(v) &&
        Object.keys(o).every((k) => k === 'backend') &&
        (o['backend'] === undefined || ISOTP_BACKEND_SETTINGS.includes(o['backend'] as IsoTpBackendSetting));
      return ok
        ? { ok: true, value: { backend: (o['backend'] as IsoTpBackendSetting | undefined) ?? 'auto' } }
        : { ok: false, expected: 'an object { "backend": "auto" | "kernel" | "user" }' };
    }
    case 'eraseRecord':
      return v === 'alfid-address-size' || v === 'none'
        ? { ok: true, value: v }
        : { ok: false, expected: '"alfid-address-size" or "none"' };
  }
}

/** Validates a handler config section (gateway config). @throws SensorProxyError CONFIG_INVALID naming the field. */
export function validateUdsHandlerConfig(raw: Record<string, unknown>): Partial<UdsSettings> {
  const r = mergeLayer({}, raw, 'handlers["sensor-proxy/uds:1"]');
  if (!r.ok) throw new SensorProxyError('CONFIG_INVALID', r.details, { details: { field: r.field } });
  return r.value;
}

function mergeLayer(
  into: Partial<UdsSettings>,
  raw: Record<string, unknown>,
  where: string,
): { ok: true; value: Partial<UdsSettings> } | { ok: false; field: string; details: string } {
  const out: Record<string, unknown> = { ...into };
  for (const key of Object.keys(KINDS) as (keyof UdsSettings)[]) {
    if (raw[key] === undefined) continue;
    const c = convert(KINDS[key], raw[key]);
    if (!c.ok) return { ok: false, field: key, details: `${where}.${key} must be ${c.expected}` };
    out[key] = c.value;
  }
  return { ok: true, value: out as Partial<UdsSettings> };
}

/** `no-device`: no CAN interface/txId/rxId named; `invalid`: a value out of type or range. */
export type UdsSettingsResult = StepSettings<UdsSettings>;

/** Merges config, component properties and handlerProperties for one step (see {@link UdsSettings}). */
export function resolveUdsSettings(
  config: Partial<UdsSettings>,
  component: Component | undefined,
  handlerProperties: Record<string, unknown>,
): UdsSettingsResult {
  let acc: Partial<UdsSettings> = { ...DEFAULT_UDS_SETTINGS, ...config };
  for (const [raw, where] of [
    [component?.properties ?? {}, 'component.properties'],
    [handlerProperties, 'handlerProperties'],
  ] as const) {
    const r = mergeLayer(acc, raw, where);
    if (!r.ok) return { ok: false, kind: 'invalid', details: r.details };
    acc = r.value;
  }
  if (acc.interface === undefined || acc.txId === undefined || acc.rxId === undefined) {
    return {
      ok: false,
      kind: 'no-device',
      details:
        'the component (properties.interface/txId/rxId from the CAN enumerator) or handlerProperties must name interface, txId and rxId',
    };
  }
  if (acc.securityLevel !== 0 && acc.securityLevel! % 2 === 0)
    return { ok: false, kind: 'invalid', details: `securityLevel ${acc.securityLevel} must be odd (or 0 for none)` };
  return { ok: true, value: acc as UdsSettings };
}
