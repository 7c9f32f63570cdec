import type { Clock } from '../../drivers/can/clock.js';
import { openCanBus, type CanBusOpener } from '../../drivers/can/open-bus.js';
import { isBusError, isCancelled } from '../../drivers/shared/errors.js';
import type { Component } from '../../src/model/component.js';
import { SensorProxyError } from '../../src/model/errors.js';
import type { Logger } from '../../src/model/logger.js';
import type { ComponentEnumerator, EnumeratorFactory } from '../enumerator.js';
import {
  parseId,
  resolveCanEnumeratorConfig,
  type CanEnumeratorConfig,
  type CanInterfaceConfig,
  type CanRule,
} from './can-config.js';
import { discoverNodes, identifyNode, type CanNode } from './can-discovery.js';
import { childLog } from '../../drivers/shared/child-log.js';

const hex = (n: number) => `0x${n.toString(16).toUpperCase()}`;

function glob(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(value);
}

/** True when every field of `rule.match` matches the node (ids numerically, strings with `*`). */
export function ruleMatches(rule: CanRule, node: CanNode): boolean {
  for (const [k, want] of Object.entries(rule.match)) {
    if (k === 'txId' || k === 'rxId') {
      if (parseId(want, `match.${k}`) !== node[k]) return false;
      continue;
    }
    const have = (node as unknown as Record<string, unknown>)[k];
    if (typeof have !== 'string' || !glob(want, have)) return false;
  }
  return true;
}

function fill(template: string, node: CanNode): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => {
    const v = (node as unknown as Record<string, unknown>)[k];
    return typeof v === 'number' ? hex(v) : typeof v === 'string' ? v : '';
  });
}

/** Maps a node through the rules into an ADU component (undefined: no rule and includeUnmatched off). */
export function nodeToComponent(node: CanNode, cfg: CanEnumeratorConfig): Component | undefined {
  const rule =
    cfg.rules.find((r) => ruleMatches(r, node)) ??
    (cfg.includeUnmatched ? { match: {}, component: { group: 'can' }, properties: {} } : undefined);
  if (!rule) return undefined;
  const id = node.serial ?? `can:${node.interface}:${hex(node.txId)}`;
  const c: Component = {
    id,
    name: rule.component.name ? fill(rule.component.name, node) : id,
    group: rule.component.group,
    manufacturer: rule.component.manufacturer ? fill(rule.component.manufacturer, node) : 'unknown',
    model: rule.component.model ? fill(rule.component.model, node) : (node.hardware ?? 'unknown'),
    properties: {
      ...rule.properties,
      bus: 'can',
      physicalPath: `can:${node.interface}`,
      interface: node.interface,
      txId: hex(node.txId),
      rxId: hex(node.rxId),
      serial: node.serial,
      version: node.version,
      hardware: node.hardware,
      systemName: node.systemName,
    },
  };
  if (node.version !== null) c.version = node.version;
  return c;
}

/**
 * CAN component enumerator (`"type": "can"`, config shape in `can-config.ts`):
 *
 *   per interface: functional 3E 00 ─┐
 *                  physical probes ──┴─▶ nodes ─▶ 22 F18C/F189/F191/F197 ─▶ first matching rule ─▶ component
 *
 * Components carry `properties: { bus: "can", physicalPath: "can:<interface>", interface, txId, rxId, serial, version, hardware,
 * systemName, …rule.properties }`, which is what `sensor-proxy/uds:1` reads. Top-level `status`:
 * `present`, or `unreachable` for a configured `physical` ECU that does not answer (listed, with
 * `properties.statusDetail` and `remedy`, so a deployment for it fails instead of matching nothing).
 */
export class CanEnumerator implements ComponentEnumerator {
  readonly type = 'can';

  constructor(
    private readonly cfg: CanEnumeratorConfig,
    private readonly log: Logger,
    private readonly openBus: CanBusOpener = openCanBus,
    private readonly clock?: Clock,
  ) {}

  /** Interfaces are probed concurrently (each is its own bus); results in config order, the first failure in config order thrown. */
  async getAllComponents(signal?: AbortSignal): Promise<Component[]> {
    const results = await Promise.allSettled(this.cfg.interfaces.map((itf) => this.enumerateInterface(itf, signal)));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return results.flatMap((r) => (r as PromiseFulfilledResult<Component[]>).value);
  }

  private async enumerateInterface(itf: CanInterfaceConfig, signal?: AbortSignal): Promise<Component[]> {
    const out: Component[] = [];
    let bus;
    try {
      bus = await this.openBus(itf.interface, { log: childLog(this.log, { iface: itf.interface }) });
    } catch (e) {
      throw new SensorProxyError(
        'ENUM_FAILED',
        `can enumerator: cannot open ${itf.interface}: ${(e as Error).message}`,
        { details: { iface: itf.interface, code: isBusError(e) ? e.code : undefined }, cause: e },
      );
    }
    try {
      const nodes = await discoverNodes(bus, itf, this.log, signal, this.clock);
      const declared = (ids: { rxId: number }) => itf.physical.some((p) => p.rxId === ids.rxId);
      for (const ids of nodes) {
        let node: CanNode;
        try {
          node = await identifyNode(bus, itf, ids, this.log, signal, this.clock);
        } catch (e) {
          if (isCancelled(e)) throw e;
          const detail = `answered TesterPresent but not the identification reads (${isBusError(e) ? e.code : String(e)})`;
          if (declared(ids)) {
            out.push(this.unreachable(itf, ids, detail));
            continue;
          }
          this.log.warn(
            { err: e, iface: itf.interface, txId: ids.txId },
            'CAN node did not answer identification; skipped',
          );
          continue;
        }
        const c = nodeToComponent(node, this.cfg);
        if (c) out.push({ ...c, status: 'present' });
        else this.log.info({ node }, 'CAN node matches no rule; skipped');
      }
      // A configured ECU (a `physical` pair) that stays silent is listed, not dropped (issue 13 item 2).
      for (const p of itf.physical)
        if (!nodes.some((n) => n.rxId === p.rxId))
          out.push(this.unreachable(itf, p, 'did not answer TesterPresent (3E 00)'));
    } finally {
      await bus.close();
    }
    return out;
  }

  private unreachable(itf: CanInterfaceConfig, ids: { txId: number; rxId: number }, detail: string): Component {
    const c = unreachableComponent(itf, ids, this.cfg, detail);
    this.log.warn({ componentId: c.id, iface: itf.interface, txId: ids.txId }, `configured CAN ECU ${detail}`);
    return c;
  }
}

/**
 * A configured ECU that cannot be talked to: status `unreachable`, mapped through the rules that
 * need no identity (match on `interface`, `txId`, `rxId` only), else listed in group `can`.
 */
function unreachableComponent(
  itf: CanInterfaceConfig,
  ids: { txId: number; rxId: number },
  cfg: CanEnumeratorConfig,
  detail: string,
): Component {
  const node: CanNode = {
    interface: itf.interface,
    ...ids,
    serial: null,
    version: null,
    hardware: null,
    systemName: null,
  };
  const c = nodeToComponent(node, { ...cfg, includeUnmatched: true })!;
  c.status = 'unreachable';
  c.properties.statusDetail = `ECU ${hex(ids.txId)}/${hex(ids.rxId)} on ${itf.interface} ${detail}`;
  c.properties.remedy =
    `check the ECU's power and wiring, that ${itf.interface} is up at the ECU's bitrate ` +
    `(ip -details link show ${itf.interface}) and the txId/rxId configured for it`;
  return c;
}

/** Registry entry for `"type": "can"`. */
export const createCanEnumerator: EnumeratorFactory = (settings, env) =>
  new CanEnumerator(resolveCanEnumeratorConfig(settings), childLog(env.log, { component: 'enum.can' }));
