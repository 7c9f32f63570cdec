import { constants } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UDEV_RULES_FILE as RULES_NAME } from '../cli/udev-rules.js';
import { fail, pass, skip, type CheckGroup, type CheckResult, type DoctorContext } from './check.js';

/** Where the output of `sensor-proxy udev-rules` is installed (same name as the .deb's generic file in /lib, so it overrides it). */
export const UDEV_RULES_FILE = `/etc/udev/rules.d/${RULES_NAME}`;

const hex4 = (v: unknown) => (typeof v === 'string' ? v.toLowerCase().replace(/^0x/, '') : undefined);
const attr = (dir: string, name: string) =>
  readFile(join(dir, name), 'utf8').then(
    (s) => s.trim(),
    () => undefined,
  );

interface UsbRule {
  vid: string;
  pids: string[];
  index: number;
}

function usbRules(ctx: DoctorContext): UsbRule[] {
  const rules: UsbRule[] = [];
  for (const e of ctx.config?.enumerators ?? []) {
    if (e.type !== 'usb' || !Array.isArray(e.rules) || e.backend === 'memory') continue;
    (e.rules as Array<{ match?: Record<string, unknown> }>).forEach((r, index) => {
      const vid = hex4(r.match?.vid);
      if (vid)
        rules.push({ vid, pids: [hex4(r.match?.pid), hex4(r.match?.dfuPid)].filter((p): p is string => !!p), index });
    });
  }
  return rules;
}

/** The remedy for a device node the running user cannot write: the udev rule, by name. */
export function udevRemedy(configPath: string | undefined): string {
  return `install the udev rule: sensor-proxy udev-rules${configPath ? ` --config ${configPath}` : ''} | sudo tee ${UDEV_RULES_FILE} && sudo udevadm control --reload && sudo udevadm trigger --subsystem-match=usb (the rule gives group plugdev mode 0660; the user must be in plugdev)`;
}

/** Per USB rule of the config: `usb.<vid>:<pid>.present`, and per device found `.access`, `.driver`. */
export const usbChecks: CheckGroup = async (ctx) => {
  const rules = usbRules(ctx);
  if (rules.length === 0) return [skip('usb', 'no USB rule in the config')];
  const { sysRoot, devRoot, etcRoot } = ctx.probes;
  const root = join(sysRoot, 'bus', 'usb', 'devices');
  const devices = (await readdir(root).catch(() => [] as string[])).filter((d) => !d.includes(':'));
  const rulesText = await readFile(join(etcRoot, 'udev', 'rules.d', RULES_NAME), 'utf8').catch(() => '');
  const out: CheckResult[] = [];
  for (const rule of rules) {
    const label = `${rule.vid}:${rule.pids.join('/') || '*'}`;
    const hits: Array<{ dir: string; pid: string }> = [];
    for (const d of devices) {
      const dir = join(root, d);
      const [vid, pid] = [await attr(dir, 'idVendor'), await attr(dir, 'idProduct')];
      if (vid === rule.vid && pid && (rule.pids.length === 0 || rule.pids.includes(pid))) hits.push({ dir: d, pid });
    }
    if (hits.length === 0) {
      out.push(
        fail(
          `usb.${label}.present`,
          `no USB device ${label} (usb rule ${rule.index}) is connected`,
          'plug the sensor in (lsusb lists what the gateway sees; dmesg | tail says why a device did not enumerate)',
        ),
      );
      continue;
    }
    for (const { dir, pid } of hits) {
      const id = `usb.${rule.vid}:${pid}`;
      const sys = join(root, dir);
      const bus = (await attr(sys, 'busnum')) ?? '0';
      const dev = (await attr(sys, 'devnum')) ?? '0';
      const node = join(devRoot, 'bus', 'usb', bus.padStart(3, '0'), dev.padStart(3, '0'));
      out.push(pass(`${id}.present`, `${rule.vid}:${pid} at ${dir} (${node})`));
      if (await ctx.probes.canAccess(node, constants.R_OK | constants.W_OK))
        out.push(pass(`${id}.access`, `${ctx.probes.user} can open ${node}`));
      else {
        const st = await stat(node).catch(() => undefined);
        const hasRule = rulesText.toLowerCase().includes(rule.vid);
        out.push(
          fail(
            `${id}.access`,
            `no permission on ${node} for ${ctx.probes.user}` +
              (st ? ` (owner ${st.uid}, group ${st.gid}, mode ${(st.mode & 0o777).toString(8)})` : '') +
              (hasRule
                ? `; ${UDEV_RULES_FILE} names ${rule.vid} but the node is not writable: is ${ctx.probes.user} in plugdev, and were the rules reloaded?`
                : `; no udev rule for ${rule.vid} in ${UDEV_RULES_FILE}`),
            udevRemedy(ctx.configPath),
          ),
        );
      }
      // A DFU interface (class 0xFE, subclass 0x01) must not be bound to a kernel driver, or claiming it fails.
      const claimed: string[] = [];
      for (const iface of (await readdir(root).catch(() => [] as string[])).filter((d) => d.startsWith(`${dir}:`))) {
        const idir = join(root, iface);
        if ((await attr(idir, 'bInterfaceClass')) !== 'fe' || (await attr(idir, 'bInterfaceSubClass')) !== '01')
          continue;
        const driver = await stat(join(idir, 'driver')).then(
          () => true,
          () => false,
        );
        if (driver) claimed.push(iface);
      }
      out.push(
        claimed.length === 0
          ? pass(`${id}.driver`, 'no kernel driver holds its DFU interface')
          : fail(
              `${id}.driver`,
              `a kernel driver holds the DFU interface ${claimed.join(', ')}`,
              `unbind it: echo ${claimed[0]} | sudo tee /sys/bus/usb/devices/${claimed[0]}/driver/unbind, and blacklist that driver in /etc/modprobe.d/`,
            ),
      );
    }
  }
  return out;
};
