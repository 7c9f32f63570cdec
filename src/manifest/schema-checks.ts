/**
 * Small JSON-schema-like checks used by the manifest validators. Each check adds violations to the
 * list it is given and returns whether the value can be used further (so a caller does not report
 * follow-up noise on a value of the wrong type). Rule names follow the JSON Schema keywords of the
 * published ADU schemas (SchemaStore `azure-deviceupdate-*-5*.json`).
 */
import { childPath, isPlainObject, jsonType, type Violations } from './violations.js';

/** A regular expression plus the exact schema text used in rule names (RegExp#source escapes `/`). */
export interface Pattern {
  re: RegExp;
  text: string;
}

export function pattern(text: string): Pattern {
  return { re: new RegExp(text), text };
}

export interface StringLimits {
  /** Minimum length in UTF-16 code units (JSON Schema `minLength`). */
  min?: number;
  /** Maximum length (JSON Schema `maxLength`). */
  max?: number;
  pattern?: Pattern;
}

/**
 * Type `string`, then length, then pattern (pattern only when the length is fine, so an empty
 * string reports `minLength 1` once). Returns true when the value is a string, whatever its content.
 */
export function checkString(v: unknown, path: string, out: Violations, limits: StringLimits = {}): v is string {
  if (typeof v !== 'string') {
    out.add(path, 'type string', `must be a string (is ${jsonType(v)})`);
    return false;
  }
  if (limits.min !== undefined && v.length < limits.min) {
    out.add(
      path,
      `minLength ${limits.min}`,
      limits.min === 1 ? 'must not be empty' : `must be at least ${limits.min} characters (is ${v.length})`,
    );
    return true;
  }
  if (limits.max !== undefined && v.length > limits.max) {
    out.add(path, `maxLength ${limits.max}`, `must be at most ${limits.max} characters (is ${v.length})`);
    return true;
  }
  if (limits.pattern && !limits.pattern.re.test(v)) {
    out.add(path, `pattern ${limits.pattern.text}`, `${JSON.stringify(v)} does not match ${limits.pattern.text}`);
  }
  return true;
}

/** Type `object` (a JSON object, not an array or null). */
export function checkObject(v: unknown, path: string, out: Violations): v is Record<string, unknown> {
  if (isPlainObject(v)) return true;
  out.add(path, 'type object', `must be an object (is ${jsonType(v)})`);
  return false;
}

/**
 * Type `array` with optional `minItems` / `maxItems`. True when it is an array whose items are
 * worth checking: false also for an array over `max` (its items are not walked, so a million
 * steps cost one violation, not a million).
 */
export function checkArray(v: unknown, path: string, out: Violations, min?: number, max?: number): v is unknown[] {
  if (!Array.isArray(v)) {
    out.add(path, 'type array', `must be an array (is ${jsonType(v)})`);
    return false;
  }
  if (min !== undefined && v.length < min)
    out.add(path, `minItems ${min}`, `must have at least ${min} item${min === 1 ? '' : 's'} (has ${v.length})`);
  if (max !== undefined && v.length > max) {
    out.add(path, `maxItems ${max}`, `must have at most ${max} items (has ${v.length})`);
    return false;
  }
  return true;
}

/**
 * `minProperties` / `maxProperties` on an object already known to be one. False when it has more
 * than `max` properties: the caller then does not walk them (as {@link checkArray}).
 */
export function checkPropertyCount(
  obj: Record<string, unknown>,
  path: string,
  out: Violations,
  min?: number,
  max?: number,
): boolean {
  const n = Object.keys(obj).length;
  if (min !== undefined && n < min)
    out.add(path, `minProperties ${min}`, `must have at least ${min} propert${min === 1 ? 'y' : 'ies'} (has ${n})`);
  if (max !== undefined && n > max) {
    out.add(path, `maxProperties ${max}`, `must have at most ${max} properties (has ${n})`);
    return false;
  }
  return true;
}

/** Reports each key of `required` missing from `obj` (`required`, path of the missing key). */
export function checkRequired(
  obj: Record<string, unknown>,
  required: readonly string[],
  path: string,
  out: Violations,
): void {
  for (const key of required) {
    if (!(key in obj) || obj[key] === undefined) out.add(childPath(path, key), 'required', 'is required');
  }
}

/**
 * `additionalProperties: false`: reports every key not in `allowed`. `advice` may return a more
 * useful sentence for a known mistake (e.g. a reference key on a step without `"type":"reference"`).
 */
export function checkNoUnknownKeys(
  obj: Record<string, unknown>,
  allowed: readonly string[],
  path: string,
  out: Violations,
  advice?: (key: string) => string | undefined,
): void {
  for (const key of Object.keys(obj)) {
    if (allowed.includes(key)) continue;
    const extra = advice?.(key);
    out.add(
      childPath(path, key),
      'additionalProperties false',
      `unknown property ${JSON.stringify(key)}; allowed: ${allowed.join(', ')}${extra ? ` (${extra})` : ''}`,
    );
  }
}

/** Type `boolean`. */
export function checkBoolean(v: unknown, path: string, out: Violations): v is boolean {
  if (typeof v === 'boolean') return true;
  out.add(path, 'type boolean', `must be true or false (is ${jsonType(v)})`);
  return false;
}

/** Type `integer` within `[min, max]`. True when it is an integer (range errors still return true). */
export function checkInteger(v: unknown, path: string, out: Violations, min: number, max: number): v is number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    out.add(path, 'type integer', `must be a whole number (is ${typeof v === 'number' ? String(v) : jsonType(v)})`);
    return false;
  }
  if (v < min) out.add(path, `minimum ${min}`, `must be at least ${min} (is ${v})`);
  if (v > max) out.add(path, `maximum ${max}`, `must be at most ${max} (is ${v})`);
  return true;
}
