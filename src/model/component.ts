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
  [extra: string]: unknown;
}

/** The ADU `{"components":[...]}` document (GetAllComponents / SelectComponents output). */
export interface ComponentsDocument {
  components: Component[];
}

/** A selector is one `compatibility` entry: name/value pairs matched against top-level string fields. */
export type ComponentSelector = Record<string, string>;
