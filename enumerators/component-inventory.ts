import { isCancelled } from '../drivers/shared/errors.js';
import type { Component, ComponentSelector } from '../src/model/component.js';
import { SensorProxyError, errorMessage } from '../src/model/errors.js';
import type { Logger } from '../src/model/logger.js';
import type { ComponentEnumerator } from './enumerator.js';
import { selectComponents } from './select.js';

/**
 * All configured enumerators behind one ADU-style contract: `getAllComponents()` merges their
 * results; `selectComponents(selector)` filters the merged list. An enumerator that fails makes the
 * whole call fail (ENUM_FAILED): a silently missing bus would turn into a false
 * "no matching components" success.
 */
export class ComponentInventory {
  constructor(
    private readonly enumerators: readonly ComponentEnumerator[],
    private readonly log: Logger,
  ) {}

  /** False when the gateway has no enumerator at all (config `enumerators: []`, no `--inventory`). */
  get hasEnumerators(): boolean {
    return this.enumerators.length > 0;
  }

  /**
   * Runs the enumerators concurrently, except that enumerators of one type run one after another
   * (two `serial` entries may match the same port, which opens only once at a time), and merges
   * their results in config order. When several fail, the first failing one in config order is
   * thrown and names the others in `details.failed`.
   */
  async getAllComponents(signal?: AbortSignal): Promise<Component[]> {
    const byType = new Map<string, ComponentEnumerator[]>();
    for (const e of this.enumerators) byType.set(e.type, [...(byType.get(e.type) ?? []), e]);
    const results = new Map<ComponentEnumerator, PromiseSettledResult<Component[]>>();
    await Promise.all(
      [...byType.values()].map(async (lane) => {
        for (const e of lane) {
          try {
            results.set(e, { status: 'fulfilled', value: await e.getAllComponents(signal) });
          } catch (reason) {
            results.set(e, { status: 'rejected', reason });
          }
        }
      }),
    );
    const failed = this.enumerators.filter((e) => results.get(e)!.status === 'rejected');
    if (failed.length > 0) throw this.failure(failed, results, signal);
    const merged = new Map<string, Component>();
    for (const e of this.enumerators) {
      for (const c of (results.get(e) as PromiseFulfilledResult<Component[]>).value) {
        if (merged.has(c.id)) {
          this.log.warn(
            { componentId: c.id, enumerator: e.type },
            'duplicate component id; keeping the first one found',
          );
          continue;
        }
        merged.set(c.id, c);
      }
    }
    return [...merged.values()];
  }

  /** The error of the first failed enumerator (config order), as ENUM_FAILED unless it is already ours or a cancel. */
  private failure(
    failed: ComponentEnumerator[],
    results: Map<ComponentEnumerator, PromiseSettledResult<Component[]>>,
    signal: AbortSignal | undefined,
  ): unknown {
    const reason = (e: ComponentEnumerator) => (results.get(e) as PromiseRejectedResult).reason as unknown;
    const first = failed[0]!;
    const err = reason(first);
    const others = failed.slice(1).map((e) => ({ enumerator: e.type, error: errorMessage(reason(e)) }));
    for (const o of others) this.log.error(o, 'enumerator failed');
    if (err instanceof SensorProxyError || isCancelled(err) || signal?.aborted) return err;
    return new SensorProxyError(
      'ENUM_FAILED',
      `enumerator "${first.type}" failed: ${errorMessage(err)}` +
        (others.length > 0 ? ` (also failed: ${others.map((o) => o.enumerator).join(', ')})` : ''),
      {
        details: { enumerator: first.type, ...(others.length > 0 ? { failed: others } : {}) },
        hint: 'check the bus named in the error, or remove the enumerator from the config',
        cause: err,
      },
    );
  }

  async selectComponents(selector: ComponentSelector, signal?: AbortSignal): Promise<Component[]> {
    return selectComponents(await this.getAllComponents(signal), selector);
  }

  /** Closes every enumerator, even when one fails (its error is logged). */
  async close(): Promise<void> {
    const results = await Promise.allSettled(this.enumerators.map(async (e) => e.close?.()));
    results.forEach((r, i) => {
      if (r.status === 'rejected')
        this.log.warn({ err: r.reason, enumerator: this.enumerators[i]!.type }, 'enumerator close failed');
    });
  }
}
