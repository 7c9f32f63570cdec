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

  async getAllComponents(signal?: AbortSignal): Promise<Component[]> {
    const merged = new Map<string, Component>();
    for (const e of this.enumerators) {
      let found: Component[];
      try {
        found = await e.getAllComponents(signal);
      } catch (err) {
        if (err instanceof SensorProxyError || isCancelled(err) || signal?.aborted) throw err;
        throw new SensorProxyError('ENUM_FAILED', `enumerator "${e.type}" failed: ${errorMessage(err)}`, {
          details: { enumerator: e.type },
          hint: 'check the bus named in the error, or remove the enumerator from the config',
          cause: err,
        });
      }
      for (const c of found) {
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
