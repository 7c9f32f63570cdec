/**
 * Violation collection for the manifest validators. Validation never stops at the first problem:
 * every check adds a {@link Violation} to a {@link Violations} list, and once the whole document
 * has been walked {@link Violations.throwIfAny} raises one `MANIFEST_INVALID` error listing all of
 * them (one per line, `<source>: <path>: <message>`), so a publisher fixes a manifest in one pass.
 */
import { SensorProxyError } from '../model/errors.js';

/** One broken rule. `path` is a JSONPath into the document (`$.instructions.steps[1].handler`). */
export interface Violation {
  path: string;
  /** The schema keyword or agent rule that failed, e.g. `required`, `maxLength 64`, `pattern ^\S+/\S+:\d{1,5}$`. */
  rule: string;
  /** Human sentence, without the path. */
  message: string;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `path` extended by an array index or an object key (`$.a[0]`, `$.a.b`, `$.files['x-1.bin']`). */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  if (IDENTIFIER.test(key)) return `${path}.${key}`;
  return `${path}['${key.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`;
}

/** True for a JSON object (not null, not an array). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** JSON type name of a value, for messages (`null`, `array`, `object`, `string`, …). */
export function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Violations kept per document; further ones are only counted (a hostile manifest may break a rule a million times). */
export const MAX_VIOLATIONS_KEPT = 100;

/** Ordered list of violations found in one document (the first {@link MAX_VIOLATIONS_KEPT} kept). */
export class Violations {
  readonly list: Violation[] = [];
  /** How many were found beyond the kept ones. */
  more = 0;

  add(path: string, rule: string, message: string): void {
    if (this.list.length < MAX_VIOLATIONS_KEPT) this.list.push({ path, rule, message });
    else this.more++;
  }

  /** Every violation found, kept or not. */
  get size(): number {
    return this.list.length + this.more;
  }

  /**
   * Throws `MANIFEST_INVALID` when anything was collected. `details` is
   * `{ source, violations }`; the message lists one violation per line.
   */
  throwIfAny(source: string, what = 'manifest'): void {
    if (this.list.length === 0) return;
    throw manifestInvalid(source, this.list, what, this.more);
  }
}

/** The single error raised for a document that breaks one or more rules. */
export function manifestInvalid(
  source: string,
  violations: Violation[],
  what = 'manifest',
  more = 0,
): SensorProxyError {
  const n = violations.length + more;
  const lines = violations.map((v) => `${source}: ${v.path}: ${v.message}`);
  if (more > 0) lines.push(`${source}: … and ${more} more problem${more === 1 ? '' : 's'} not listed`);
  return new SensorProxyError(
    'MANIFEST_INVALID',
    `invalid ${what} (${n} problem${n === 1 ? '' : 's'}):\n${lines.join('\n')}`,
    {
      details: { source, violations, ...(more > 0 && { more }) },
      hint: 'fix every listed field; nothing runs until the manifest validates',
    },
  );
}
