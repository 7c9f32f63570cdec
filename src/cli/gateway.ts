import { dirname, resolve } from 'node:path';
import { ComponentInventory } from '../../enumerators/component-inventory.js';
import { builtinEnumerators } from '../../enumerators/builtin-enumerators.js';
import type { ComponentEnumerator } from '../../enumerators/enumerator.js';
import { createInventoryEnumerator } from '../../enumerators/inventory/inventory-enumerator.js';
import { defaultConfig, loadGatewayConfig, type GatewayConfig } from '../config/gateway-config.js';
import { builtinHandlers } from '../handlers/builtin-handlers.js';
import { HandlerRegistry } from '../handlers/registry.js';
import { SensorProxyError } from '../model/errors.js';
import type { Logger } from '../model/logger.js';
import type { LogFileSettings } from './log-file.js';
import { childLog } from '../../drivers/shared/child-log.js';

export interface Gateway {
  config: GatewayConfig;
  inventory: ComponentInventory;
  handlers: HandlerRegistry;
}

/** Loads the config (or defaults) and builds the enumerators and the handler registry from it. */
export async function loadConfig(configPath: string | undefined): Promise<GatewayConfig> {
  return configPath ? loadGatewayConfig(configPath) : defaultConfig();
}

export function buildGateway(config: GatewayConfig, log: Logger, extraInventories: string[] = []): Gateway {
  const enumerators: ComponentEnumerator[] = config.enumerators.map((entry) => {
    const factory = builtinEnumerators[entry.type];
    if (!factory) {
      throw new SensorProxyError('ENUM_UNKNOWN_TYPE', `unknown enumerator type "${entry.type}" in the config`, {
        hint: `use one of: ${Object.keys(builtinEnumerators).join(', ')}`,
      });
    }
    return factory(entry, { log: childLog(log, { component: `enum.${entry.type}` }), baseDir: config.baseDir });
  });
  for (const file of extraInventories) {
    const abs = resolve(file);
    enumerators.push(createInventoryEnumerator({ files: [abs] }, { log, baseDir: dirname(abs) }));
  }
  const handlers = new HandlerRegistry((id) => ({
    log: childLog(log, { component: 'handler', handler: id }),
    config: config.handlers[id] ?? {},
    stateDir: config.stateDir,
  }));
  for (const [id, factory] of Object.entries(builtinHandlers)) handlers.register(id, factory);
  for (const id of Object.keys(config.handlers)) {
    // Not an error: an embedder may register its own handler after this. But a typo must be visible.
    if (!handlers.has(id))
      log.warn(
        { handler: id, known: handlers.ids() },
        `config "handlers" names "${id}", which is not a built-in handler; its settings apply only if that handler is registered`,
      );
  }
  return { config, inventory: new ComponentInventory(enumerators, childLog(log, { component: 'enum' })), handlers };
}

/** The config's log file for `flash` and `agent`, or undefined when `logFile` is off. */
export function logFileOf(config: GatewayConfig): LogFileSettings | undefined {
  return config.logFile ? { path: config.logFile, maxBytes: config.logFileMaxBytes } : undefined;
}
