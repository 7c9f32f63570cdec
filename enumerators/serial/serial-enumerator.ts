import { realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { openSerialLink } from '../../drivers/serial/serialport-link.js';
import { throwIfAborted } from '../../drivers/shared/errors.js';
import type { Component } from '../../src/model/component.js';
import type { Logger } from '../../src/model/logger.js';
import type { ComponentEnumerator, EnumeratorEnvironment, EnumeratorFactory } from '../enumerator.js';
import { identifyPort, type OpenLink } from './identify.js';
import { resolveSerialEnumeratorConfig, type SerialEnumeratorConfig, type SerialRule } from './serial-config.js';
import { scanTtyPorts, type TtyPort } from './sysfs-tty.js';
import { serialComponentIds } from './component-id.js';
import { childLog } from '../../drivers/shared/child-log.js';

/** A port the config allows, before identification. */
interface Candidate {
  port: string;
  tty: TtyPort | undefined;
  rule: SerialRule;
}

/**
 * Serial component enumerator (`"type": "serial"`, config in serial-config.ts):
 *
 * ```
 * sysfs /class/tty/* (read-only) ─┐
 * /dev/serial/by-id links ────────┼─▶ first matching rule ─▶ open ONLY those ports ─▶ version
 * explicit `path` rules (ptys) ───┘     (consoles refused)     (ymodem query / smp image state)
 * ```
 *
 * Each allowed port becomes an ADU component: `{ id, name, group, manufacturer, model, version?,
 * properties: { bus: "serial", port, physicalPath, baudRate, protocol, vid, pid, serialNumber, version, status,
 * assertControlLines, versionQuery? } }`. `port` is the by-id link when udev made one (stable
 * across re-plugging), else the device path; `id` is stable across re-plugging: the USB serial
 * number, else where the device is plugged in (by-path name or sysfs location), else the configured
 * path (ptys, platform UARTs); see component-id.ts.
 * `physicalPath` (`serial:<device path>`) tells the engine which components share a port (never
 * flashed at the same time). Top-level `status`: `present`, `unreachable` when the port will not
 * open (`properties.remedy` says why), `absent` for a non-optional rule no port matches.
 */
export class SerialEnumerator implements ComponentEnumerator {
  readonly type = 'serial';

  constructor(
    private readonly cfg: SerialEnumeratorConfig,
    private readonly log: Logger,
    private readonly openLink: OpenLink = openSerialLink,
  ) {}

  async getAllComponents(signal?: AbortSignal): Promise<Component[]> {
    const { candidates, unmatched } = await this.candidates();
    throwIfAborted(signal);
    const ids = await Promise.all(
      candidates.map((c) => identifyPort(c.port, c.rule, this.openLink, this.cfg.identifyTimeoutMs, this.log, signal)),
    );
    const componentIds = serialComponentIds(candidates);
    const components = candidates.map((c, i): Component => {
      const usb = c.tty?.usb;
      const id = componentIds[i]!;
      const { version, status, detail, hint } = ids[i]!;
      const unreachable = status === 'open-failed';
      const component: Component = {
        id,
        name: c.rule.component.name ?? id,
        group: c.rule.component.group,
        manufacturer: c.rule.component.manufacturer ?? usb?.manufacturer ?? 'unknown',
        model: c.rule.component.model ?? usb?.product ?? 'unknown',
        properties: {
          bus: 'serial',
          port: c.port,
          physicalPath: `serial:${c.tty?.devPath ?? c.port}`,
          baudRate: c.rule.baudRate,
          protocol: c.rule.protocol,
          vid: usb?.vid ?? null,
          pid: usb?.pid ?? null,
          serialNumber: usb?.serialNumber ?? null,
          version: version ?? null,
          status,
          assertControlLines: c.rule.assertControlLines,
          ...(detail ? { statusDetail: detail } : {}),
          ...(unreachable && {
            remedy: `${hint ?? 'check the port'}; "sensor-proxy doctor" checks access to every configured port`,
          }),
          ...(c.rule.protocol === 'ymodem' && c.rule.versionQueryJson ? { versionQuery: c.rule.versionQueryJson } : {}),
        },
        // A port that answers nothing may still be flashable (a bootloader without a version query): present.
        status: unreachable ? 'unreachable' : 'present',
      };
      if (version !== undefined) component.version = version;
      return component;
    });
    const taken = new Set(componentIds);
    for (const k of unmatched) {
      const absent = absentComponent(this.cfg.rules[k]!, k);
      if (taken.has(absent.id)) absent.id = `${absent.id}#${k}`;
      taken.add(absent.id);
      this.log.warn({ componentId: absent.id, rule: k }, 'serial enumerator: declared sensor is absent');
      components.push(absent);
    }
    return components;
  }

  /**
   * Ports the rules allow, each with its first matching rule, and the indexes of the non-optional
   * rules no port matched (declared sensors that are absent). Nothing is opened here.
   */
  private async candidates(): Promise<{ candidates: Candidate[]; unmatched: number[] }> {
    const ttys = await scanTtyPorts(this.cfg);
    // Path rules resolve to a tty name when the path leads to a sysfs port (e.g. a by-id link).
    const pathTargets = await Promise.all(
      this.cfg.rules.map((r) => (r.match.path ? resolvedName(r.match.path) : Promise.resolve(undefined))),
    );
    const out: Candidate[] = [];
    const taken = new Set<string>();
    const matched = new Set<number>();
    for (const tty of ttys) {
      const i = this.cfg.rules.findIndex((r, k) => (r.match.path ? pathTargets[k] === tty.name : matchesUsb(r, tty)));
      if (i < 0) continue;
      matched.add(i);
      const rule = this.cfg.rules[i]!;
      if (tty.console) {
        this.log.warn({ tty: tty.name, rule: i }, 'serial enumerator: port carries the kernel console; never opened');
        continue;
      }
      taken.add(tty.name);
      out.push({ port: rule.match.path ?? tty.byId ?? tty.devPath, tty, rule });
    }
    for (const [k, rule] of this.cfg.rules.entries()) {
      const path = rule.match.path;
      if (!path) continue;
      const target = pathTargets[k];
      if (target !== undefined && ttys.some((t) => t.name === target)) continue; // handled above (matched, or console)
      if (target === undefined) {
        this.log.info({ path, rule: k }, 'serial enumerator: configured path not present');
        continue;
      }
      matched.add(k);
      if (taken.has(target)) continue;
      taken.add(target);
      out.push({ port: path, tty: undefined, rule });
    }
    const unmatched = this.cfg.rules.flatMap((r, k) => (matched.has(k) || r.optional ? [] : [k]));
    return { candidates: out, unmatched };
  }
}

/**
 * A declared sensor no port matches: listed with status `absent` so a deployment for its group
 * fails naming it. Its id is the rule's `path`, else `serial:<vid>:<pid>` of the adapter it expects.
 */
function absentComponent(rule: SerialRule, index: number): Component {
  const m = rule.match;
  const usb = `${m.vid ?? 'any'}:${m.pid ?? 'any'}`;
  const id = m.path ?? `serial:${usb}`;
  const wanted = m.path
    ? `${m.path} does not exist`
    : `no USB serial adapter ${usb}${m.serialPattern ? ` with a serial number matching /${m.serialPattern.source}/` : ''} is attached`;
  const remedy = m.path
    ? `check that the sensor is plugged in and powered and that rules[${index}].match.path in the gateway config names it (ls -l ${m.path})`
    : `plug in the sensor's USB serial adapter (lsusb${m.vid && m.pid ? ` -d ${m.vid}:${m.pid}` : ''} lists it) or fix rules[${index}].match; set "optional": true if it may be missing`;
  return {
    id,
    name: rule.component.name ?? id,
    group: rule.component.group,
    manufacturer: rule.component.manufacturer ?? 'unknown',
    model: rule.component.model ?? 'unknown',
    status: 'absent',
    properties: {
      bus: 'serial',
      port: m.path ?? null,
      physicalPath: `serial:${m.path ?? usb}`,
      baudRate: rule.baudRate,
      protocol: rule.protocol,
      vid: m.vid ?? null,
      pid: m.pid ?? null,
      serialNumber: null,
      version: null,
      status: 'absent',
      statusDetail: wanted,
      remedy,
      assertControlLines: rule.assertControlLines,
    },
  };
}

function matchesUsb(rule: SerialRule, tty: TtyPort): boolean {
  const m = rule.match;
  const usb = tty.usb;
  if (!usb) return false;
  if (m.vid !== undefined && m.vid !== usb.vid) return false;
  if (m.pid !== undefined && m.pid !== usb.pid) return false;
  if (m.serialPattern && (usb.serialNumber === undefined || !m.serialPattern.test(usb.serialNumber))) return false;
  return true;
}

/** Basename of the real device behind `path`, or undefined when nothing is there. */
async function resolvedName(path: string): Promise<string | undefined> {
  try {
    await stat(path);
    return basename(await realpath(path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Builds the enumerator with an injected link opener (tests, other backends). */
export function createSerialEnumeratorWith(
  settings: Record<string, unknown>,
  env: EnumeratorEnvironment,
  openLink?: OpenLink,
): SerialEnumerator {
  return new SerialEnumerator(
    resolveSerialEnumeratorConfig(settings, env.baseDir),
    childLog(env.log, { component: 'enum.serial' }),
    openLink,
  );
}

/** Factory for `builtin-enumerators.ts`: `{ "type": "serial", ... }`. Throws CONFIG_INVALID naming the field. */
export const createSerialEnumerator: EnumeratorFactory = (settings, env) => createSerialEnumeratorWith(settings, env);
