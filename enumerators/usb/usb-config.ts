import { USB_BACKENDS, type UsbBackendName } from '../../drivers/usb/open-backend.js';
import { SensorProxyError } from '../../src/model/errors.js';

/**
 * Gateway-config entry of the USB enumerator (`type: "usb"`):
 *
 * ```json
 * { "type": "usb",
 *   "backend": "usb",                 // optional: "usb" (npm usb, default) | "auto" (usbfs where our addon loads, else npm usb) | "usbfs" | "memory" (in-process bus)
 *   "memoryBus": "default",           // optional, backend "memory" only
 *   "probeTimeoutMs": 2000,           // optional: control-transfer timeout when reading a device's DFU interfaces
 *   "rules": [
 *     { "match": { "vid": "1209", "pid": "0001", "dfuPid": "df11", "serialPattern": "^SN-" },
 *       "component": { "group": "dfu-sensors", "name": "left", "manufacturer": "contoso", "model": "m1" },
 *       "optional": false } ] }           // optional, default false: no device matching = an `absent` sensor
 * ```
 *
 * `vid` is required (4 hex digits, optional `0x`); `pid` is the run-time product ID and `dfuPid`
 * the product ID the device shows in DFU mode (both optional: omitted means any); `serialPattern`
 * is a regular expression on the USB serial number. A device becomes a component through the first
 * rule it matches; only matching devices are ever opened (to read their DFU interfaces). A device
 * seen in run-time mode and again in DFU mode is one component, keyed by its serial number (else
 * its port path). `component.name` defaults to the serial number, `manufacturer`/`model` to the
 * descriptor strings. A rule no attached device matches is listed as one component with status
 * `absent` (a deployment for its group then fails naming it), unless it is `optional`.
 */
export interface UsbRule {
  match: { vid: number; pid?: number; dfuPid?: number; serialPattern?: RegExp };
  component: { group: string; name?: string; manufacturer?: string; model?: string };
  /** False (default): no device matching means the declared sensor is `absent`. True: none is fine. */
  optional: boolean;
}

export interface UsbEnumeratorConfig {
  backend: UsbBackendName;
  memoryBus: string;
  probeTimeoutMs: number;
  rules: UsbRule[];
}

function invalid(field: string, message: string): SensorProxyError {
  return new SensorProxyError('CONFIG_INVALID', `enumerator "usb": ${field} ${message}`, { details: { field } });
}

function hex4(v: unknown, field: string): number {
  if (typeof v !== 'string' || !/^(0x)?[0-9a-fA-F]{4}$/.test(v))
    throw invalid(field, 'must be 4 hex digits, e.g. "1209"');
  return parseInt(v.replace(/^0x/, ''), 16);
}

function optString(v: unknown, field: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw invalid(field, 'must be a non-empty string');
  return v;
}

function parseRule(raw: unknown, i: number): UsbRule {
  const at = `rules[${i}]`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(at, 'must be an object');
  const r = raw as Record<string, unknown>;
  if (typeof r.match !== 'object' || r.match === null || Array.isArray(r.match))
    throw invalid(`${at}.match`, 'must be an object with vid and optionally pid, dfuPid, serialPattern');
  const m = r.match as Record<string, unknown>;
  if (m.vid === undefined)
    throw invalid(
      `${at}.match.vid`,
      'is required (shared VIDs are never trusted alone: add pid or serialPattern too where you can)',
    );
  const match: UsbRule['match'] = { vid: hex4(m.vid, `${at}.match.vid`) };
  if (m.pid !== undefined) match.pid = hex4(m.pid, `${at}.match.pid`);
  if (m.dfuPid !== undefined) match.dfuPid = hex4(m.dfuPid, `${at}.match.dfuPid`);
  if (m.serialPattern !== undefined) {
    const p = optString(m.serialPattern, `${at}.match.serialPattern`)!;
    try {
      match.serialPattern = new RegExp(p);
    } catch (e) {
      throw invalid(`${at}.match.serialPattern`, `is not a valid regular expression: ${(e as Error).message}`);
    }
  }
  for (const k of Object.keys(m))
    if (!['vid', 'pid', 'dfuPid', 'serialPattern'].includes(k))
      throw invalid(`${at}.match.${k}`, 'is not a known match key (vid, pid, dfuPid, serialPattern)');
  const c = r.component;
  if (typeof c !== 'object' || c === null || Array.isArray(c))
    throw invalid(`${at}.component`, 'must be an object with at least "group"');
  const co = c as Record<string, unknown>;
  const group = optString(co.group, `${at}.component.group`);
  if (group === undefined) throw invalid(`${at}.component.group`, 'is required');
  const component: UsbRule['component'] = { group };
  for (const k of ['name', 'manufacturer', 'model'] as const) {
    const v = optString(co[k], `${at}.component.${k}`);
    if (v !== undefined) component[k] = v;
  }
  const optional = r.optional ?? false;
  if (typeof optional !== 'boolean') throw invalid(`${at}.optional`, 'must be true or false');
  return { match, component, optional };
}

/**
 * Validates a `{ "type": "usb", ... }` entry.
 * @throws SensorProxyError CONFIG_INVALID naming the field (`rules[0].match.vid`, ...).
 */
export function resolveUsbEnumeratorConfig(settings: Record<string, unknown>): UsbEnumeratorConfig {
  const backend = settings.backend ?? 'usb';
  if (typeof backend !== 'string' || !(USB_BACKENDS as readonly string[]).includes(backend))
    throw invalid('backend', `must be one of ${USB_BACKENDS.join(', ')}`);
  const memoryBus = optString(settings.memoryBus, 'memoryBus') ?? 'default';
  const t = settings.probeTimeoutMs ?? 2000;
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 1)
    throw invalid('probeTimeoutMs', 'must be a positive integer (ms)');
  if (!Array.isArray(settings.rules)) throw invalid('rules', 'must be an array of rules (may be empty)');
  return { backend: backend as UsbBackendName, memoryBus, probeTimeoutMs: t, rules: settings.rules.map(parseRule) };
}
