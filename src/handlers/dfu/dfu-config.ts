import { USB_BACKENDS, type UsbBackendName } from '../../../drivers/usb/open-backend.js';
import type { Component } from '../../model/component.js';
import { SensorProxyError } from '../../model/errors.js';

/** Where IsInstalled and the post-install check read the firmware version from. */
export const VERSION_SOURCES = ['bcdDevice', 'manufacturer', 'product', 'serialNumber', 'interface'] as const;
export type VersionSource = (typeof VERSION_SOURCES)[number];

/**
 * Settings of `sensor-proxy/dfu:1`. Three layers, later wins: these defaults, the gateway config
 * section `handlers["sensor-proxy/dfu:1"]` (same keys), then per step the step's `handlerProperties`.
 * The device comes from the component's `properties` (as the `usb` enumerator writes them):
 * `serialNumber` (preferred), `vid`, `pid`, `portPath`.
 *
 * | key                    | type                                              | default                    |
 * |------------------------|---------------------------------------------------|----------------------------|
 * | `backend`              | `"auto"` \| `"usbfs"` \| `"usb"` \| `"memory"` (open-backend.ts) | `"usb"`           |
 * | `memoryBus`            | string: in-process bus name (backend memory)      | `"default"`                |
 * | `alt`                  | integer: DFU-mode alt setting (DfuSe: region)     | 0                          |
 * | `dfuseAddress`         | integer or `"0x…"` string: DfuSe start address    | first writable segment     |
 * | `transferSize`         | integer bytes ≤ device wTransferSize              | device's wTransferSize     |
 * | `verify`               | `"auto"` \| `"always"` \| `"never"` (UPLOAD read-back) | `"auto"` (when the device can upload and is manifestation tolerant) |
 * | `requireSuffix`        | boolean: refuse files without a `.dfu` suffix     | false                      |
 * | `versionSource`        | `"bcdDevice"` \| `"manufacturer"` \| `"product"` \| `"serialNumber"` \| `"interface"` (run-time DFU interface string) | `"bcdDevice"` |
 * | `versionPattern`       | regex string; capture group 1 is the version (string sources) | whole string   |
 * | `controlTimeoutMs`     | ms per control transfer                           | 5000 (dfu-util)            |
 * | `busyTimeoutMs`        | ms a block may stay dfuDNBUSY                     | 40000                      |
 * | `manifestTimeoutMs`    | ms for manifestation                              | 30000                      |
 * | `reenumerateTimeoutMs` | ms for the device to come back after detach/reset | 15000                      |
 * | `restarts`             | download restarts after dfuERROR / a stall        | 2                          |
 *
 * Numbers may be decimal strings, booleans "true"/"false". bcdDevice reads as `M.mm` (0x0102 →
 * "1.02"); `installedCriteria` may be written `1.02`, `1.2` or `0x0102`.
 */
export interface DfuSettings {
  backend: UsbBackendName;
  memoryBus: string;
  alt: number;
  dfuseAddress: number | undefined;
  transferSize: number | undefined;
  verify: 'auto' | 'always' | 'never';
  requireSuffix: boolean;
  versionSource: VersionSource;
  versionPattern: string | undefined;
  controlTimeoutMs: number;
  busyTimeoutMs: number;
  manifestTimeoutMs: number;
  reenumerateTimeoutMs: number;
  restarts: number;
}

export const DEFAULT_DFU_SETTINGS: Readonly<DfuSettings> = Object.freeze<DfuSettings>({
  backend: 'usb',
  memoryBus: 'default',
  alt: 0,
  dfuseAddress: undefined,
  transferSize: undefined,
  verify: 'auto',
  requireSuffix: false,
  versionSource: 'bcdDevice',
  versionPattern: undefined,
  controlTimeoutMs: 5000,
  busyTimeoutMs: 40_000,
  manifestTimeoutMs: 30_000,
  reenumerateTimeoutMs: 15_000,
  restarts: 2,
});

/** The device a step targets (component properties). */
export interface DfuTarget {
  serialNumber?: string;
  vendorId?: number;
  productId?: number;
  portPath?: string;
}

export class InvalidDfuSetting extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field} ${message}`);
  }
}

const num = (v: unknown) =>
  typeof v === 'string' && /^\s*0x[0-9a-f]+\s*$/i.test(v)
    ? parseInt(v, 16)
    : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))
      ? Number(v)
      : v;

function int(v: unknown, field: string, min: number, max: number): number {
  const n = num(v);
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max)
    throw new InvalidDfuSetting(field, `must be an integer ${min}..${max}`);
  return n;
}

function oneOf<T extends string>(v: unknown, field: string, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v))
    throw new InvalidDfuSetting(field, `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}`);
  return v as T;
}

function overlay(base: DfuSettings, src: Record<string, unknown>, prefix: string): DfuSettings {
  const o = { ...base };
  const f = (k: string) => `${prefix}${k}`;
  if (src.backend !== undefined) o.backend = oneOf(src.backend, f('backend'), USB_BACKENDS);
  if (src.memoryBus !== undefined) {
    if (typeof src.memoryBus !== 'string' || !src.memoryBus)
      throw new InvalidDfuSetting(f('memoryBus'), 'must be a non-empty string');
    o.memoryBus = src.memoryBus;
  }
  if (src.alt !== undefined) o.alt = int(src.alt, f('alt'), 0, 255);
  if (src.dfuseAddress !== undefined) o.dfuseAddress = int(src.dfuseAddress, f('dfuseAddress'), 0, 0xffffffff);
  if (src.transferSize !== undefined) o.transferSize = int(src.transferSize, f('transferSize'), 1, 0xffff);
  if (src.verify !== undefined) o.verify = oneOf(src.verify, f('verify'), ['auto', 'always', 'never'] as const);
  if (src.requireSuffix !== undefined) {
    const b = src.requireSuffix === 'true' ? true : src.requireSuffix === 'false' ? false : src.requireSuffix;
    if (typeof b !== 'boolean') throw new InvalidDfuSetting(f('requireSuffix'), 'must be true or false');
    o.requireSuffix = b;
  }
  if (src.versionSource !== undefined) o.versionSource = oneOf(src.versionSource, f('versionSource'), VERSION_SOURCES);
  if (src.versionPattern !== undefined) {
    if (typeof src.versionPattern !== 'string')
      throw new InvalidDfuSetting(f('versionPattern'), 'must be a regular expression string');
    try {
      new RegExp(src.versionPattern);
    } catch {
      throw new InvalidDfuSetting(f('versionPattern'), 'is not a valid regular expression');
    }
    o.versionPattern = src.versionPattern;
  }
  for (const k of ['controlTimeoutMs', 'busyTimeoutMs', 'manifestTimeoutMs', 'reenumerateTimeoutMs'] as const) {
    if (src[k] !== undefined) o[k] = int(src[k], f(k), 1, 3_600_000);
  }
  if (src.restarts !== undefined) o.restarts = int(src.restarts, f('restarts'), 0, 100);
  return o;
}

/**
 * Merges the gateway config section over the defaults.
 * @throws SensorProxyError CONFIG_INVALID naming the field.
 */
export function resolveDfuHandlerConfig(raw: Record<string, unknown>): DfuSettings {
  try {
    return overlay({ ...DEFAULT_DFU_SETTINGS }, raw, '');
  } catch (e) {
    if (!(e instanceof InvalidDfuSetting)) throw e;
    throw new SensorProxyError('CONFIG_INVALID', `handlers["sensor-proxy/dfu:1"].${e.message}`, {
      details: { field: e.field },
    });
  }
}

export type DfuStepSettings =
  { ok: true; value: DfuSettings; target: DfuTarget } | { ok: false; kind: 'no-device' | 'invalid'; details: string };

/** Step settings: config, then `handlerProperties`; the target from the component's properties. */
export function resolveDfuStepSettings(
  cfg: DfuSettings,
  component: Component | undefined,
  hp: Record<string, unknown>,
): DfuStepSettings {
  const p = component?.properties ?? {};
  let target: DfuTarget;
  let value: DfuSettings;
  try {
    value = overlay(cfg, hp, 'handlerProperties.');
    target = {
      serialNumber: typeof p.serialNumber === 'string' && p.serialNumber ? p.serialNumber : undefined,
      vendorId: p.vid === undefined ? undefined : int(p.vid, 'component.properties.vid', 0, 0xffff),
      productId: p.pid === undefined ? undefined : int(p.pid, 'component.properties.pid', 0, 0xffff),
      portPath: typeof p.portPath === 'string' && p.portPath ? p.portPath : undefined,
    };
  } catch (e) {
    if (!(e instanceof InvalidDfuSetting)) throw e;
    return { ok: false, kind: 'invalid', details: e.message };
  }
  if (!target.serialNumber && !target.portPath && target.vendorId === undefined) {
    return {
      ok: false,
      kind: 'no-device',
      details:
        'no USB device: the component needs properties.serialNumber, portPath or vid/pid (the usb enumerator writes them)',
    };
  }
  return { ok: true, value, target };
}
