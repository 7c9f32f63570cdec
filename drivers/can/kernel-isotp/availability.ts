import { existsSync, readFileSync } from 'node:fs';
import { loadIsoTpAddon } from './addon.js';

/** ARPHRD_CAN (linux/if_arp.h): the `type` of every SocketCAN interface in /sys/class/net. */
const ARPHRD_CAN = 280;

/** What to do when the kernel has no ISO-TP sockets (reference/bus-protocols.md §1.2, §7). */
export const KERNEL_ISOTP_HINT =
  'load it with `modprobe can-isotp` (kernel option CONFIG_CAN_ISOTP, in mainline since Linux 5.10; every Raspberry Pi OS kernel since 5.10 ships it), or set isotp.backend to "user"';

export interface KernelIsoTpAvailability {
  /** True when a CAN_ISOTP socket can be opened on `ifname` now. */
  available: boolean;
  /** One line: why (not), for logs and `doctor`. */
  reason: string;
  /** What to do when not available. */
  hint?: string;
  /** can-isotp was loaded before this check (false: loaded on demand by it, or not at all). */
  moduleLoaded: boolean;
  /** The native addon (native/isotp) loaded. */
  addonLoaded: boolean;
}

function moduleLoaded(): boolean {
  if (existsSync('/sys/module/can_isotp')) return true;
  try {
    return /^can_isotp\s/m.test(readFileSync('/proc/modules', 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Whether the kernel ISO-TP backend can serve `ifname` (for `isotp.backend: "auto"` and `doctor`):
 * the addon loads, the interface exists and is CAN, and a CAN_ISOTP socket opens (the kernel loads
 * can-isotp on demand for that when it is built as a module). Never throws; opens no bus traffic.
 */
export function kernelIsoTpAvailability(ifname: string): KernelIsoTpAvailability {
  const loadedBefore = moduleLoaded();
  const a = loadIsoTpAddon();
  if ('error' in a)
    return {
      available: false,
      reason: a.error,
      hint: 'build it with `make native` (needs g++, make, python3 and linux-libc-dev), or set isotp.backend to "user"',
      moduleLoaded: loadedBefore,
      addonLoaded: false,
    };
  let type: number;
  try {
    type = Number(readFileSync(`/sys/class/net/${ifname}/type`, 'utf8').trim());
  } catch {
    return {
      available: false,
      reason: `CAN interface ${ifname} does not exist`,
      hint: `check the interface name (ip -details link show ${ifname})`,
      moduleLoaded: loadedBefore,
      addonLoaded: true,
    };
  }
  if (type !== ARPHRD_CAN)
    return {
      available: false,
      reason: `${ifname} is not a CAN interface (link type ${type})`,
      hint: 'name a SocketCAN interface such as can0 or vcan0',
      moduleLoaded: loadedBefore,
      addonLoaded: true,
    };
  const err = a.addon.probe();
  if (err) {
    const noCan = err.code === 'EAFNOSUPPORT';
    return {
      available: false,
      reason: noCan
        ? `the kernel has no SocketCAN (${err.code})`
        : `the kernel has no ISO-TP sockets: can-isotp is not loaded and could not be loaded (${err.code})`,
      hint: KERNEL_ISOTP_HINT,
      moduleLoaded: loadedBefore,
      addonLoaded: true,
    };
  }
  return {
    available: true,
    reason: loadedBefore ? 'can-isotp is loaded' : 'can-isotp was loaded on demand',
    moduleLoaded: loadedBefore,
    addonLoaded: true,
  };
}
