import { basename } from 'node:path';
import { SensorProxyError } from '../../model/errors.js';
import type { ScriptApiVersion } from './argv.js';

/**
 * Configuration of the `microsoft/script:1` handler: the gateway config section
 * `handlers["microsoft/script:1"]` (handler-wide) and the step's `handlerProperties` (per step).
 */

/** Handler-wide settings (gateway config `handlers["microsoft/script:1"]`). */
export interface ScriptHandlerConfig {
  /** Overall limit of one script run, seconds, > 0. A step's `handlerProperties.timeoutSeconds` overrides it. Default 3600. */
  timeoutSeconds: number;
  /** Time between SIGTERM and SIGKILL to the script's process group on cancel or timeout, ms, >= 0. Default 5000. */
  killGraceMs: number;
  /** Extra environment variables for every script, merged over the agent's own environment. Default `{}`. */
  env: Readonly<Record<string, string>>;
}

export const DEFAULT_SCRIPT_HANDLER_CONFIG: Readonly<ScriptHandlerConfig> = Object.freeze({
  // One hour: a sensor flashed over a slow serial link by a vendor tool can take tens of minutes.
  timeoutSeconds: 3600,
  // 5 s lets a script trap TERM and leave the device in a recoverable state before SIGKILL.
  killGraceMs: 5000,
  env: Object.freeze({}),
});

function invalid(path: string, message: string): SensorProxyError {
  return new SensorProxyError('CONFIG_INVALID', `handlers["microsoft/script:1"].${path} ${message}`, {
    details: { field: path },
  });
}

/**
 * Merges `raw` (the config section, may be partial or empty) over the defaults and validates it.
 * @throws SensorProxyError CONFIG_INVALID naming the field.
 */
export function resolveScriptHandlerConfig(raw: Record<string, unknown>): ScriptHandlerConfig {
  const cfg: ScriptHandlerConfig = { ...DEFAULT_SCRIPT_HANDLER_CONFIG };
  if (raw.timeoutSeconds !== undefined) {
    if (typeof raw.timeoutSeconds !== 'number' || !(raw.timeoutSeconds > 0) || !Number.isFinite(raw.timeoutSeconds)) {
      throw invalid('timeoutSeconds', 'must be a positive number of seconds');
    }
    cfg.timeoutSeconds = raw.timeoutSeconds;
  }
  if (raw.killGraceMs !== undefined) {
    if (typeof raw.killGraceMs !== 'number' || !(raw.killGraceMs >= 0) || !Number.isFinite(raw.killGraceMs)) {
      throw invalid('killGraceMs', 'must be a number of milliseconds >= 0');
    }
    cfg.killGraceMs = raw.killGraceMs;
  }
  if (raw.env !== undefined) {
    if (raw.env === null || typeof raw.env !== 'object' || Array.isArray(raw.env))
      throw invalid('env', 'must be an object of strings');
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw.env)) {
      if (typeof v !== 'string') throw invalid(`env.${k}`, 'must be a string');
      env[k] = v;
    }
    cfg.env = Object.freeze(env);
  }
  return cfg;
}

/** The step's `handlerProperties` as the handler uses them (§3.1 of `reference/adu-agent.md`, plus `timeoutSeconds`). */
export interface ScriptStepProperties {
  scriptFileName: string;
  arguments: string;
  apiVersion: ScriptApiVersion;
  timeoutSeconds: number;
}

/** Why a step's properties were rejected: `missing-script` maps to ADU's 0x30500005, `invalid` to ours. */
export type StepPropertiesProblem = { kind: 'missing-script'; details: string } | { kind: 'invalid'; details: string };

/**
 * Reads and checks the step's handlerProperties. `apiVersion` and `timeoutSeconds` may be given as
 * strings (ADU manifests carry strings); an apiVersion other than "1.0"/"1.1" is rejected rather
 * than silently run with the wrong argv shape.
 */
export function readStepProperties(
  props: Record<string, unknown>,
  defaultTimeoutSeconds: number,
): { ok: true; value: ScriptStepProperties } | { ok: false; problem: StepPropertiesProblem } {
  const fail = (kind: StepPropertiesProblem['kind'], details: string) => ({
    ok: false as const,
    problem: { kind, details },
  });
  const name = props.scriptFileName;
  if (name === undefined || name === null || name === '') {
    return fail('missing-script', "Missing 'handlerProperties.scriptFileName' property");
  }
  if (typeof name !== 'string') return fail('invalid', "'handlerProperties.scriptFileName' must be a string");
  if (name !== basename(name) || name === '.' || name === '..' || name.includes('\\')) {
    return fail('invalid', `'handlerProperties.scriptFileName' must be a plain file name, got '${name}'`);
  }
  const args = props.arguments ?? '';
  if (typeof args !== 'string')
    return fail('invalid', "'handlerProperties.arguments' must be a string of space-separated tokens");
  const api = props.apiVersion ?? '1.0';
  if (api !== '1.0' && api !== '1.1')
    return fail('invalid', `'handlerProperties.apiVersion' must be "1.0" or "1.1", got ${JSON.stringify(api)}`);
  let timeoutSeconds = defaultTimeoutSeconds;
  if (props.timeoutSeconds !== undefined) {
    const t = typeof props.timeoutSeconds === 'string' ? Number(props.timeoutSeconds) : props.timeoutSeconds;
    if (typeof t !== 'number' || !Number.isFinite(t) || !(t > 0)) {
      return fail(
        'invalid',
        `'handlerProperties.timeoutSeconds' must be a positive number, got ${JSON.stringify(props.timeoutSeconds)}`,
      );
    }
    timeoutSeconds = t;
  }
  return { ok: true, value: { scriptFileName: name, arguments: args, apiVersion: api, timeoutSeconds } };
}
