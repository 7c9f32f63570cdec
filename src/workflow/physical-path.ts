import type { Component } from '../model/component.js';

/**
 * The physical path a component is reached through: two components on one path must not be
 * flashed at the same time (one serial port, one USB device), except on a CAN interface, where
 * several ECUs with distinct ids share the wire up to a limit.
 */
export interface PhysicalPath {
  /** `serial:/dev/ttyUSB0`, `usb:1-1.2`, `can:vcan0`, … */
  key: string;
  /** A CAN interface carries several ECUs at once; everything else one at a time. */
  shared: boolean;
}

/**
 * `properties.physicalPath` when an enumerator set it (the builtin serial, usb and can enumerators
 * do), else derived from the bus address the handlers read (`bus` + `port` / `portPath` or
 * `serialNumber` / `interface`). Undefined when the component names no path (e.g. an inventory
 * component for a script step): the engine then runs that reference step one component at a time.
 */
export function physicalPathOf(c: Component): PhysicalPath | undefined {
  const p = c.properties ?? {};
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const explicit = str(p.physicalPath);
  if (explicit) return { key: explicit, shared: explicit.startsWith('can:') };
  switch (p.bus) {
    case 'serial': {
      const port = str(p.port);
      return port ? { key: `serial:${port}`, shared: false } : undefined;
    }
    case 'usb': {
      const where = str(p.portPath) ?? (str(p.serialNumber) && `sn:${str(p.serialNumber)}`);
      return where ? { key: `usb:${where}`, shared: false } : undefined;
    }
    case 'can': {
      const itf = str(p.interface);
      return itf ? { key: `can:${itf}`, shared: true } : undefined;
    }
    default:
      return undefined;
  }
}
