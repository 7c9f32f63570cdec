import { formatBcd } from '../../drivers/usb/descriptors.js';
import { DfuHost } from '../../drivers/usb/dfu/dfu-host.js';
import { isDfuse } from '../../drivers/usb/dfu/functional-descriptor.js';
import { openUsbBackend } from '../../drivers/usb/open-backend.js';
import type { UsbBackend, UsbDevice } from '../../drivers/usb/usb-device.js';
import { isBusError, throwIfAborted } from '../../drivers/shared/errors.js';
import type { Component, ComponentEnumerator, EnumeratorFactory } from '../enumerator.js';
import type { Logger } from '../../src/model/logger.js';
import { resolveUsbEnumeratorConfig, type UsbEnumeratorConfig, type UsbRule } from './usb-config.js';
import { childLog } from '../../drivers/shared/child-log.js';

const hex = (v: number) => v.toString(16).padStart(4, '0');

/** A matching device with what its descriptors say (mode from its DFU interfaces). */
interface Seen {
  device: UsbDevice;
  rule: UsbRule;
  mode: 'runtime' | 'dfu' | 'none' | 'unknown';
  dfuInterfaces: Record<string, unknown>[];
}

function ruleFor(d: UsbDevice, rules: readonly UsbRule[]): UsbRule | undefined {
  const i = d.info;
  return rules.find((r) => {
    const m = r.match;
    if (m.vid !== i.vendorId) return false;
    if ((m.pid !== undefined || m.dfuPid !== undefined) && i.productId !== m.pid && i.productId !== m.dfuPid)
      return false;
    if (m.serialPattern && !m.serialPattern.test(i.serialNumber ?? '')) return false;
    return true;
  });
}

/**
 * The `usb` enumerator: lists USB devices through the configured backend, keeps those a rule
 * matches, reads their DFU interfaces (run-time fe/01/01 or DFU mode fe/01/02, functional
 * descriptor, alt names) and maps them to ADU components. The run-time and DFU-mode appearances
 * of one device (same serial number, else same port) become one component; run-time wins for
 * `version` (bcdDevice as `M.mm`), a device only in DFU mode has no version.
 *
 * Component properties (read by `sensor-proxy/dfu:1`): `bus: "usb"`, `physicalPath` (`usb:<bus>-<ports>`,
 * one device flashed at a time), `vid`, `pid` (run-time IDs
 * when known), `dfuPid`, `serialNumber`, `portPath`, `bcdDevice`, `dfuMode`
 * (`runtime` | `dfu` | `none` | `unknown` when the device could not be opened), `product`,
 * `manufacturerString`, `dfuInterfaces` (`[{ interface, alt, mode, transferSize, canDownload,
 * canUpload, manifestationTolerant, willDetach, dfuse }]`). Top-level `status`: `present`;
 * `unreachable` when the device could not be opened; `absent` for a non-optional rule no device matches.
 */
export class UsbEnumerator implements ComponentEnumerator {
  readonly type = 'usb';
  private readonly log: Logger;

  constructor(
    private readonly cfg: UsbEnumeratorConfig,
    log: Logger,
    private readonly backend: UsbBackend = openUsbBackend(cfg.backend, cfg.memoryBus, log),
  ) {
    this.log = childLog(log, { component: 'enum.usb' });
  }

  async getAllComponents(signal?: AbortSignal): Promise<Component[]> {
    // Each device is its own physical path: their DFU descriptors are read concurrently, listed in bus order.
    const matched = (await this.backend.list()).flatMap((device) => {
      const rule = ruleFor(device, this.cfg.rules);
      return rule ? [{ device, rule }] : [];
    });
    throwIfAborted(signal);
    const seen: Seen[] = await Promise.all(matched.map(async (m) => ({ ...m, ...(await this.describe(m.device)) })));
    throwIfAborted(signal);
    const byKey = new Map<string, Seen[]>();
    for (const s of seen) {
      const key = s.device.info.serialNumber ? `sn:${s.device.info.serialNumber}` : `port:${s.device.info.portPath}`;
      byKey.set(key, [...(byKey.get(key) ?? []), s]);
    }
    const components = [...byKey.values()].map((group) => this.component(group));
    const ids = new Set(components.map((c) => c.id));
    this.cfg.rules.forEach((rule, k) => {
      if (rule.optional || seen.some((s) => s.rule === rule)) return;
      const absent = absentComponent(rule, k);
      if (ids.has(absent.id)) absent.id = `${absent.id}#${k}`;
      ids.add(absent.id);
      this.log.warn({ componentId: absent.id, rule: k }, 'usb enumerator: declared sensor is absent');
      components.push(absent);
    });
    return components;
  }

  private async describe(device: UsbDevice): Promise<Pick<Seen, 'mode' | 'dfuInterfaces'>> {
    try {
      const probe = await DfuHost.probe(device, this.cfg.probeTimeoutMs);
      const dfuInterfaces: Record<string, unknown>[] = [];
      for (const i of probe.interfaces) {
        const f = i.functional;
        dfuInterfaces.push({
          interface: i.interfaceNumber,
          alt: i.alternateSetting,
          mode: i.mode,
          transferSize: f?.transferSize,
          canDownload: f?.canDownload,
          canUpload: f?.canUpload,
          manifestationTolerant: f?.manifestationTolerant,
          willDetach: f?.willDetach,
          dfuse: isDfuse(f),
        });
      }
      return { mode: probe.mode, dfuInterfaces };
    } catch (e) {
      if (!(isBusError(e) && e.code.startsWith('USB_'))) throw e;
      this.log.warn(
        { err: e, serialNumber: device.info.serialNumber, portPath: device.info.portPath },
        'cannot read the DFU interfaces (permissions: udev uaccess rule?)',
      );
      return { mode: 'unknown', dfuInterfaces: [] };
    } finally {
      await device.close().catch((e: unknown) => this.log.debug({ err: e }, 'closing a probed device failed'));
    }
  }

  private component(group: Seen[]): Component {
    const main = group.find((s) => s.mode === 'runtime') ?? group.find((s) => s.mode !== 'dfu') ?? group[0]!;
    const dfu = group.find((s) => s.mode === 'dfu');
    const i = main.device.info;
    const rule = main.rule;
    const runtimePid = main.mode === 'dfu' ? (rule.match.pid ?? i.productId) : i.productId;
    const id = `usb:${hex(i.vendorId)}:${i.serialNumber ?? i.portPath}`;
    const c: Component = {
      id,
      name: rule.component.name ?? i.serialNumber ?? `${hex(i.vendorId)}:${hex(runtimePid)}@${i.portPath}`,
      group: rule.component.group,
      manufacturer: rule.component.manufacturer ?? i.manufacturer ?? hex(i.vendorId),
      model: rule.component.model ?? i.product ?? hex(runtimePid),
      properties: {
        bus: 'usb',
        physicalPath: `usb:${i.portPath}`,
        vid: i.vendorId,
        pid: runtimePid,
        dfuPid: dfu?.device.info.productId ?? rule.match.dfuPid,
        serialNumber: i.serialNumber,
        portPath: i.portPath,
        bcdDevice: i.bcdDevice,
        dfuMode: main.mode,
        product: i.product,
        manufacturerString: i.manufacturer,
        dfuInterfaces: [...main.dfuInterfaces, ...(dfu && dfu !== main ? dfu.dfuInterfaces : [])],
      },
    };
    if (main.mode !== 'dfu') c.version = formatBcd(i.bcdDevice);
    if (group.every((s) => s.mode === 'unknown')) {
      c.status = 'unreachable';
      c.properties.statusDetail = 'the device is attached but could not be opened to read its DFU interfaces';
      c.properties.remedy =
        `install the udev rules ("sensor-proxy udev-rules --config F", README) and re-plug the device, ` +
        `or run as a member of "plugdev"; "sensor-proxy doctor" checks USB access`;
    } else c.status = 'present';
    return c;
  }
}

/** A declared sensor no attached device matches: status `absent`, id `usb:<vid>:<pid>` of the rule. */
function absentComponent(rule: UsbRule, index: number): Component {
  const m = rule.match;
  const pid = m.pid ?? m.dfuPid;
  const usb = `${hex(m.vid)}:${pid !== undefined ? hex(pid) : 'any'}`;
  const id = `usb:${usb}`;
  return {
    id,
    name: rule.component.name ?? usb,
    group: rule.component.group,
    manufacturer: rule.component.manufacturer ?? hex(m.vid),
    model: rule.component.model ?? (pid !== undefined ? hex(pid) : 'unknown'),
    status: 'absent',
    properties: {
      bus: 'usb',
      physicalPath: id,
      vid: m.vid,
      pid: m.pid,
      dfuPid: m.dfuPid,
      serialNumber: undefined,
      dfuMode: 'none',
      statusDetail:
        `no USB device ${usb}${m.dfuPid !== undefined && m.pid !== undefined ? ` (DFU mode ${hex(m.dfuPid)})` : ''}` +
        `${m.serialPattern ? ` with a serial number matching /${m.serialPattern.source}/` : ''} is attached`,
      remedy:
        `plug in the sensor and check its cable and power (lsusb -d ${hex(m.vid)}:${pid !== undefined ? hex(pid) : ''} should list it), ` +
        `or fix rules[${index}].match in the gateway config; set "optional": true if it may be missing`,
      dfuInterfaces: [],
    },
  };
}

/** Factory for the registry (`type: "usb"`). */
export const createUsbEnumerator: EnumeratorFactory = (settings, env) =>
  new UsbEnumerator(resolveUsbEnumeratorConfig(settings), env.log);
