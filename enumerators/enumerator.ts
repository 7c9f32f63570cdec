import type { Component, ComponentSelector } from '../src/model/component.js';
import type { Logger } from '../src/model/logger.js';

/**
 * A component enumerator: the ADU component enumerator extension (`reference/adu-agent.md` §1)
 * as a TypeScript object. `getAllComponents` lists what is present now; selection is done once,
 * over the merged list, by {@link selectComponents} in `select.ts`.
 */
export interface ComponentEnumerator {
  /** Enumerator type as named in the gateway config (`inventory`, `serial`, `can`, `usb`). */
  readonly type: string;
  getAllComponents(signal?: AbortSignal): Promise<Component[]>;
  /** Release buses or files held open. */
  close?(): Promise<void>;
}

export interface EnumeratorEnvironment {
  log: Logger;
  /** Folder of the config file: relative paths in enumerator settings resolve against it. */
  baseDir: string;
}

/** Builds an enumerator from its gateway-config entry; validates the entry and throws CONFIG_INVALID naming the field. */
export type EnumeratorFactory = (settings: Record<string, unknown>, env: EnumeratorEnvironment) => ComponentEnumerator;

export type { Component, ComponentSelector };
