import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { KERNEL_ISOTP_HINT } from '../../drivers/can/kernel-isotp/availability.js';
import { fail, pass, skip, warn, type CheckGroup, type CheckResult, type DoctorContext } from './check.js';

/** What `ip -details -statistics -json link show <if>` says about a CAN link. */
export interface CanLinkState {
  up: boolean;
  kind: string;
  /** ERROR-ACTIVE, ERROR-WARNING, ERROR-PASSIVE, BUS-OFF, STOPPED (real controllers only). */
  state?: string;
  bitrate?: number;
  restartMs?: number;
  txErrors?: number;
  rxErrors?: number;
  busOffCount?: number;
}

/** Parses one link of iproute2's JSON (`linkinfo.info_data` as the kernel's can netlink reports it). */
export function parseIpLink(json: string): CanLinkState | undefined {
  const links = JSON.parse(json) as IpLink[];
  const l = links[0];
  if (!l) return undefined;
  const info = l.linkinfo ?? {};
  const data = info.info_data ?? {};
  const x = info.info_xstats ?? {};
  const s: CanLinkState = {
    up: Array.isArray(l.flags) && l.flags.includes('UP'),
    kind:
      typeof info.info_kind === 'string' ? info.info_kind : typeof l.link_type === 'string' ? l.link_type : 'unknown',
  };
  if (typeof data.state === 'string') s.state = data.state;
  if (typeof data.bittiming?.bitrate === 'number') s.bitrate = data.bittiming.bitrate;
  if (typeof data.restart_ms === 'number') s.restartMs = data.restart_ms;
  if (typeof data.berr_counter?.tx === 'number') s.txErrors = data.berr_counter.tx;
  if (typeof data.berr_counter?.rx === 'number') s.rxErrors = data.berr_counter.rx;
  if (typeof x.bus_off === 'number') s.busOffCount = x.bus_off;
  return s;
}

/** The parts of iproute2's JSON link object read here (fields may be absent or of another type). */
interface IpLink {
  flags?: unknown;
  link_type?: unknown;
  linkinfo?: {
    info_kind?: unknown;
    info_data?: {
      state?: unknown;
      restart_ms?: unknown;
      bittiming?: { bitrate?: unknown };
      berr_counter?: { tx?: unknown; rx?: unknown };
    };
    info_xstats?: { bus_off?: unknown };
  };
}

/** Every CAN interface the config names: CAN enumerator entries and the UDS handler settings. */
export function configuredCanInterfaces(ctx: DoctorContext): string[] {
  const names = new Set<string>();
  for (const e of ctx.config?.enumerators ?? []) {
    if (e.type !== 'can' || !Array.isArray(e.interfaces)) continue;
    for (const i of e.interfaces as Array<{ interface?: unknown }>)
      if (typeof i?.interface === 'string') names.add(i.interface);
  }
  const uds = ctx.config?.handlers['sensor-proxy/uds:1']?.interface;
  if (typeof uds === 'string') names.add(uds);
  return [...names].filter((n) => !n.startsWith('mem:'));
}

async function moduleLoaded(ctx: DoctorContext, name: string): Promise<boolean> {
  const modules = await readFile(join(ctx.probes.procRoot, 'modules'), 'utf8').catch(() => '');
  if (modules.split('\n').some((l) => l.startsWith(`${name} `))) return true;
  // built into the kernel: no /proc/modules line, but /sys/module/<name> exists
  return stat(join(ctx.probes.sysRoot, 'module', name)).then(
    () => true,
    () => false,
  );
}

const UP_REMEDY = (i: string, virtual: boolean) =>
  virtual
    ? `sudo ip link set ${i} up`
    : `sudo ip link set ${i} up type can bitrate 500000 restart-ms 100 (use your bus's bitrate), or install /usr/share/doc/sensor-proxy/examples/80-can.network as /etc/systemd/network/80-${i}.network and sudo systemctl enable --now systemd-networkd`;

async function interfaceChecks(ctx: DoctorContext, i: string): Promise<CheckResult[]> {
  const id = `can.${i}`;
  const exists = await stat(join(ctx.probes.sysRoot, 'class', 'net', i)).then(
    () => true,
    () => false,
  );
  if (!exists)
    return [
      fail(
        `${id}.link`,
        `${i} does not exist`,
        i.startsWith('vcan')
          ? `sudo modprobe vcan && sudo ip link add ${i} type vcan && sudo ip link set ${i} up`
          : `enable the CAN HAT's overlay in /boot/firmware/config.txt (e.g. dtoverlay=mcp2515-can0,oscillator=16000000,interrupt=25), reboot, check dmesg | grep -i can`,
      ),
      skip(`${id}.controller`, `${i} does not exist`),
    ];
  const r = await ctx.probes.exec('ip', ['-details', '-statistics', '-json', 'link', 'show', i]);
  let link: CanLinkState | undefined;
  try {
    link = r.code === 0 ? parseIpLink(r.stdout) : undefined;
  } catch (e) {
    link = undefined;
    r.stderr += ` (unparsable ip -json output: ${(e as Error).message})`;
  }
  if (!link)
    return [
      fail(
        `${id}.link`,
        `cannot read ${i} with ip -json link show: ${r.stderr.trim() || `exit ${r.code}`}`,
        'sudo apt-get install iproute2',
      ),
    ];
  const virtual = link.kind === 'vcan' || link.kind === 'vxcan';
  const out: CheckResult[] = [
    link.up
      ? pass(`${id}.link`, `${i} (${link.kind}) is up`)
      : fail(`${id}.link`, `${i} (${link.kind}) is down`, UP_REMEDY(i, virtual)),
    isoTpCheck(ctx, i),
  ];
  if (virtual) {
    out.push(pass(`${id}.controller`, `${i} is virtual: no controller, bitrate or error counters`));
    return out;
  }
  const counters = `tx errors ${link.txErrors ?? '?'}, rx errors ${link.rxErrors ?? '?'}${link.busOffCount !== undefined ? `, bus-off ${link.busOffCount} times` : ''}`;
  const summary = `state ${link.state ?? 'unknown'}, bitrate ${link.bitrate ?? 'unset'}, ${counters}, restart-ms ${link.restartMs ?? 0}`;
  if (!link.bitrate) out.push(fail(`${id}.controller`, `${i}: no bitrate set (${summary})`, UP_REMEDY(i, false)));
  else if (link.state === 'BUS-OFF' || link.state === 'STOPPED')
    out.push(
      fail(
        `${id}.controller`,
        `${i} is ${link.state} (${summary})`,
        `check wiring, 120 ohm termination at both ends and that every node uses bitrate ${link.bitrate}; then sudo ip link set ${i} down && sudo ip link set ${i} up type can bitrate ${link.bitrate} restart-ms 100 (restart-ms recovers from bus-off by itself)`,
      ),
    );
  else if (link.state === 'ERROR-PASSIVE' || link.state === 'ERROR-WARNING')
    out.push(
      warn(
        `${id}.controller`,
        `${i} is ${link.state}: frames are being lost (${summary})`,
        `check termination and the bitrate of the other nodes (${link.bitrate}); candump -e ${i} shows the error frames`,
      ),
    );
  else out.push(pass(`${id}.controller`, `${i}: ${summary}`));
  if (!link.restartMs)
    out.push(
      warn(
        `${id}.restart`,
        `${i} has restart-ms 0: after a bus-off it stays off until someone restarts it`,
        `sudo ip link set ${i} type can restart-ms 100 (or RestartSec= in the .network file's [CAN] section)`,
      ),
    );
  return out;
}

/**
 * `can.<if>.isotp`: which ISO-TP the UDS handler will use on `i` (handlers["sensor-proxy/uds:1"].isotp.backend).
 * `auto` without kernel ISO-TP is a warning (it works, in user space, at a higher CPU cost per frame);
 * `kernel` without it fails every CAN flash, so it fails here too.
 */
function isoTpCheck(ctx: DoctorContext, i: string): CheckResult {
  const id = `can.${i}.isotp`;
  const isotp = ctx.config?.handlers['sensor-proxy/uds:1']?.isotp as { backend?: unknown } | undefined;
  const backend = typeof isotp?.backend === 'string' ? isotp.backend : 'auto';
  if (backend === 'user') return pass(id, `isotp.backend is "user": ISO-TP in user space on ${i}, can_isotp not used`);
  const a = ctx.probes.isoTpAvailability(i);
  if (a.available) return pass(id, `kernel ISO-TP on ${i} (isotp.backend "${backend}"): ${a.reason}`);
  const remedy = a.hint ?? KERNEL_ISOTP_HINT;
  return backend === 'kernel'
    ? fail(id, `isotp.backend is "kernel" but ${i} has no kernel ISO-TP: ${a.reason}`, remedy)
    : warn(id, `no kernel ISO-TP on ${i}, flashing falls back to user-space ISO-TP: ${a.reason}`, remedy);
}

/** `can.modules` and, per configured interface, `can.<if>.link`, `can.<if>.isotp`, `can.<if>.controller`, `can.<if>.restart`. */
export const canChecks: CheckGroup = async (ctx) => {
  const ifaces = configuredCanInterfaces(ctx);
  if (ifaces.length === 0) return [skip('can', 'no CAN interface in the config')];
  const missing: string[] = [];
  for (const m of ['can', 'can_raw']) if (!(await moduleLoaded(ctx, m))) missing.push(m);
  const out: CheckResult[] = [
    missing.length
      ? fail(
          'can.modules',
          `kernel modules not loaded: ${missing.join(', ')}`,
          `sudo modprobe -a ${missing.join(' ')} && printf '%s\\n' ${missing.join(' ')} | sudo tee /etc/modules-load.d/sensor-proxy-can.conf`,
        )
      : pass('can.modules', 'can and can_raw are loaded'),
  ];
  for (const i of ifaces) out.push(...(await interfaceChecks(ctx, i)));
  return out;
};
