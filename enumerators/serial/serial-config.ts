import { isAbsolute, resolve } from 'node:path';
import {
  versionQueryFromJson,
  type VersionQuery,
  type VersionQueryJson,
} from '../../drivers/serial/ymodem/version-query.js';
import { isBusError } from '../../drivers/shared/errors.js';
import { SensorProxyError } from '../../src/model/errors.js';

/**
 * Gateway-config entry of the serial enumerator:
 *
 * ```json
 * { "type": "serial",
 *   "sysfsRoot": "/sys", "devRoot": "/dev", "procRoot": "/proc",   // optional; relative = from the config file
 *   "identifyTimeoutMs": 3000,                                      // optional
 *   "rules": [
 *     { "match": { "vid": "2fe3", "pid": "0100", "serialPattern": "^SN-" },   // or { "path": "/dev/ttyAMA0" }
 *       "protocol": "smp",                       // "smp" | "ymodem" | "none"
 *       "baudRate": 115200,                      // optional, default 115200
 *       "assertControlLines": false,             // optional, default false: open without raising DTR/RTS
 *       "optional": false,                       // optional, default false: nothing matching = an `absent` sensor
 *       "component": { "group": "sensors", "name": "left", "manufacturer": "contoso", "model": "m1" },
 *       "versionQuery": { "request": "VERSION?\r", "responsePattern": "v(\\d+\\.\\d+\\.\\d+)", "timeoutMs": 2000 } } ] }
 * ```
 *
 * A port becomes a component only through the first rule it matches, and only such ports are ever
 * opened (to read the version over `protocol`; `none` never opens). `vid`/`pid` are 4 hex digits
 * (case-insensitive, optional `0x`); `serialPattern` is a regular expression on the USB serial
 * number; every key given must match. A `path` rule names one device path (a pty, a platform UART,
 * a by-id link) and takes no other match keys; ports without sysfs identity are reachable only so.
 * A rule that matches no port (its `path` does not exist, no USB adapter fits) is listed as one
 * component with status `absent`, unless it is `optional`.
 * `versionQuery` (ymodem only; partial keys merge with the defaults) is copied into the component
 * so `sensor-proxy/ymodem:1` asks the same way.
 */
export interface SerialRule {
  match: { vid?: string; pid?: string; serialPattern?: RegExp; path?: string };
  protocol: 'smp' | 'ymodem' | 'none';
  baudRate: number;
  assertControlLines: boolean;
  component: { group: string; name?: string; manufacturer?: string; model?: string };
  versionQuery: VersionQuery;
  /**
   * False (default): the rule declares a sensor that must be there; when nothing matches it, it is
   * listed with status `absent` and a deployment for its group fails. True: nothing matching is fine.
   */
  optional: boolean;
  /** The query as configured (JSON form), for the component's properties. */
  versionQueryJson: VersionQueryJson | undefined;
}

export interface SerialEnumeratorConfig {
  sysfsRoot: string;
  devRoot: string;
  procRoot: string;
  /** Wait for one port's identity answer (open + request + answer), ms. Default 3000. */
  identifyTimeoutMs: number;
  rules: SerialRule[];
}

const PROTOCOLS = ['smp', 'ymodem', 'none'] as const;

function invalid(field: string, message: string): SensorProxyError {
  return new SensorProxyError('CONFIG_INVALID', `enumerator "serial": ${field} ${message}`, { details: { field } });
}

function hex4(v: unknown, field: string): string {
  if (typeof v !== 'string' || !/^(0x)?[0-9a-fA-F]{4}$/.test(v))
    throw invalid(field, 'must be 4 hex digits, e.g. "2fe3"');
  return v.replace(/^0x/, '').toLowerCase();
}

function optString(v: unknown, field: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw invalid(field, 'must be a non-empty string');
  return v;
}

function parseRule(raw: unknown, i: number): SerialRule {
  const at = `rules[${i}]`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(at, 'must be an object');
  const r = raw as Record<string, unknown>;
  const m = r.match;
  if (typeof m !== 'object' || m === null || Array.isArray(m))
    throw invalid(`${at}.match`, 'must be an object with vid, pid, serialPattern or path');
  const mo = m as Record<string, unknown>;
  const match: SerialRule['match'] = {};
  if (mo.vid !== undefined) match.vid = hex4(mo.vid, `${at}.match.vid`);
  if (mo.pid !== undefined) match.pid = hex4(mo.pid, `${at}.match.pid`);
  if (mo.serialPattern !== undefined) {
    const p = optString(mo.serialPattern, `${at}.match.serialPattern`)!;
    try {
      match.serialPattern = new RegExp(p);
    } catch (e) {
      throw invalid(`${at}.match.serialPattern`, `is not a valid regular expression: ${(e as Error).message}`);
    }
  }
  if (mo.path !== undefined) {
    match.path = optString(mo.path, `${at}.match.path`);
    if (match.vid || match.pid || match.serialPattern)
      throw invalid(`${at}.match.path`, 'cannot be combined with vid, pid or serialPattern');
  }
  if (Object.keys(match).length === 0)
    throw invalid(`${at}.match`, 'needs at least one of vid, pid, serialPattern, path');
  if (!PROTOCOLS.includes(r.protocol as (typeof PROTOCOLS)[number]))
    throw invalid(`${at}.protocol`, `must be one of ${PROTOCOLS.join(', ')}`);
  const baud = r.baudRate ?? 115200;
  if (typeof baud !== 'number' || !Number.isInteger(baud) || baud < 1)
    throw invalid(`${at}.baudRate`, 'must be a positive integer (baud)');
  const acl = r.assertControlLines ?? false;
  if (typeof acl !== 'boolean') throw invalid(`${at}.assertControlLines`, 'must be true or false');
  const optional = r.optional ?? false;
  if (typeof optional !== 'boolean') throw invalid(`${at}.optional`, 'must be true or false');
  const c = r.component;
  if (typeof c !== 'object' || c === null || Array.isArray(c))
    throw invalid(`${at}.component`, 'must be an object with at least "group"');
  const co = c as Record<string, unknown>;
  const group = optString(co.group, `${at}.component.group`);
  if (group === undefined) throw invalid(`${at}.component.group`, 'is required');
  const component: SerialRule['component'] = { group };
  for (const k of ['name', 'manufacturer', 'model'] as const) {
    const v = optString(co[k], `${at}.component.${k}`);
    if (v !== undefined) component[k] = v;
  }
  let versionQuery: VersionQuery;
  try {
    versionQuery = versionQueryFromJson(r.versionQuery ?? {});
  } catch (e) {
    if (!isBusError(e, 'YMODEM_INVALID_OPTIONS')) throw e;
    const sub = typeof e.details.field === 'string' ? e.details.field : '';
    throw invalid(`${at}.versionQuery${sub ? `.${sub}` : ''}`, e.message);
  }
  const q = r.versionQuery as Partial<VersionQueryJson> | undefined;
  const versionQueryJson =
    q === undefined
      ? undefined
      : {
          request: versionQuery.request,
          responsePattern: versionQuery.responsePattern.source,
          timeoutMs: versionQuery.timeoutMs,
        };
  return {
    match,
    protocol: r.protocol as SerialRule['protocol'],
    baudRate: baud,
    assertControlLines: acl,
    component,
    versionQuery,
    optional,
    versionQueryJson,
  };
}

/**
 * Validates a `{ "type": "serial", ... }` entry.
 * @throws SensorProxyError CONFIG_INVALID naming the field (`rules[1].match.vid`, ...).
 */
export function resolveSerialEnumeratorConfig(
  settings: Record<string, unknown>,
  baseDir: string,
): SerialEnumeratorConfig {
  const root = (key: 'sysfsRoot' | 'devRoot' | 'procRoot', def: string) => {
    const v = optString(settings[key], key) ?? def;
    return isAbsolute(v) ? v : resolve(baseDir, v);
  };
  const t = settings.identifyTimeoutMs ?? 3000;
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 1)
    throw invalid('identifyTimeoutMs', 'must be a positive integer (ms)');
  if (!Array.isArray(settings.rules)) throw invalid('rules', 'must be an array of rules (may be empty)');
  return {
    sysfsRoot: root('sysfsRoot', '/sys'),
    devRoot: root('devRoot', '/dev'),
    procRoot: root('procRoot', '/proc'),
    identifyTimeoutMs: t,
    rules: settings.rules.map(parseRule),
  };
}
