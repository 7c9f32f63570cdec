import { isoTpError } from './isotp/errors.js';
import type { IsoTpBackend, IsoTpBackendSetting } from './isotp/transport.js';
import { kernelIsoTpAvailability } from './kernel-isotp/availability.js';

export interface IsoTpBackendChoice {
  backend: IsoTpBackend;
  /** Why this backend, for the log line `auto` writes. */
  reason: string;
}

/**
 * Picks the ISO-TP implementation for `iface` from the `isotp.backend` setting:
 * - `user`: ours over raw CAN frames, always;
 * - `kernel`: the kernel's CAN_ISOTP sockets, or `ISOTP_KERNEL_UNAVAILABLE` naming `modprobe can-isotp`,
 *   CONFIG_CAN_ISOTP (or `make native` when the addon is missing) before anything is sent;
 * - `auto`: the kernel's where {@link kernelIsoTpAvailability} says yes (module loaded or loadable),
 *   else ours. The in-process memory bus (`mem:`) always takes ours.
 */
export function chooseIsoTpBackend(setting: IsoTpBackendSetting, iface: string): IsoTpBackendChoice {
  if (iface.startsWith('mem:')) {
    if (setting === 'kernel')
      throw isoTpError(
        'ISOTP_CONFIG',
        `isotp.backend "kernel" needs a Linux CAN interface; ${iface} is the in-process memory bus`,
        { field: 'isotp.backend', iface },
      );
    return { backend: 'user', reason: `${iface} is the in-process memory bus` };
  }
  if (setting === 'user') return { backend: 'user', reason: 'isotp.backend is "user"' };
  const a = kernelIsoTpAvailability(iface);
  if (a.available) return { backend: 'kernel', reason: `isotp.backend is "${setting}" and ${a.reason}` };
  if (setting === 'kernel')
    throw isoTpError(
      'ISOTP_KERNEL_UNAVAILABLE',
      `isotp.backend is "kernel" but ${a.reason}${a.hint ? `: ${a.hint}` : ''}`,
      { iface, reason: a.reason, hint: a.hint },
    );
  return { backend: 'user', reason: `kernel ISO-TP unavailable on ${iface}: ${a.reason}` };
}
