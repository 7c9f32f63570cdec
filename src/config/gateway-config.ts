import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { hubConfigProblems } from '../hub/hub-config.js';
import { SensorProxyError } from '../model/errors.js';
import { assertJsonShape, INPUT_LIMITS, readBoundedFile } from '../model/input-limits.js';
import { DEFAULT_PARALLEL_POLICY, type ParallelPolicy } from '../workflow/lanes.js';

/** Default `logFileMaxBytes` (src/cli/log-file.ts rotates at it). */
export const DEFAULT_LOG_FILE_MAX_BYTES = 1024 * 1024;

/**
 * The gateway config file (JSON; schema in `docs/gateway-config.schema.json`, documented in the
 * README). Bus issues add their enumerator entries and handler sections; unknown top-level keys are
 * rejected so a typo is an error, not a silently ignored setting.
 */
export interface GatewayConfig {
  /** Durable workflow state (atomic JSON files). Default: see {@link defaultStateDir}. */
  stateDir: string;
  /** Work folders for update files, one per workflow. Default `<stateDir>/work`. */
  workDir: string;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /**
   * Log file of `flash` and `agent` (at `logLevel`, whatever the terminal shows), bundled by `report`.
   * Default `<stateDir>/logs/sensor-proxy.log`; `false` in the file turns it off (undefined here).
   */
  logFile?: string;
  /** Size at which the log file is rotated to `<logFile>.1` (one old file kept). Default 1 MiB. */
  logFileMaxBytes: number;
  /** Enumerator entries, each `{ "type": "<inventory|serial|can|usb>", ...settings }`. */
  enumerators: Array<{ type: string } & Record<string, unknown>>;
  /**
   * With no enumerator configured, run a reference step's child steps once on the host (the ADU
   * agent's behaviour) instead of failing with ENUM_NOT_CONFIGURED. Default false.
   */
  referenceStepsOnHost: boolean;
  /** Per-handler defaults keyed by handler id, e.g. `{"microsoft/script:1": {"timeoutSeconds": 600}}`. */
  handlers: Record<string, Record<string, unknown>>;
  /** Parallel flashing of the components one reference step selects (README "Parallel flashing"). */
  parallel: ParallelPolicy;
  /** argv run when an update asks for a reboot (`agent`, `flash --reboot`). Default `["systemctl", "reboot"]`. */
  rebootCommand?: string[];
  /** IoT Hub agent settings, validated by `hubConfigProblems`, resolved by `resolveHubConfig` (src/hub/hub-config.ts). */
  hub?: Record<string, unknown>;
  /** Folder of the config file; relative paths in enumerator settings resolve against it. */
  baseDir: string;
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
const TOP_LEVEL_KEYS = new Set([
  '$schema',
  'stateDir',
  'workDir',
  'logLevel',
  'logFile',
  'logFileMaxBytes',
  'enumerators',
  'handlers',
  'parallel',
  'onComponentFailure',
  'hub',
  'referenceStepsOnHost',
  'rebootCommand',
]);

/** `$SENSOR_PROXY_STATE_DIR`, else `/var/lib/sensor-proxy` for root, else `$XDG_STATE_HOME/sensor-proxy` (`~/.local/state/sensor-proxy`). */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SENSOR_PROXY_STATE_DIR) return resolve(env.SENSOR_PROXY_STATE_DIR);
  if (process.getuid?.() === 0) return '/var/lib/sensor-proxy';
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'sensor-proxy');
}

/** `<stateDir>/logs/sensor-proxy.log`: the default `logFile`. */
export function defaultLogFile(stateDir: string): string {
  return join(stateDir, 'logs', 'sensor-proxy.log');
}

export function defaultConfig(baseDir = process.cwd()): GatewayConfig {
  const stateDir = defaultStateDir();
  return {
    stateDir,
    workDir: join(stateDir, 'work'),
    logLevel: 'info',
    logFile: defaultLogFile(stateDir),
    logFileMaxBytes: DEFAULT_LOG_FILE_MAX_BYTES,
    enumerators: [],
    referenceStepsOnHost: false,
    handlers: {},
    parallel: { ...DEFAULT_PARALLEL_POLICY },
    baseDir,
  };
}

export async function loadGatewayConfig(path: string): Promise<GatewayConfig> {
  let text: string;
  try {
    text = (
      await readBoundedFile(path, { limit: INPUT_LIMITS.configBytes, code: 'INPUT_TOO_LARGE', what: 'gateway config' })
    ).toString('utf8');
  } catch (e) {
    if (e instanceof SensorProxyError) throw e;
    throw new SensorProxyError(
      'CONFIG_NOT_FOUND',
      `cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      {
        hint: 'pass an existing file with --config, or omit --config to use the defaults',
        cause: e,
      },
    );
  }
  assertJsonShape(text, path, 'CONFIG_INVALID');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new SensorProxyError('CONFIG_INVALID', `${path}: not valid JSON (${(e as Error).message})`);
  }
  return parseGatewayConfig(doc, path);
}

/** Validates a parsed config; one CONFIG_INVALID error listing every problem with its JSON path. */
export function parseGatewayConfig(doc: unknown, source: string): GatewayConfig {
  const baseDir = dirname(resolve(source));
  const problems: string[] = [];
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new SensorProxyError('CONFIG_INVALID', `${source}: the config must be a JSON object`);
  }
  const o = doc as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!TOP_LEVEL_KEYS.has(k)) problems.push(`$.${k}: unknown key (known: ${[...TOP_LEVEL_KEYS].join(', ')})`);
  const str = (key: string): string | undefined => {
    if (o[key] === undefined) return undefined;
    if (typeof o[key] !== 'string' || o[key] === '') problems.push(`$.${key}: must be a non-empty string`);
    return typeof o[key] === 'string' ? (o[key] as string) : undefined;
  };
  const abs = (p: string | undefined) => (p === undefined ? undefined : isAbsolute(p) ? p : resolve(baseDir, p));
  const stateDir = abs(str('stateDir')) ?? defaultStateDir();
  const workDir = abs(str('workDir')) ?? join(stateDir, 'work');
  const logLevel = str('logLevel') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel))
    problems.push(`$.logLevel: must be one of ${LOG_LEVELS.join(', ')}`);
  let logFile: string | undefined = defaultLogFile(stateDir);
  if (o.logFile === false) logFile = undefined;
  else if (o.logFile !== undefined) logFile = abs(str('logFile'));
  const logFileMaxBytes = o.logFileMaxBytes ?? DEFAULT_LOG_FILE_MAX_BYTES;
  if (typeof logFileMaxBytes !== 'number' || !Number.isSafeInteger(logFileMaxBytes) || logFileMaxBytes < 4096)
    problems.push('$.logFileMaxBytes: must be an integer >= 4096 (bytes)');

  const enumerators: GatewayConfig['enumerators'] = [];
  if (o.enumerators !== undefined) {
    if (!Array.isArray(o.enumerators)) problems.push('$.enumerators: must be an array of {"type": ...} objects');
    else
      o.enumerators.forEach((e: unknown, i) => {
        if (typeof e !== 'object' || e === null || typeof (e as { type?: unknown }).type !== 'string') {
          problems.push(`$.enumerators[${i}]: must be an object with a string "type"`);
        } else enumerators.push(e as { type: string });
      });
  }
  if (o.referenceStepsOnHost !== undefined && typeof o.referenceStepsOnHost !== 'boolean')
    problems.push('$.referenceStepsOnHost: must be true or false');
  const handlers: GatewayConfig['handlers'] = {};
  if (o.handlers !== undefined) {
    if (typeof o.handlers !== 'object' || o.handlers === null || Array.isArray(o.handlers))
      problems.push('$.handlers: must be an object keyed by handler id');
    else
      for (const [id, v] of Object.entries(o.handlers)) {
        if (typeof v !== 'object' || v === null || Array.isArray(v))
          problems.push(`$.handlers["${id}"]: must be an object`);
        else handlers[id] = v as Record<string, unknown>;
      }
  }
  const parallel = parseParallel(o, problems);
  if (o.hub !== undefined) problems.push(...hubConfigProblems(o.hub));
  if (
    o.rebootCommand !== undefined &&
    !(
      Array.isArray(o.rebootCommand) &&
      o.rebootCommand.length > 0 &&
      o.rebootCommand.every((a) => typeof a === 'string' && a !== '')
    )
  )
    problems.push(
      '$.rebootCommand: must be a non-empty array of non-empty strings (argv, e.g. ["systemctl", "reboot"])',
    );
  if (problems.length > 0) {
    throw new SensorProxyError('CONFIG_INVALID', `${source}: invalid gateway config:\n  ${problems.join('\n  ')}`, {
      details: { source, problems },
      hint: 'see "Gateway config" in the README and docs/gateway-config.schema.json',
    });
  }
  const config: GatewayConfig = {
    stateDir,
    workDir,
    logLevel: logLevel as GatewayConfig['logLevel'],
    ...(logFile !== undefined && { logFile }),
    logFileMaxBytes: logFileMaxBytes as number,
    enumerators,
    referenceStepsOnHost: o.referenceStepsOnHost === true,
    handlers,
    parallel,
    baseDir,
  };
  if (o.hub !== undefined) config.hub = o.hub as Record<string, unknown>;
  if (o.rebootCommand !== undefined) config.rebootCommand = [...(o.rebootCommand as string[])];
  return config;
}

/** `parallel: { enabled, maxPerCanInterface, acrossReferenceSteps }` and `onComponentFailure`, over the defaults. */
function parseParallel(o: Record<string, unknown>, problems: string[]): ParallelPolicy {
  const out: ParallelPolicy = { ...DEFAULT_PARALLEL_POLICY };
  if (o.onComponentFailure !== undefined) {
    if (o.onComponentFailure === 'stop' || o.onComponentFailure === 'continue')
      out.onComponentFailure = o.onComponentFailure;
    else problems.push('$.onComponentFailure: must be "stop" or "continue"');
  }
  if (o.parallel === undefined) return out;
  if (typeof o.parallel !== 'object' || o.parallel === null || Array.isArray(o.parallel)) {
    problems.push('$.parallel: must be an object { "enabled": boolean, "maxPerCanInterface": integer }');
    return out;
  }
  const p = o.parallel as Record<string, unknown>;
  for (const k of Object.keys(p))
    if (k !== 'enabled' && k !== 'maxPerCanInterface' && k !== 'acrossReferenceSteps')
      problems.push(`$.parallel.${k}: unknown key (known: enabled, maxPerCanInterface, acrossReferenceSteps)`);
  if (p.enabled !== undefined) {
    if (typeof p.enabled === 'boolean') out.enabled = p.enabled;
    else problems.push('$.parallel.enabled: must be true or false');
  }
  if (p.acrossReferenceSteps !== undefined) {
    if (typeof p.acrossReferenceSteps === 'boolean') out.acrossReferenceSteps = p.acrossReferenceSteps;
    else problems.push('$.parallel.acrossReferenceSteps: must be true or false');
  }
  if (p.maxPerCanInterface !== undefined) {
    const n = p.maxPerCanInterface;
    if (typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 64) out.maxPerCanInterface = n;
    else problems.push('$.parallel.maxPerCanInterface: must be an integer 1..64');
  }
  return out;
}
