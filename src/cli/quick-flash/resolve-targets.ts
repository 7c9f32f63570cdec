import type { Component } from '../../model/component.js';
import { SensorProxyError } from '../../model/errors.js';
import { describeTarget, type QuickProtocol, type TargetSpec } from './target-flags.js';

/** What resolving looks at: the file system, the network interfaces, the USB bus's descriptors, the inventory. Nothing is written to a bus. */
export interface TargetEnvironment {
  /** undefined when nothing is at `path`. */
  statPort(path: string): Promise<{ charDevice: boolean; realPath: string } | undefined>;
  canInterfaceExists(iface: string): Promise<boolean>;
  /** USB devices as their descriptors describe them (no request to the device). */
  listUsb(): Promise<{ vendorId: number; productId: number; serialNumber: string | undefined; portPath: string }[]>;
  /** The configured sensors (`sensor-proxy list`), asked only when a --port value is a name. */
  components(): Promise<Component[]>;
}

export interface ResolvedTarget {
  /** As the user named it, for messages. */
  label: string;
  component: Component;
  /** Equal for two targets that reach the same sensor. */
  key: string;
  /** CAN: the interface and response id; equal for two targets whose answers could not be told apart. */
  responseKey?: string;
}

const notFound = (target: string, message: string, hint: string, details: Record<string, unknown> = {}) =>
  new SensorProxyError('TARGET_NOT_FOUND', message, { details: { target, ...details }, hint });
const invalid = (target: string, message: string, hint?: string) =>
  new SensorProxyError('TARGET_INVALID', message, { details: { target }, ...(hint && { hint }) });

/**
 * Turns each target into the component the handler reaches it by (the properties an enumerator
 * would write), after checking that it exists and fits the protocol, and that no two targets are
 * the same sensor. Serial ports are checked on the file system, CAN interfaces in
 * /sys/class/net, USB devices by their descriptors; a --port value without `/` is a configured
 * sensor's name or id. Returns the protocol (a configured sensor may have supplied it).
 * @throws SensorProxyError TARGET_NOT_FOUND, TARGET_INVALID, CLI_USAGE naming the target.
 */
export async function resolveTargets(
  specs: TargetSpec[],
  protocol: QuickProtocol | undefined,
  env: TargetEnvironment,
): Promise<{ protocol: QuickProtocol; targets: ResolvedTarget[] }> {
  const out: ResolvedTarget[] = [];
  let inventory: Component[] | undefined;
  let usb: Awaited<ReturnType<TargetEnvironment['listUsb']>> | undefined;
  for (const spec of specs) {
    const label = describeTarget(spec);
    if (spec.kind === 'serial') {
      if (spec.port.includes('/')) {
        const st = await env.statPort(spec.port);
        if (!st)
          throw notFound(
            label,
            `serial port ${spec.port} does not exist`,
            'check the cable and the device path (ls /dev/serial/by-id/), or name a configured sensor (sensor-proxy list)',
          );
        if (!st.charDevice) throw invalid(label, `${spec.port} is not a serial device (not a character device)`);
        out.push({ label, component: serialComponent(spec.port, st.realPath), key: `serial:${st.realPath}` });
        continue;
      }
      inventory ??= await env.components();
      const c = inventory.find((x) => x.name === spec.port || x.id === spec.port);
      if (!c) {
        const known = inventory.filter((x) => x.properties?.bus === 'serial').map((x) => x.name);
        throw notFound(
          label,
          `no configured sensor named "${spec.port}" (and it is not a device path)`,
          `configured serial sensors: ${known.join(', ') || '(none)'}; give a device path such as /dev/ttyACM0, or see "sensor-proxy list"`,
          { known },
        );
      }
      if (c.properties?.bus !== 'serial')
        throw invalid(
          label,
          `sensor "${spec.port}" is on ${typeof c.properties?.bus === 'string' ? c.properties.bus : 'no bus'}, not serial`,
        );
      const configured = c.properties.protocol;
      if (configured === 'smp' || configured === 'ymodem') {
        if (protocol && protocol !== configured)
          throw invalid(
            label,
            `--protocol ${protocol} does not fit sensor "${spec.port}": it is configured for ${configured}`,
            `drop --protocol, or use --protocol ${configured}`,
          );
        protocol ??= configured;
      }
      const port = String(c.properties.port);
      const real = (await env.statPort(port))?.realPath ?? port;
      out.push({ label: `${spec.port} (${port})`, component: c, key: `serial:${real}` });
      continue;
    }
    if (spec.kind === 'can') {
      if (!spec.iface.startsWith('mem:') && !(await env.canInterfaceExists(spec.iface)))
        throw notFound(
          label,
          `CAN interface ${spec.iface} does not exist`,
          `bring it up first (ip link set ${spec.iface} up type can bitrate 500000); "ip -br link" lists the interfaces`,
        );
      out.push({
        label,
        component: canComponent(spec),
        key: `can:${spec.iface}:${spec.txId.toString(16)}`,
        responseKey: `can:${spec.iface}:rx:${spec.rxId.toString(16)}`,
      });
      continue;
    }
    usb ??= await env.listUsb().catch((e: unknown) => {
      throw notFound(
        label,
        `cannot look for ${label}: listing USB devices failed: ${e instanceof Error ? e.message : String(e)}`,
        'is this host USB-capable (/sys/bus/usb)? "sensor-proxy doctor" checks USB access',
      );
    });
    const matches = usb.filter(
      (d) =>
        (spec.vid === undefined || d.vendorId === spec.vid) &&
        (spec.pid === undefined || d.productId === spec.pid) &&
        (spec.serialNumber === undefined || d.serialNumber === spec.serialNumber) &&
        (spec.portPath === undefined || d.portPath === spec.portPath),
    );
    if (matches.length === 0)
      throw notFound(
        label,
        `no USB device matches ${label}`,
        'lsusb (or dfu-util --list) shows what is attached; --device takes VID:PID in hex',
        { attached: usb.map(usbName) },
      );
    if (matches.length > 1)
      throw invalid(
        label,
        `${matches.length} USB devices match ${label}: ${matches.map(usbName).join(', ')}`,
        'pick one with --serial SN or --path BUS-PORT (one flag per device to flash several)',
      );
    const d = matches[0]!;
    out.push({ label, component: usbComponent(d), key: `usb:${d.portPath}` });
  }
  if (!protocol)
    throw new SensorProxyError('CLI_USAGE', `serial target ${out[0]?.label ?? ''}: which protocol, smp or ymodem?`, {
      hint: 'add --protocol smp (MCUmgr/MCUboot) or --protocol ymodem (YMODEM bootloader)',
    });
  rejectDuplicates(out);
  return { protocol, targets: out };
}

/** Two targets reaching the same sensor would flash it twice at once. */
function rejectDuplicates(targets: ResolvedTarget[]): void {
  const seen = new Map<string, ResolvedTarget>();
  for (const t of targets) {
    const key = t.key;
    const first = seen.get(key);
    if (first)
      throw invalid(
        t.label,
        `targets ${first.label} and ${t.label} are the same sensor (${key})`,
        'name each sensor once; several targets flash in parallel',
      );
    seen.set(key, t);
  }
  // Two ECUs cannot answer on one id: both testers would take each other's responses.
  const answers = new Map<string, ResolvedTarget>();
  for (const t of targets) {
    if (t.responseKey === undefined) continue;
    const first = answers.get(t.responseKey);
    if (first)
      throw invalid(
        t.label,
        `targets ${first.label} and ${t.label} share the response id ${t.responseKey.split(':rx:')[1]}: ` +
          `their answers could not be told apart`,
        'each ECU answers on its own id (usually request id + 8): check --can IFACE:TX:RX',
      );
    answers.set(t.responseKey, t);
  }
}

const usbName = (d: { vendorId: number; productId: number; serialNumber: string | undefined; portPath: string }) =>
  `${d.vendorId.toString(16).padStart(4, '0')}:${d.productId.toString(16).padStart(4, '0')}` +
  `${d.serialNumber ? ` serial ${d.serialNumber}` : ''} at ${d.portPath}`;

function base(id: string): { id: string; name: string; group: string; manufacturer: string; model: string } {
  return { id, name: id, group: 'quick-flash', manufacturer: 'unknown', model: 'unknown' };
}

function serialComponent(port: string, realPath: string): Component {
  // `/dev/ttyACM0` → `ttyACM0`, `/dev/pts/3` → `pts/3`: unique per port, short in tables.
  return {
    ...base(port.replace(/^\/dev\//, '')),
    properties: { bus: 'serial', port, physicalPath: `serial:${realPath}` },
  };
}

function canComponent(t: Extract<TargetSpec, { kind: 'can' }>): Component {
  const id = `${t.iface.replace(/^mem:/, '')}-${t.txId.toString(16)}`;
  return {
    ...base(id),
    properties: { bus: 'can', interface: t.iface, txId: t.txId, rxId: t.rxId, physicalPath: `can:${t.iface}` },
  };
}

function usbComponent(d: {
  vendorId: number;
  productId: number;
  serialNumber: string | undefined;
  portPath: string;
}): Component {
  return {
    ...base(d.serialNumber ? `usb-${d.serialNumber}` : `usb-${d.portPath}`),
    properties: {
      bus: 'usb',
      vid: d.vendorId,
      pid: d.productId,
      ...(d.serialNumber && { serialNumber: d.serialNumber }),
      portPath: d.portPath,
      physicalPath: `usb:${d.portPath}`,
    },
  };
}
