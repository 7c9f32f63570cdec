import { join } from 'node:path';
import type { Component } from '../../model/component.js';

/**
 * Building the argv of a `microsoft/script:1` script, exactly as the ADU script handler does
 * (`PrepareScriptArguments`, `reference/adu-agent.md` §3.2-3.3). Pure functions, no I/O.
 *
 * ```
 * <script> --action-<action> <substituted arguments...> --work-folder <wf> --result-file <wf>/action_<action>_aduc_result.json [--installed-criteria <ic>]
 * ```
 * With `apiVersion` "1.1" the action is two elements: `--action <action>`.
 */

/** The actions the handler runs a script for. */
export type ScriptAction = 'is-installed' | 'download' | 'install' | 'apply' | 'cancel';

/** `handlerProperties.apiVersion`: "1.0" (default) or "1.1" (§3.1). */
export type ScriptApiVersion = '1.0' | '1.1';

/** Literal the ADU handler substitutes when a component value is missing (§3.3, `propNA`). */
export const NOT_AVAILABLE = 'n/a';

/** Placeholder token → top-level component field it is replaced by (§3.3). */
const FIELD_PLACEHOLDERS: Readonly<Record<string, string>> = {
  '--component-id-val': 'id',
  '--component-name-val': 'name',
  '--component-manufacturer-val': 'manufacturer',
  '--component-model-val': 'model',
  '--component-version-val': 'version',
  '--component-group-val': 'group',
};

/** Consumes the following token as a (dotted) path under `properties` (§3.3, parson `dotget`). */
const PROP_PLACEHOLDER = '--component-prop-val';

/** Result file the script writes for `action`: `<wf>/action_<action>_aduc_result.json` (§3.2). */
export function resultFilePath(workFolder: string, action: ScriptAction): string {
  return join(workFolder, `action_${action}_aduc_result.json`);
}

/**
 * Value of a component field as a script argument. Strings pass as they are; finite numbers and
 * booleans are written in decimal / `true` / `false` (ADU's `json_object_get_string` would give
 * `n/a` for them, but bus enumerators here keep CAN ids and ports as numbers); anything else,
 * or no value, is {@link NOT_AVAILABLE}.
 */
function asArgument(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  return NOT_AVAILABLE;
}

/** `properties.<a>.<b>` lookup through plain objects; undefined when any segment is missing. */
export function lookupProperty(properties: Record<string, unknown> | undefined, dottedPath: string): unknown {
  let node: unknown = properties;
  for (const key of dottedPath.split('.')) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/**
 * Splits `handlerProperties.arguments` on single spaces (no quoting, empty tokens dropped) and
 * replaces the `--component-*-val` placeholders with values of `component` (or `n/a` without one).
 * `--component-prop-val <path>` consumes both tokens; a trailing `--component-prop-val` gives `n/a`.
 */
export function substituteArguments(args: string, component: Component | undefined): string[] {
  const tokens = args.split(' ').filter((t) => t.length > 0);
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    const field = FIELD_PLACEHOLDERS[token];
    if (field !== undefined) {
      out.push(component === undefined ? NOT_AVAILABLE : asArgument(component[field]));
    } else if (token === PROP_PLACEHOLDER) {
      const path = tokens[i + 1];
      if (path === undefined) {
        out.push(NOT_AVAILABLE);
      } else {
        out.push(component === undefined ? NOT_AVAILABLE : asArgument(lookupProperty(component.properties, path)));
        i++;
      }
    } else {
      out.push(token);
    }
  }
  return out;
}

/** Inputs of {@link buildScriptArgv}; all already validated. */
export interface ScriptArgvInput {
  action: ScriptAction;
  /** Default "1.0". */
  apiVersion?: ScriptApiVersion;
  /** `handlerProperties.arguments`; default "" (ADU logs that as unusual, not an error). */
  arguments?: string;
  component: Component | undefined;
  workFolder: string;
  /** Omitted from argv when undefined or empty. */
  installedCriteria: string | undefined;
}

/** The script's argv (without the script path itself), in ADU order (§3.2). */
export function buildScriptArgv(input: ScriptArgvInput): string[] {
  const argv = input.apiVersion === '1.1' ? ['--action', input.action] : [`--action-${input.action}`];
  argv.push(...substituteArguments(input.arguments ?? '', input.component));
  argv.push('--work-folder', input.workFolder, '--result-file', resultFilePath(input.workFolder, input.action));
  if (input.installedCriteria !== undefined && input.installedCriteria.length > 0) {
    argv.push('--installed-criteria', input.installedCriteria);
  }
  return argv;
}
