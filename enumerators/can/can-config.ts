import { SensorProxyError } from '../../src/model/errors.js';

/**
 * Gateway-config entry of the CAN enumerator (`"type": "can"`). Exact shape (ids and addresses are
 * numbers or hex strings; every field but `interfaces` and `rules` is optional):
 *
 * ```json
 * {
 *   "type": "can",
 *   "interfaces": [{
 *     "interface": "can0",                   // or "vcan0", or "mem:<name>" (in-process memory bus)
 *     "functional": true,                    // send 3E 00 on functionalId, collect responders (default true)
 *     "functionalId": "0x7DF",               // default 0x7DF
 *     "responseIds": ["0x7E8", "0x7EF"],     // [first, last] response ids that count as UDS nodes (default 0x7E8-0x7EF)
 *     "responseOffset": 8,                   // request id = response id − offset (ISO 15765-4; default 8)
 *     "physical": [{ "txId": "0x7E0", "rxId": "0x7E8" }],   // pairs probed with TesterPresent one by one
 *     "probeIntervalMs": 50,                 // pause between physical probes and between nodes (rate limit, default 50)
 *     "responseTimeoutMs": 250,              // responders window / per-request P2 (default 250)
 *     "isotp": { "padding": 204, "txDataLength": 8 }          // ISO-TP options for identification (optional)
 *   }],
 *   "rules": [{
 *     "match": { "systemName": "brake*", "interface": "can0", "rxId": "0x7E8", "hardware": "HW-*", "serial": "*", "version": "*" },
 *     "component": { "group": "brakes", "name": "brake-{serial}", "manufacturer": "contoso", "model": "{hardware}" },
 *     "properties": { "memoryAddress": "0x08000000" }        // copied into component.properties (handler settings)
 *   }],
 *   "includeUnmatched": false                // nodes no rule matches: skipped (default) or listed with group "can"
 * }
 * ```
 * `match` strings support `*` wildcards; ids compare as numbers. The first matching rule wins.
 * Templates in `component` fields: {serial} {version} {hardware} {systemName} {interface} {txId} {rxId}.
 */
export interface CanInterfaceConfig {
  interface: string;
  functional: boolean;
  functionalId: number;
  responseIds: [number, number];
  responseOffset: number;
  physical: { txId: number; rxId: number }[];
  probeIntervalMs: number;
  responseTimeoutMs: number;
  isotp: { padding?: number | false; txDataLength?: number };
}

export interface CanRule {
  match: Record<string, string>;
  component: { group: string; name?: string; manufacturer?: string; model?: string };
  properties: Record<string, unknown>;
}

export interface CanEnumeratorConfig {
  interfaces: CanInterfaceConfig[];
  rules: CanRule[];
  includeUnmatched: boolean;
}

function fail(field: string, msg: string): never {
  throw new SensorProxyError('CONFIG_INVALID', `can enumerator: ${field} ${msg}`, { details: { field } });
}

/** Number or hex/decimal string → integer; throws CONFIG_INVALID naming `field`. */
export function parseId(v: unknown, field: string): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(v.trim())) return Number(v.trim());
  return fail(field, 'must be an integer or a hex string like "0x7E0"');
}

function obj(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(field, 'must be an object');
  return v as Record<string, unknown>;
}

function num(v: unknown, def: number, field: string): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(field, 'must be a non-negative number');
  return v as number;
}

/** Validates a `"type": "can"` entry. @throws SensorProxyError CONFIG_INVALID naming the field. */
export function resolveCanEnumeratorConfig(raw: Record<string, unknown>): CanEnumeratorConfig {
  if (!Array.isArray(raw['interfaces']) || raw['interfaces'].length === 0)
    fail('interfaces', 'must be a non-empty array');
  const interfaces = (raw['interfaces'] as unknown[]).map((it, i): CanInterfaceConfig => {
    const f = `interfaces[${i}]`;
    const o = obj(it, f);
    if (typeof o['interface'] !== 'string' || o['interface'].length === 0)
      fail(`${f}.interface`, 'must name a CAN interface');
    const range = o['responseIds'] === undefined ? [0x7e8, 0x7ef] : o['responseIds'];
    if (!Array.isArray(range) || range.length !== 2) fail(`${f}.responseIds`, 'must be [first, last]');
    const physical = o['physical'] === undefined ? [] : o['physical'];
    if (!Array.isArray(physical)) fail(`${f}.physical`, 'must be an array of { txId, rxId }');
    const isotp = o['isotp'] === undefined ? {} : obj(o['isotp'], `${f}.isotp`);
    return {
      interface: o['interface'] as string,
      functional: o['functional'] === undefined ? true : o['functional'] === true,
      functionalId: o['functionalId'] === undefined ? 0x7df : parseId(o['functionalId'], `${f}.functionalId`),
      responseIds: [parseId(range[0], `${f}.responseIds[0]`), parseId(range[1], `${f}.responseIds[1]`)],
      responseOffset: num(o['responseOffset'], 8, `${f}.responseOffset`),
      physical: (physical as unknown[]).map((p, j) => {
        const po = obj(p, `${f}.physical[${j}]`);
        return {
          txId: parseId(po['txId'], `${f}.physical[${j}].txId`),
          rxId: parseId(po['rxId'], `${f}.physical[${j}].rxId`),
        };
      }),
      probeIntervalMs: num(o['probeIntervalMs'], 50, `${f}.probeIntervalMs`),
      responseTimeoutMs: num(o['responseTimeoutMs'], 250, `${f}.responseTimeoutMs`),
      isotp: {
        ...(isotp['padding'] !== undefined
          ? { padding: isotp['padding'] === false ? false : parseId(isotp['padding'], `${f}.isotp.padding`) }
          : {}),
        ...(isotp['txDataLength'] !== undefined
          ? { txDataLength: parseId(isotp['txDataLength'], `${f}.isotp.txDataLength`) }
          : {}),
      },
    };
  });
  if (!Array.isArray(raw['rules'])) fail('rules', 'must be an array');
  const rules = (raw['rules'] as unknown[]).map((r, i): CanRule => {
    const o = obj(r, `rules[${i}]`);
    const match = o['match'] === undefined ? {} : obj(o['match'], `rules[${i}].match`);
    const component = obj(o['component'], `rules[${i}].component`);
    if (typeof component['group'] !== 'string') fail(`rules[${i}].component.group`, 'must be a string');
    const str = (k: string) => (typeof component[k] === 'string' ? { [k]: component[k] as string } : {});
    return {
      match: Object.fromEntries(Object.entries(match).map(([k, v]) => [k, String(v)])),
      component: { group: component['group'] as string, ...str('name'), ...str('manufacturer'), ...str('model') },
      properties: o['properties'] === undefined ? {} : obj(o['properties'], `rules[${i}].properties`),
    };
  });
  return { interfaces, rules, includeUnmatched: raw['includeUnmatched'] === true };
}
