import type { Component } from '../../model/component.js';
import { SensorProxyError } from '../../model/errors.js';
import type { StepSettings } from '../bus-flash-handler.js';

/**
 * Configuration of `sensor-proxy/smp:1`: handler-wide settings from the gateway config section
 * `handlers["sensor-proxy/smp:1"]`, and per-step settings from the component and the step's
 * `handlerProperties` (handlerProperties win).
 */
export interface SmpHandlerConfig {
  /** Line rate when neither the component nor the step gives one, baud. Default 115200. */
  baudRate: number;
  /**
   * The devices' SMP buffer size, bytes, 68-65535 (what `mcumgr params` reports as `buf_size`):
   * requests are at most `mtu` − 4 bytes (the serial packet's length and CRC share the buffer,
   * reference/bus-protocols.md §7). Also a cap on what the device reports. Default undefined:
   * ask the device; one that does not answer gets 256 and smaller requests after timeouts.
   */
  mtu: number | undefined;
  /** Wait for one SMP response, ms, > 0. Default 2500. */
  responseTimeoutMs: number;
  /** Sends of one request before giving up, >= 1. Default 3. */
  requestAttempts: number;
  /** Upload runs (each resuming at the device's offset) before the install fails, >= 1. Default 3. */
  uploadAttempts: number;
  /**
   * Most upload requests in flight, 1-4. The handler keeps `min(this, floor(buf_count / 2))` in
   * flight for a device that reported its buffers (`mcumgr params`), 1 for one that did not
   * (`requestsInFlightForBuffers`); 1 turns pipelining off. Default 4.
   */
  maxRequestsInFlight: number;
  /** How long a reset device may take to answer again, s, > 0. Default 30. */
  resetTimeoutSeconds: number;
  /** Pause between reopen / echo attempts while waiting for the device, ms, > 0. Default 250. */
  pollIntervalMs: number;
}

export const DEFAULT_SMP_HANDLER_CONFIG: Readonly<SmpHandlerConfig> = Object.freeze({
  baudRate: 115200,
  mtu: undefined,
  responseTimeoutMs: 2500,
  requestAttempts: 3,
  uploadAttempts: 3,
  maxRequestsInFlight: 4,
  // MCUboot swapping a 256 KiB slot pair on an nRF52 takes ~10-20 s; 30 s leaves room.
  resetTimeoutSeconds: 30,
  pollIntervalMs: 250,
});

/** What one step needs to reach and flash its device. */
export interface SmpStepSettings {
  port: string;
  baudRate: number;
  /** The device's SMP buffer size (see {@link SmpHandlerConfig.mtu}); undefined: ask the device. */
  mtu: number | undefined;
  /** MCUmgr image number; undefined = not sent (device assumes 0). */
  image: number | undefined;
  resetTimeoutSeconds: number;
  /** Confirm the new image once it runs. Default true. */
  confirm: boolean;
  /** Raise DTR/RTS on open (resets many boards). Default false. */
  assertControlLines: boolean;
}

type Check = (v: unknown) => boolean;
const positive: Check = (v) => typeof v === 'number' && Number.isFinite(v) && v > 0;
const integerAtLeast =
  (min: number, max = Number.MAX_SAFE_INTEGER): Check =>
  (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const RULES: Readonly<Record<keyof SmpHandlerConfig, [Check, string]>> = {
  baudRate: [integerAtLeast(1), 'must be a positive integer (baud)'],
  mtu: [integerAtLeast(68, 0xffff), "must be an integer in [68, 65535] (bytes: the device's SMP buffer size)"],
  responseTimeoutMs: [positive, 'must be a positive number of milliseconds'],
  requestAttempts: [integerAtLeast(1), 'must be an integer >= 1'],
  uploadAttempts: [integerAtLeast(1), 'must be an integer >= 1'],
  maxRequestsInFlight: [integerAtLeast(1, 4), 'must be an integer in [1, 4] (1: one upload request at a time)'],
  resetTimeoutSeconds: [positive, 'must be a positive number of seconds'],
  pollIntervalMs: [positive, 'must be a positive number of milliseconds'],
};

/**
 * Merges the config section over the defaults and validates it.
 * @throws SensorProxyError CONFIG_INVALID naming the field.
 */
export function resolveSmpHandlerConfig(raw: Record<string, unknown>): SmpHandlerConfig {
  const cfg: SmpHandlerConfig = { ...DEFAULT_SMP_HANDLER_CONFIG };
  for (const key of Object.keys(RULES) as (keyof SmpHandlerConfig)[]) {
    if (raw[key] === undefined) continue;
    const [ok, msg] = RULES[key];
    if (!ok(raw[key]))
      throw new SensorProxyError('CONFIG_INVALID', `handlers["sensor-proxy/smp:1"].${key} ${msg}`, {
        details: { field: key },
      });
    cfg[key] = raw[key] as number;
  }
  return cfg;
}

/** `no-device`: no serial port named; `invalid`: a value out of type or range. */
export type StepSettingsResult = StepSettings<SmpStepSettings>;

/**
 * Step settings from `component.properties` (`port`, `baudRate`) and `handlerProperties`
 * (`port`, `baudRate`, `mtu`, `image`, `resetTimeoutSeconds`, `confirm`, `assertControlLines`).
 * Numbers may be given as decimal strings (manifests often carry strings).
 */
export function resolveStepSettings(
  cfg: SmpHandlerConfig,
  component: Component | undefined,
  hp: Record<string, unknown>,
): StepSettingsResult {
  const props = component?.properties ?? {};
  const bad = (field: string, msg: string): StepSettingsResult => ({
    ok: false,
    kind: 'invalid',
    details: `handlerProperties.${field} ${msg}`,
  });
  const num = (v: unknown) => (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v);
  const bool = (v: unknown) => (v === 'true' ? true : v === 'false' ? false : v);

  const port = hp.port ?? props.port;
  if (port === undefined || port === '')
    return {
      ok: false,
      kind: 'no-device',
      details: 'no serial port: set component.properties.port (enumerator) or handlerProperties.port',
    };
  if (typeof port !== 'string') return bad('port', 'must be a device path string');
  const out: SmpStepSettings = {
    port,
    baudRate: cfg.baudRate,
    mtu: cfg.mtu,
    image: undefined,
    resetTimeoutSeconds: cfg.resetTimeoutSeconds,
    confirm: true,
    assertControlLines: false,
  };
  const baud = num(hp.baudRate ?? props.baudRate);
  if (baud !== undefined) {
    if (!RULES.baudRate[0](baud)) return bad('baudRate', RULES.baudRate[1]);
    out.baudRate = baud as number;
  }
  const mtu = num(hp.mtu);
  if (mtu !== undefined) {
    if (!RULES.mtu[0](mtu)) return bad('mtu', RULES.mtu[1]);
    out.mtu = mtu as number;
  }
  const image = num(hp.image);
  if (image !== undefined) {
    if (!integerAtLeast(0, 255)(image)) return bad('image', 'must be an integer in [0, 255]');
    out.image = image as number;
  }
  const rts = num(hp.resetTimeoutSeconds);
  if (rts !== undefined) {
    if (!positive(rts)) return bad('resetTimeoutSeconds', RULES.resetTimeoutSeconds[1]);
    out.resetTimeoutSeconds = rts as number;
  }
  for (const key of ['confirm', 'assertControlLines'] as const) {
    const v = bool(hp[key]);
    if (v === undefined) continue;
    if (typeof v !== 'boolean') return bad(key, 'must be true or false');
    out[key] = v;
  }
  return { ok: true, value: out };
}
