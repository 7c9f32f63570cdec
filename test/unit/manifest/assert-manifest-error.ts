/** Test helpers: assert a coded SensorProxyError and pull out manifest violations. */
import assert from 'node:assert/strict';
import { type CoreErrorCode, isSensorProxyError, type SensorProxyError } from '../../../src/model/errors.js';
import type { Violation } from '../../../src/manifest/index.js';

/** Runs `fn` (sync or async) and returns the SensorProxyError it throws, asserting its code. */
export async function expectCode(fn: () => unknown, code: CoreErrorCode): Promise<SensorProxyError> {
  let thrown: unknown;
  try {
    await fn();
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown !== undefined, `expected ${code}, nothing was thrown`);
  assert.ok(isSensorProxyError(thrown), `expected SensorProxyError ${code}, got ${String(thrown as unknown)}`);
  assert.equal(thrown.code, code, `expected ${code}, got ${thrown.code}: ${thrown.message}`);
  return thrown;
}

/** The violations of a `MANIFEST_INVALID` error thrown by `fn`. */
export async function violationsOf(fn: () => unknown): Promise<Violation[]> {
  const e = await expectCode(fn, 'MANIFEST_INVALID');
  const violations = e.details.violations as Violation[];
  assert.ok(Array.isArray(violations) && violations.length > 0, 'MANIFEST_INVALID without violations');
  return violations;
}

export function describeViolations(list: Violation[]): string {
  return list.map((v) => `${v.path} [${v.rule}] ${v.message}`).join('\n');
}
