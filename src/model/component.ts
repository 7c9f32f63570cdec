/**
 * A component in the ADU shape (`reference/adu-agent.md` §1.3): what an enumerator reports and what a
 * child update's `compatibility` selects. `properties` is free-form; bus enumerators put the bus
 * address there (port, interface, CAN ids, USB serial) so the handler can reach the device.
 * Extra top-level string fields (e.g. `version`) are allowed, as the Contoso enumerator does.
 */
export interface Component {
  id: string;
  name: string;
  group: string;
  manufacturer: string;
  model: string;
  properties: Record<string, unknown>;
  /** Top-level version, as the Contoso enumerator copies it (read by `--component-version-val`). */
  version?: string;
  /**
   * Whether a sensor the gateway config declares can be reached now (absent from a static
   * inventory: `present`). Bus enumerators list a declared sensor that is missing with `absent` or
   * `unreachable` instead of leaving it out, the way ADU's Contoso enumerator keeps an unplugged
   * device (with `properties.status: "unknown"`): a deployment for it then fails naming it, never
   * "no matching components". They put what they saw in `properties.statusDetail` and what to check
   * in `properties.remedy`.
   */
  status?: ComponentStatus;
  [extra: string]: unknown;
}

/**
 * `present`: found on its bus. `absent`: declared in the config, not attached (serial path missing,
 * USB VID:PID not enumerated). `unreachable`: attached or expected on a working bus but it cannot be
 * talked to (port will not open, ECU silent, USB device cannot be opened).
 */
export type ComponentStatus = 'present' | 'absent' | 'unreachable';

/** The component's status; a component without one (static inventory) is present. */
export function componentStatus(c: Component): ComponentStatus {
  return c.status === 'absent' || c.status === 'unreachable' ? c.status : 'present';
}

/** What to check for a component that is not present (`properties.remedy`), or undefined. */
export function componentRemedy(c: Component): string | undefined {
  const r = c.properties.remedy;
  return typeof r === 'string' && r !== '' ? r : undefined;
}

/** The ADU `{"components":[...]}` document (GetAllComponents / SelectComponents output). */
export interface ComponentsDocument {
  components: Component[];
}

/** A selector is one `compatibility` entry: name/value pairs matched against top-level string fields. */
export type ComponentSelector = Record<string, string>;
