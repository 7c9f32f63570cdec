import { constants } from 'node:fs';
import { readdir, readFile, readlink, realpath, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { scanTtyPorts } from '../../enumerators/serial/sysfs-tty.js';
import { fail, pass, skip, warn, type CheckGroup, type CheckResult, type DoctorContext } from './check.js';

interface SerialTarget {
  path: string;
  /** Where the config names it. */
  from: string;
}

const hex4 = (v: unknown) => (typeof v === 'string' ? v.toLowerCase().replace(/^0x/, '') : undefined);

/** Ports the config names: serial enumerator rules (`match.path`, or USB vid/pid found in sysfs) and handler `port`s. */
async function configuredPorts(ctx: DoctorContext): Promise<{ ports: SerialTarget[]; absent: CheckResult[] }> {
  const ports: SerialTarget[] = [];
  const absent: CheckResult[] = [];
  const { procRoot, sysRoot, devRoot } = ctx.probes;
  for (const e of ctx.config?.enumerators ?? []) {
    if (e.type !== 'serial' || !Array.isArray(e.rules)) continue;
    let ttys: Awaited<ReturnType<typeof scanTtyPorts>> | undefined;
    for (const [i, rule] of (e.rules as Array<{ match?: Record<string, unknown> }>).entries()) {
      const m = rule.match ?? {};
      if (typeof m.path === 'string') ports.push({ path: m.path, from: `serial rule ${i}` });
      else if (m.vid !== undefined) {
        ttys ??= await scanTtyPorts({ sysfsRoot: sysRoot, devRoot, procRoot });
        const hits = ttys.filter(
          (t) => t.usb?.vid === hex4(m.vid) && (m.pid === undefined || t.usb?.pid === hex4(m.pid)),
        );
        const usbId = `${hex4(m.vid)}:${hex4(m.pid) ?? '*'}`;
        if (hits.length === 0)
          absent.push(
            fail(
              `serial.usb-${usbId}.present`,
              `no serial port of USB device ${usbId} (serial rule ${i}) is present`,
              `plug the sensor in; lsusb shows whether it enumerates, dmesg | tail whether a tty driver (cdc_acm, ftdi_sio...) took it`,
            ),
          );
        for (const t of hits) ports.push({ path: t.devPath, from: `serial rule ${i} (USB ${usbId})` });
      }
    }
  }
  for (const h of ['sensor-proxy/smp:1', 'sensor-proxy/ymodem:1']) {
    const port = ctx.config?.handlers[h]?.port;
    if (typeof port === 'string') ports.push({ path: port, from: `handlers["${h}"].port` });
  }
  const seen = new Set<string>();
  return { ports: ports.filter((p) => !seen.has(p.path) && !!seen.add(p.path)), absent };
}

/**
 * Pids (other than ours) with an open file descriptor on `device`, with their command names, and how
 * many processes could not be looked into (another user's /proc/<pid>/fd needs root).
 */
export async function portHolders(
  procRoot: string,
  device: string,
  self: number,
): Promise<{ holders: string[]; hidden: number }> {
  const holders: string[] = [];
  let hidden = 0;
  const pids = (await readdir(procRoot).catch(() => [])).filter((d) => /^\d+$/.test(d) && Number(d) !== self);
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = await readdir(join(procRoot, pid, 'fd'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EACCES') hidden++;
      continue; // ENOENT: the process ended meanwhile
    }
    for (const fd of fds) {
      const target = await readlink(join(procRoot, pid, 'fd', fd)).catch(() => undefined);
      if (target === device) {
        const comm = (await readFile(join(procRoot, pid, 'comm'), 'utf8').catch(() => '?')).trim();
        holders.push(`${pid} (${comm})`);
        break;
      }
    }
  }
  return { holders, hidden };
}

/** tty names the kernel console or the Pi's boot cmdline put a login/console on (`serial0` resolved). */
async function consoleTtys(ctx: DoctorContext): Promise<Map<string, string>> {
  const { procRoot, bootRoot, devRoot } = ctx.probes;
  const found = new Map<string, string>();
  const sources: Array<[string, string]> = [
    [join(procRoot, 'cmdline'), 'the kernel command line (/proc/cmdline)'],
    [join(bootRoot, 'firmware', 'cmdline.txt'), '/boot/firmware/cmdline.txt'],
    [join(bootRoot, 'cmdline.txt'), '/boot/cmdline.txt'],
  ];
  for (const [file, label] of sources) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const m of text.matchAll(/(?:^|\s)console=([^,\s]+)/g)) {
      const name = m[1]!;
      if (/^serial\d$/.test(name)) {
        // Pi alias: /dev/serial0 -> ttyAMA0 or ttyS0 depending on the model and Bluetooth
        const target = await readlink(join(devRoot, name)).catch(() => undefined);
        for (const t of target ? [basename(target)] : ['ttyAMA0', 'ttyS0']) found.set(t, `console=${name} in ${label}`);
      } else found.set(name, `console=${name} in ${label}`);
    }
  }
  const consoles = await readFile(join(procRoot, 'consoles'), 'utf8').catch(() => '');
  for (const line of consoles.split('\n')) {
    const name = line.split(/\s+/)[0];
    if (name) found.set(name, found.get(name) ?? 'the kernel console (/proc/consoles)');
  }
  return found;
}

async function gettyOn(ctx: DoctorContext, tty: string): Promise<string | undefined> {
  const wants = join(ctx.probes.etcRoot, 'systemd', 'system', 'getty.target.wants');
  const units = await readdir(wants).catch(() => [] as string[]);
  return units.find((u) => u === `serial-getty@${tty}.service` || u === `getty@${tty}.service`);
}

async function groupName(etcRoot: string, gid: number): Promise<string> {
  const text = await readFile(join(etcRoot, 'group'), 'utf8').catch(() => '');
  return (
    text
      .split('\n')
      .find((l) => l.split(':')[2] === String(gid))
      ?.split(':')[0] ?? String(gid)
  );
}

async function portChecks(
  ctx: DoctorContext,
  target: SerialTarget,
  consoles: Map<string, string>,
): Promise<CheckResult[]> {
  const { probes } = ctx;
  let device: string;
  try {
    device = await realpath(target.path);
  } catch {
    return [
      fail(
        `serial.${basename(target.path)}.exists`,
        `${target.path} (${target.from}) does not exist`,
        target.path.includes('ttyAMA') || target.path.includes('serial0')
          ? 'enable the UART: enable_uart=1 in /boot/firmware/config.txt (sudo raspi-config nonint do_serial_hw 0), reboot'
          : `plug the sensor in, or fix the path in the config (ls -l /dev/serial/by-id/ lists the USB serial ports)`,
      ),
    ];
  }
  const name = basename(device);
  const id = `serial.${name}`;
  const out: CheckResult[] = [pass(`${id}.exists`, `${target.path} -> ${device} (${target.from})`)];
  if (await probes.canAccess(device, constants.R_OK | constants.W_OK))
    out.push(pass(`${id}.access`, `${probes.user} can open ${device} read/write`));
  else {
    const st = await stat(device);
    const group = await groupName(probes.etcRoot, st.gid);
    out.push(
      fail(
        `${id}.access`,
        `${probes.user} cannot open ${device} read/write (owner ${st.uid}, group ${group}, mode ${(st.mode & 0o777).toString(8)})`,
        `sudo usermod -aG ${group} ${probes.user} (then restart the service or log in again); the .deb's sensor-proxy user is in dialout already`,
      ),
    );
  }
  const { holders, hidden } = await portHolders(probes.procRoot, device, probes.pid);
  out.push(
    holders.length > 0
      ? fail(
          `${id}.free`,
          `${device} is held by pid ${holders.join(', pid ')}`,
          holders.some((h) => h.includes('ModemManager'))
            ? `install the udev rule (sensor-proxy udev-rules > /etc/udev/rules.d/61-sensor-proxy.rules) that tells ModemManager to leave it alone, or sudo systemctl disable --now ModemManager`
            : `stop that process (sudo fuser -v ${device} shows it; a getty: see ${id}.console)`,
        )
      : hidden > 0
        ? warn(
            `${id}.free`,
            `no process of ${probes.user} has ${device} open, but ${hidden} processes of other users could not be looked into`,
            `sudo sensor-proxy doctor --config <file> (root sees every process), or sudo fuser -v ${device}`,
          )
        : pass(`${id}.free`, `no other process has ${device} open`),
  );
  const console = consoles.get(name);
  const getty = await gettyOn(ctx, name);
  if (console || getty)
    out.push(
      fail(
        `${id}.console`,
        `${device} is a login console: ${[console, getty && `getty unit ${getty} is enabled`].filter(Boolean).join('; ')}`,
        `remove console=serial0,115200 (or console=${name}) from /boot/firmware/cmdline.txt and sudo systemctl disable --now ${getty ?? `serial-getty@${name}.service`} (on Pi OS: sudo raspi-config nonint do_serial_cons 1), then reboot`,
      ),
    );
  else out.push(pass(`${id}.console`, `${device} carries no console and no getty`));
  return out;
}

/** Per configured serial port: `serial.<tty>.exists`, `.access`, `.free`, `.console`. */
export const serialChecks: CheckGroup = async (ctx) => {
  const { ports, absent } = await configuredPorts(ctx);
  if (ports.length === 0 && absent.length === 0) return [skip('serial', 'no serial port in the config')];
  const consoles = await consoleTtys(ctx);
  const out = [...absent];
  for (const p of ports) out.push(...(await portChecks(ctx, p, consoles)));
  return out;
};
