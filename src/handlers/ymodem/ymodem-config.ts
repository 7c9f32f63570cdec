import type { LineAction } from '../../../drivers/serial/ymodem/line-action.js';
import {
  DEFAULT_VERSION_QUERY,
  versionQueryFromJson,
  type VersionQuery,
} from '../../../drivers/serial/ymodem/version-query.js';
import { isBusError } from '../../../drivers/shared/errors.js';
import type { Component } from '../../model/component.js';
import { SensorProxyError } from '../../model/errors.js';
import type { StepSettings } from '../bus-flash-handler.js';

/**
 * Settings of `sensor-proxy/ymodem:1`. Three layers, later wins: the defaults below, the gateway
 * config section `handlers["sensor-proxy/ymodem:1"]` (same keys), then per step the component
 * (`properties.port`, `properties.baudRate`, `properties.assertControlLines`,
 * `properties.versionQuery`, as the serial enumerator writes them) and the step's `handlerProperties`.
 *
 * | key                   | type                                   | default                                   |
 * |-----------------------|----------------------------------------|-------------------------------------------|
 * | `port`                | string (device path; step/component only) | required                               |
 * | `baudRate`            | integer, baud                           | 115200                                   |
 * | `assertControlLines`  | boolean: raise DTR/RTS on open          | false                                    |
 * | `bootloaderEntry`     | `{type:"bytes",hex}` \| `{type:"dtr-pulse",ms,line?}` \| `{type:"none"}` | `{type:"none"}` |
 * | `resetAfter`          | same shapes, done after the transfer    | `{type:"none"}` (bootloader boots itself) |
 * | `versionQuery`        | `{request,responsePattern,timeoutMs}` (partial merges) \| null | `{"request":"VERSION?\r","responsePattern":"v(\\d+\\.\\d+\\.\\d+)","timeoutMs":2000}` |
 * | `startTimeoutMs`      | ms to the bootloader's first 'C'        | 15000                                    |
 * | `ackTimeoutMs`        | ms per block answer (line time + flash) | 10000 (ymodem.txt §7.3.3)                 |
 * | `endOfBatchTimeoutMs` | ms for the end-of-batch handshake       | 3000                                     |
 * | `maxRetries`          | resends per block                       | 10 (ymodem.txt §7.3.1)                    |
 * | `blockSize`           | 128 \| 1024                             | 1024                                     |
 * | `bootTimeoutMs`       | ms for the new firmware to answer the version query | 10000                       |
 * | `pollIntervalMs`      | ms between version queries while it boots | 250                                    |
 *
 * Numbers may be decimal strings and booleans "true"/"false" (manifests often carry strings).
 * `installedCriteria` (handlerProperties) is the version the device must report.
 */
export interface YmodemSettings {
  baudRate: number;
  assertControlLines: boolean;
  bootloaderEntry: LineAction;
  resetAfter: LineAction;
  versionQuery: VersionQuery | null;
  startTimeoutMs: number;
  ackTimeoutMs: number;
  endOfBatchTimeoutMs: number;
  maxRetries: number;
  blockSize: 128 | 1024;
  bootTimeoutMs: number;
  pollIntervalMs: number;
}

export interface YmodemStepSettings extends YmodemSettings {
  port: string;
}

export const DEFAULT_YMODEM_SETTINGS: Readonly<YmodemSettings> = Object.freeze<YmodemSettings>({
  baudRate: 115200,
  assertControlLines: false,
  bootloaderEntry: { type: 'none' },
  resetAfter: { type: 'none' },
  versionQuery: versionQueryFromJson(DEFAULT_VERSION_QUERY),
  // A bootloader sends its first 'C' within a second or two of the entry; the spec's 60 s is for a human starting the receiver.
  startTimeoutMs: 15_000,
  ackTimeoutMs: 10_000,
  endOfBatchTimeoutMs: 3_000,
  maxRetries: 10,
  blockSize: 1024,
  bootTimeoutMs: 10_000,
  pollIntervalMs: 250,
});

/** A setting that failed validation; `field` is its key (dotted inside objects). */
export class InvalidSetting extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field} ${message}`);
  }
}

const num = (v: unknown) => (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v);
const bool = (v: unknown) => (v === 'true' ? true : v === 'false' ? false : v);

function int(v: unknown, field: string, min: number, unit: string): number {
  const n = num(v);
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min)
    throw new InvalidSetting(field, `must be an integer >= ${min} (${unit})`);
  return n;
}

/** Parses `{type:"bytes",hex}` | `{type:"dtr-pulse",ms,line?}` | `{type:"none"}`. */
export function parseLineAction(v: unknown, field: string): LineAction {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new InvalidSetting(field, 'must be an object with "type": "bytes" | "dtr-pulse" | "none"');
  const o = v as Record<string, unknown>;
  if (o.type === 'none') return { type: 'none' };
  if (o.type === 'bytes') {
    if (typeof o.hex !== 'string' || !/^([0-9a-fA-F]{2})+$/.test(o.hex.replace(/\s+/g, '')))
      throw new InvalidSetting(`${field}.hex`, 'must be a non-empty even-length hex string');
    return { type: 'bytes', bytes: Uint8Array.from(Buffer.from(o.hex.replace(/\s+/g, ''), 'hex')) };
  }
  if (o.type === 'dtr-pulse') {
    const line = o.line ?? 'dtr';
    if (line !== 'dtr' && line !== 'rts') throw new InvalidSetting(`${field}.line`, 'must be "dtr" or "rts"');
    return { type: 'dtr-pulse', ms: int(o.ms ?? 100, `${field}.ms`, 1, 'ms'), line };
  }
  throw new InvalidSetting(`${field}.type`, 'must be "bytes", "dtr-pulse" or "none"');
}

/** Parses a version query (JSON form); null disables it; missing keys come from the defaults. */
export function parseVersionQuery(v: unknown, field: string): VersionQuery | null {
  if (v === null) return null;
  try {
    return versionQueryFromJson(v);
  } catch (e) {
    if (!isBusError(e, 'YMODEM_INVALID_OPTIONS')) throw e;
    const sub = typeof e.details.field === 'string' ? e.details.field : '';
    throw new InvalidSetting(sub ? `${field}.${sub}` : field, e.message);
  }
}

/** Applies the keys of `src` present (not undefined) over `base`; `prefix` names fields in errors. */
function overlay(base: YmodemSettings, src: Record<string, unknown>, prefix: string): YmodemSettings {
  const out = { ...base };
  const f = (k: string) => `${prefix}${k}`;
  if (src.baudRate !== undefined) out.baudRate = int(src.baudRate, f('baudRate'), 1, 'baud');
  if (src.assertControlLines !== undefined) {
    const b = bool(src.assertControlLines);
    if (typeof b !== 'boolean') throw new InvalidSetting(f('assertControlLines'), 'must be true or false');
    out.assertControlLines = b;
  }
  if (src.bootloaderEntry !== undefined)
    out.bootloaderEntry = parseLineAction(src.bootloaderEntry, f('bootloaderEntry'));
  if (src.resetAfter !== undefined) out.resetAfter = parseLineAction(src.resetAfter, f('resetAfter'));
  if (src.versionQuery !== undefined) out.versionQuery = parseVersionQuery(src.versionQuery, f('versionQuery'));
  for (const k of [
    'startTimeoutMs',
    'ackTimeoutMs',
    'endOfBatchTimeoutMs',
    'bootTimeoutMs',
    'pollIntervalMs',
  ] as const) {
    if (src[k] !== undefined) out[k] = int(src[k], f(k), 1, 'ms');
  }
  if (src.maxRetries !== undefined) out.maxRetries = int(src.maxRetries, f('maxRetries'), 0, 'resends');
  if (src.blockSize !== undefined) {
    const b = num(src.blockSize);
    if (b !== 128 && b !== 1024) throw new InvalidSetting(f('blockSize'), 'must be 128 or 1024');
    out.blockSize = b;
  }
  return out;
}

/**
 * Merges the gateway config section over the defaults.
 * @throws SensorProxyError CONFIG_INVALID naming the field (`handlers["sensor-proxy/ymodem:1"].<key>`).
 */
export function resolveYmodemHandlerConfig(raw: Record<string, unknown>): YmodemSettings {
  try {
    return overlay({ ...DEFAULT_YMODEM_SETTINGS }, raw, '');
  } catch (e) {
    if (!(e instanceof InvalidSetting)) throw e;
    throw new SensorProxyError('CONFIG_INVALID', `handlers["sensor-proxy/ymodem:1"].${e.message}`, {
      details: { field: e.field },
    });
  }
}

/** `no-device`: no serial port named; `invalid`: a value out of type or range. */
export type StepSettingsResult = StepSettings<YmodemStepSettings>;

/** Step settings: config, then the component's properties, then `handlerProperties`. */
export function resolveYmodemStepSettings(
  cfg: YmodemSettings,
  component: Component | undefined,
  hp: Record<string, unknown>,
): StepSettingsResult {
  const props = component?.properties ?? {};
  const port = hp.port ?? props.port;
  if (port === undefined || port === '')
    return {
      ok: false,
      kind: 'no-device',
      details: 'no serial port: set component.properties.port (enumerator) or handlerProperties.port',
    };
  if (typeof port !== 'string')
    return { ok: false, kind: 'invalid', details: 'handlerProperties.port must be a device path string' };
  const fromComponent: Record<string, unknown> = {
    baudRate: props.baudRate,
    assertControlLines: props.assertControlLines,
    versionQuery: props.versionQuery,
  };
  try {
    const merged = overlay(overlay(cfg, fromComponent, 'component.properties.'), hp, 'handlerProperties.');
    return { ok: true, value: { ...merged, port } };
  } catch (e) {
    if (!(e instanceof InvalidSetting)) throw e;
    return { ok: false, kind: 'invalid', details: e.message };
  }
}
