import type { Logger } from 'pino';
import type { CanBus } from './bus.js';
import { canError } from './errors.js';
import { MemoryCanNetwork } from './memory-bus.js';
import { SocketCanBus } from './socketcan-bus.js';

/** A function that opens a bus by interface name; injected where tests or the demo provide buses. */
export type CanBusOpener = (iface: string, options?: { log?: Logger }) => Promise<CanBus>;

/**
 * Opens a bus by interface name (python-can `BACKENDS` style, style anchors §1):
 * - `mem:<name>` → a new node on the process-wide {@link MemoryCanNetwork} `<name>` (created on first use);
 * - a Linux interface name (`can0`, `vcan0`, `slcan0`…) → {@link SocketCanBus}, `socketcan` imported lazily.
 * Throws `CAN_BACKEND_UNKNOWN` for any other scheme (`xxx:`), naming the valid ones.
 */
export const openCanBus: CanBusOpener = async (iface, options = {}) => {
  const m = /^([a-z]+):(.+)$/.exec(iface);
  if (m) {
    if (m[1] === 'mem') return MemoryCanNetwork.named(m[2]!).join(options.log ? { log: options.log } : {});
    throw canError('CAN_BACKEND_UNKNOWN', `unknown CAN interface scheme "${m[1]}:"`, {
      iface,
      valid: ['mem:<name>', '<linux interface>'],
    });
  }
  return SocketCanBus.open(options.log ? { iface, log: options.log } : { iface });
};
