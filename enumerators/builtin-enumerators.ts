import { resolveCanEnumeratorConfig } from './can/can-config.js';
import type { ComponentEnumerator, EnumeratorEnvironment, EnumeratorFactory } from './enumerator.js';
import { createInventoryEnumerator } from './inventory/inventory-enumerator.js';
import { resolveSerialEnumeratorConfig } from './serial/serial-config.js';
import { resolveUsbEnumeratorConfig } from './usb/usb-config.js';

/**
 * An enumerator whose module (and its bus driver: `serialport` for serial, the CAN and USB stacks)
 * is imported on the first `getAllComponents`, so only a config that uses the bus loads it (the
 * serial stack alone is about 13 MB resident). The entry is still checked at once by `validate`
 * (CONFIG_INVALID naming the field, as before).
 */
function lazyEnumerator(
  type: string,
  validate: (settings: Record<string, unknown>, baseDir: string) => unknown,
  load: () => Promise<EnumeratorFactory>,
): EnumeratorFactory {
  return (settings: Record<string, unknown>, env: EnumeratorEnvironment): ComponentEnumerator => {
    validate(settings, env.baseDir);
    let real: Promise<ComponentEnumerator> | undefined;
    const enumerator = (): Promise<ComponentEnumerator> => (real ??= load().then((factory) => factory(settings, env)));
    return {
      type,
      getAllComponents: async (signal) => (await enumerator()).getAllComponents(signal),
      close: async () => {
        if (real) await (await real).close?.();
      },
    };
  };
}

/** Enumerator factories by gateway-config `type`. Each bus issue adds its line here. */
export const builtinEnumerators: Record<string, EnumeratorFactory> = {
  can: lazyEnumerator(
    'can',
    (s) => resolveCanEnumeratorConfig(s),
    async () => (await import('./can/can-enumerator.js')).createCanEnumerator,
  ),
  inventory: createInventoryEnumerator,
  serial: lazyEnumerator(
    'serial',
    resolveSerialEnumeratorConfig,
    async () => (await import('./serial/serial-enumerator.js')).createSerialEnumerator,
  ),
  usb: lazyEnumerator(
    'usb',
    (s) => resolveUsbEnumeratorConfig(s),
    async () => (await import('./usb/usb-enumerator.js')).createUsbEnumerator,
  ),
};
