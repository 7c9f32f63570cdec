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
 * flashed at the same time).
 */
export class SerialEnumerator implements ComponentEnumerator {
  readonly type = 'serial';

  constructor(
    private readonly cfg: SerialEnumeratorConfig,
    private readonly log: Logger,
    private readonly openLink: OpenLink = openSerialLink,
  ) {}

  async getAllComponents(signal?: AbortSignal): Promise<Component[]> {
    const candidates = await this.candidates();
    throwIfAborted(signal);
    const ids = await Promise.all(
      candidates.map((c) => identifyPort(c.port, c.rule, this.openLink, this.cfg.identifyTimeoutMs, this.log, signal)),
    );
    const componentIds = serialComponentIds(candidates);
    return candidates.map((c, i) => {
      const usb = c.tty?.usb;
      const id = componentIds[i]!;
      const { version, status, detail } = ids[i]!;
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
          ...(c.rule.protocol === 'ymodem' && c.rule.versionQueryJson ? { versionQuery: c.rule.versionQueryJson } : {}),
        },
      };
      if (version !== undefined) component.version = version;
      return component;
    });
  }

  /** Ports the rules allow, each with its first matching rule. Nothing is opened here. */
  private async candidates(): Promise<Candidate[]> {
    const ttys = await scanTtyPorts(this.cfg);
    // Path rules resolve to a tty name when the path leads to a sysfs port (e.g. a by-id link).
    const pathTargets = await Promise.all(
      this.cfg.rules.map((r) => (r.match.path ? resolvedName(r.match.path) : Promise.resolve(undefined))),
    );
    const out: Candidate[] = [];
    const taken = new Set<string>();
    for (const tty of ttys) {
      const i = this.cfg.rules.findIndex((r, k) => (r.match.path ? pathTargets[k] === tty.name : matchesUsb(r, tty)));
      if (i < 0) continue;
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
      if (taken.has(target)) continue;
      taken.add(target);
      out.push({ port: path, tty: undefined, rule });
    }
    return out;
  }
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
