/**
 * The gateway config's `hub` section: how the agent reaches IoT Hub and what it announces.
 * Validated by `parseGatewayConfig` (through {@link hubConfigProblems}) and resolved with defaults
 * by {@link resolveHubConfig}. Secrets (the connection string) are never logged: see {@link redactConnectionString}.
 */
import { isAbsolute, resolve } from 'node:path';
import { SensorProxyError } from '../model/errors.js';
import type { RootKey } from './jws.js';
import { PRODUCTION_ROOT_KEYS } from './production-root-keys.js';

export interface HubConfig {
  /** Device connection string `HostName=…;DeviceId=…;SharedAccessKey=…` (or `…;x509=true`). One of this or `connectionStringFile`. */
  connectionString?: string;
  /** File holding the connection string (first line), relative to the config file. */
  connectionStringFile?: string;
  /** X.509 device identity (with `x509=true` in the connection string): PEM files. */
  x509?: { certFile: string; keyFile: string };
  /** Extra CA (PEM file) trusted for the hub's TLS certificate; default none (system CAs, `NODE_EXTRA_CA_CERTS`). */
  caFile?: string;
  /** `deviceProperties.manufacturer`. Default `"sensor-proxy"`. */
  manufacturer: string;
  /** `deviceProperties.model`. Default `"gateway"`. */
  model: string;
  /** Extra `deviceProperties` (strings). Default `{}`. */
  additionalDeviceProperties: Record<string, string>;
  /** `compatPropertyNames`. Default `"manufacturer,model"`. */
  compatPropertyNames: string;
  /** Trusted root keys for manifest signatures. Default: the two production ADU roots (`ADU.200702.R`, `ADU.200703.R`). */
  rootKeys: RootKey[];
  /** `rootKeys` are the built-in production roots (no `hub.rootKeys` in the config). */
  rootKeysBuiltIn: boolean;
  /** Downloads: requests per file (default 5), first back-off ms (default 500), idle timeout ms (default 60000). */
  download: { attempts: number; retryDelayMs: number; idleTimeoutMs: number };
  /** Deadline of a connect (CONNACK), a twin GET or a reported PATCH, ms. Default 30000. */
  twinTimeoutMs: number;
  /** Largest back-off between reconnect attempts, ms. Default 10000 (the SDK's own cap). */
  reconnectMaxDelayMs: number;
}

export const HUB_DEFAULTS = Object.freeze({
  manufacturer: 'sensor-proxy',
  model: 'gateway',
  compatPropertyNames: 'manufacturer,model',
  download: Object.freeze({ attempts: 5, retryDelayMs: 500, idleTimeoutMs: 60_000 }),
  twinTimeoutMs: 30_000,
  reconnectMaxDelayMs: 10_000,
});

const KEYS = new Set([
  'connectionString',
  'connectionStringFile',
  'x509',
  'caFile',
  'manufacturer',
  'model',
  'additionalDeviceProperties',
  'compatPropertyNames',
  'rootKeys',
  'download',
  'twinTimeoutMs',
  'reconnectMaxDelayMs',
]);

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every problem of a raw `hub` section, each prefixed with its JSON path (`$.hub.…`). */
export function hubConfigProblems(raw: unknown): string[] {
  const p: string[] = [];
  if (!isObj(raw)) return ['$.hub: must be an object'];
  for (const k of Object.keys(raw))
    if (!KEYS.has(k)) p.push(`$.hub.${k}: unknown key (known: ${[...KEYS].join(', ')})`);
  const str = (k: string) => {
    if (raw[k] !== undefined && (typeof raw[k] !== 'string' || raw[k] === ''))
      p.push(`$.hub.${k}: must be a non-empty string`);
  };
  ['connectionString', 'connectionStringFile', 'caFile', 'manufacturer', 'model', 'compatPropertyNames'].forEach(str);
  if (raw.connectionString === undefined && raw.connectionStringFile === undefined)
    p.push('$.hub: needs connectionString or connectionStringFile');
  if (raw.connectionString !== undefined && raw.connectionStringFile !== undefined)
    p.push('$.hub: give connectionString or connectionStringFile, not both');
  if (
    raw.x509 !== undefined &&
    !(isObj(raw.x509) && typeof raw.x509.certFile === 'string' && typeof raw.x509.keyFile === 'string')
  ) {
    p.push('$.hub.x509: must be {"certFile": "<pem>", "keyFile": "<pem>"}');
  }
  if (
    raw.additionalDeviceProperties !== undefined &&
    !(
      isObj(raw.additionalDeviceProperties) &&
      Object.values(raw.additionalDeviceProperties).every((v) => typeof v === 'string')
    )
  ) {
    p.push('$.hub.additionalDeviceProperties: must be an object of strings');
  }
  if (raw.rootKeys !== undefined) {
    if (!Array.isArray(raw.rootKeys) || raw.rootKeys.length === 0)
      p.push('$.hub.rootKeys: must be a non-empty array of {kid, n, e}');
    else
      raw.rootKeys.forEach((k: unknown, i) => {
        if (!isObj(k) || typeof k.kid !== 'string' || typeof k.n !== 'string' || typeof k.e !== 'string')
          p.push(`$.hub.rootKeys[${i}]: must be {"kid", "n", "e"} strings (n/e base64url)`);
      });
  }
  const num = (v: unknown, path: string, min: number) => {
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < min))
      p.push(`${path}: must be a number >= ${min}`);
  };
  if (raw.download !== undefined) {
    if (!isObj(raw.download)) p.push('$.hub.download: must be an object');
    else {
      for (const k of Object.keys(raw.download))
        if (!['attempts', 'retryDelayMs', 'idleTimeoutMs'].includes(k)) p.push(`$.hub.download.${k}: unknown key`);
      num(raw.download.attempts, '$.hub.download.attempts', 1);
      num(raw.download.retryDelayMs, '$.hub.download.retryDelayMs', 0);
      num(raw.download.idleTimeoutMs, '$.hub.download.idleTimeoutMs', 1);
    }
  }
  num(raw.twinTimeoutMs, '$.hub.twinTimeoutMs', 1);
  num(raw.reconnectMaxDelayMs, '$.hub.reconnectMaxDelayMs', 1);
  return p;
}

/**
 * Validates and fills defaults; relative file paths resolve against `baseDir` (the config's folder).
 * @throws SensorProxyError `CONFIG_INVALID` listing every problem.
 */
export function resolveHubConfig(raw: unknown, baseDir: string): HubConfig {
  const problems = hubConfigProblems(raw);
  if (problems.length > 0) {
    throw new SensorProxyError('CONFIG_INVALID', `invalid hub config:\n  ${problems.join('\n  ')}`, {
      details: { problems },
      hint: 'see "hub" in the README',
    });
  }
  // hubConfigProblems has checked every key's type, so the raw object has HubConfig's shape, each key optional.
  const r = raw as Partial<Omit<HubConfig, 'download'>> & { download?: Partial<HubConfig['download']> };
  const abs = (f: string) => (isAbsolute(f) ? f : resolve(baseDir, f));
  const cfg: HubConfig = {
    manufacturer: r.manufacturer ?? HUB_DEFAULTS.manufacturer,
    model: r.model ?? HUB_DEFAULTS.model,
    additionalDeviceProperties: { ...(r.additionalDeviceProperties ?? {}) },
    compatPropertyNames: r.compatPropertyNames ?? HUB_DEFAULTS.compatPropertyNames,
    rootKeys:
      (r.rootKeys as RootKey[] | undefined)?.map((k) => ({ kid: k.kid, n: k.n, e: k.e })) ??
      PRODUCTION_ROOT_KEYS.map((k) => ({ ...k })),
    rootKeysBuiltIn: r.rootKeys === undefined,
    download: { ...HUB_DEFAULTS.download, ...(r.download ?? {}) },
    twinTimeoutMs: r.twinTimeoutMs ?? HUB_DEFAULTS.twinTimeoutMs,
    reconnectMaxDelayMs: r.reconnectMaxDelayMs ?? HUB_DEFAULTS.reconnectMaxDelayMs,
  };
  if (r.connectionString !== undefined) cfg.connectionString = r.connectionString;
  if (r.connectionStringFile !== undefined) cfg.connectionStringFile = abs(r.connectionStringFile);
  if (r.x509 !== undefined) cfg.x509 = { certFile: abs(r.x509.certFile), keyFile: abs(r.x509.keyFile) };
  if (r.caFile !== undefined) cfg.caFile = abs(r.caFile);
  return cfg;
}

/** The connection string with its `SharedAccessKey` / `SharedAccessSignature` replaced by `HIDDEN`, for logs. */
export function redactConnectionString(cs: string): string {
  return cs.replace(/(SharedAccess(?:Key|Signature)=)[^;]*/gi, '$1HIDDEN');
}
