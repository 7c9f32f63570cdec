/**
 * Assembles a {@link HubAgent} from the gateway config: the real SDK link, the gateway's
 * enumerators and handlers, the trusted root keys. Used by `sensor-proxy agent` and by the demo
 * and tests that run the agent in-process.
 */
import type { ComponentInventory } from '../../enumerators/component-inventory.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import type { EventSink } from '../model/events.js';
import type { Logger } from '../model/logger.js';
import type { DeviceInfo } from './agent-reports.js';
import { resolveHubConfig, type HubConfig } from './hub-config.js';
import { HubAgent, type HubAgentOptions } from './hub-agent.js';
import type { HubLink } from './hub-link.js';
import { SdkTwinLink } from './twin-link.js';

/** sensor-proxy's version in `aduVer` (`DU;agent/<ver>` in the ADU agent, §6.4). */
export const AGENT_VERSION = '0.1.0';

export interface CreateAgentOptions {
  config: GatewayConfig;
  inventory: ComponentInventory;
  handlers: HandlerRegistry;
  log: Logger;
  emit?: EventSink;
  /** Replaces the SDK link (tests of the agent logic). */
  link?: HubLink;
  /** See {@link HubAgentOptions.onRestartRequested}. */
  onRestartRequested?: HubAgentOptions['onRestartRequested'];
}

export function deviceInfoOf(hub: HubConfig): DeviceInfo {
  return {
    manufacturer: hub.manufacturer,
    model: hub.model,
    additional: hub.additionalDeviceProperties,
    compatPropertyNames: hub.compatPropertyNames,
    aduVer: `DU;sensor-proxy/${AGENT_VERSION}`,
  };
}

/**
 * @throws SensorProxyError `CONFIG_INVALID` when the config has no valid `hub` section.
 */
export function createHubAgent(o: CreateAgentOptions): { agent: HubAgent; hub: HubConfig } {
  const hub = resolveHubConfig(o.config.hub, o.config.baseDir);
  const link = o.link ?? new SdkTwinLink({ hub, log: o.log, productInfo: `sensor-proxy/${AGENT_VERSION}` });
  const agent = new HubAgent({
    link,
    device: deviceInfoOf(hub),
    log: o.log,
    ...(o.emit && { emit: o.emit }),
    ...(o.onRestartRequested && { onRestartRequested: o.onRestartRequested }),
    deployment: {
      inventory: o.inventory,
      referenceStepsOnHost: o.config.referenceStepsOnHost,
      handlers: o.handlers,
      stateDir: o.config.stateDir,
      workDir: o.config.workDir,
      parallel: o.config.parallel,
      hub: { download: hub.download },
      trust: { rootKeys: hub.rootKeys },
      productionAnchors: hub.rootKeysBuiltIn,
    },
  });
  return { agent, hub };
}
