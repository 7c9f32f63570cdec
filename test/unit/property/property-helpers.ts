/**
 * Shared settings of the property-based suite (issue 13 "Done when"): ten thousand cases per
 * property, and the check that garbage never throws anything but our own coded errors.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BusError } from '../../../drivers/shared/errors.js';
import { SensorProxyError } from '../../../src/model/errors.js';

/** Cases per property. A failing case is shrunk and printed with its seed by fast-check. */
export const RUNS = 10_000;

/** `fc.assert` with {@link RUNS} cases (and `FC_SEED` from the environment to replay a failure). */
export function check<Ts extends [unknown, ...unknown[]]>(property: fc.IProperty<Ts>): void {
  const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
  fc.assert(property, { numRuns: RUNS, ...(seed !== undefined && { seed }) });
}

export async function checkAsync<Ts extends [unknown, ...unknown[]]>(property: fc.IAsyncProperty<Ts>): Promise<void> {
  const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
  await fc.assert(property, { numRuns: RUNS, ...(seed !== undefined && { seed }) });
}

/**
 * Runs `fn`; when it throws, the error must be a {@link SensorProxyError} or {@link BusError}
 * whose code is one of `codes` (a TypeError or RangeError from inside a parser is a bug).
 * Returns the value, or undefined when a coded error was thrown.
 */
export function codedOnly<T>(fn: () => T, codes: readonly string[]): T | undefined {
  try {
    return fn();
  } catch (e) {
    assertCoded(e, codes);
    return undefined;
  }
}

export async function codedOnlyAsync<T>(fn: () => Promise<T>, codes: readonly string[]): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    assertCoded(e, codes);
    return undefined;
  }
}

function assertCoded(e: unknown, codes: readonly string[]): void {
  const coded = e instanceof SensorProxyError || e instanceof BusError;
  assert.ok(
    coded,
    `threw ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}, not a coded error`,
  );
  assert.ok(codes.includes(e.code), `threw ${e.code} (${e.message}); expected one of ${codes.join(', ')}`);
}
