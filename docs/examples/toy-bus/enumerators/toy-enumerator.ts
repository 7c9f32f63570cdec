import type {
  Component,
  ComponentEnumerator,
  EnumeratorEnvironment,
  EnumeratorFactory,
} from '../../../../enumerators/enumerator.js';
import { SensorProxyError } from '../../../../src/model/errors.js';
import { ToyClient, type ToyBus } from '../drivers/toy-bus.js';

/** The gateway-config entry `{ "type": "toy", "group": "toys" }`: the group every toy device joins. */
export interface ToyEnumeratorSettings {
  group: string;
}

/** Checks an entry; a bad one is CONFIG_INVALID naming the field, as every enumerator does. */
export function resolveToyEnumeratorConfig(raw: Record<string, unknown>): ToyEnumeratorSettings {
  const group = raw['group'] ?? 'toys';
  if (typeof group !== 'string' || group === '')
    throw new SensorProxyError('CONFIG_INVALID', 'enumerators[type=toy].group must be a non-empty string', {
      details: { field: 'group' },
    });
  return { group };
}

/**
 * Lists the TOY/1 devices on `bus` as ADU components. An enumerator layer file: it imports drivers
 * and src/model only. What it puts in `properties` (here `address`) is what the toy handler reads
 * to find the device again; the `version` field lets `--component-version-val` style checks work.
 */
export class ToyEnumerator implements ComponentEnumerator {
  readonly type = 'toy';

  constructor(
    private readonly bus: ToyBus,
    private readonly settings: ToyEnumeratorSettings,
    private readonly env: EnumeratorEnvironment,
  ) {}

  async getAllComponents(signal?: AbortSignal): Promise<Component[]> {
    const found: Component[] = [];
    for (const address of await this.bus.scan(signal)) {
      try {
        const id = await new ToyClient(this.bus, address).identify(signal);
        found.push({
          id: `toy-${id.serial}`,
          name: `${id.model} at ${address}`,
          group: this.settings.group,
          manufacturer: 'toy',
          model: id.model,
          version: id.version,
          properties: { address, serial: id.serial },
        });
      } catch (e) {
        // One device that does not identify is left out with a warning; the others are still listed.
        this.env.log.warn({ address, err: e }, 'toy device did not identify; left out');
      }
    }
    return found;
  }
}

/** The factory the gateway's enumerator table takes (`builtinEnumerators.toy = toyEnumeratorFactory(bus)`). */
export function toyEnumeratorFactory(bus: ToyBus): EnumeratorFactory {
  return (raw, env) => new ToyEnumerator(bus, resolveToyEnumeratorConfig(raw), env);
}
