import { delay } from '../../shared/deadline.js';
import { throwIfAborted } from '../../shared/errors.js';
import type { SerialLink } from '../link.js';

/**
 * Something done on the line to move a device between application and bootloader: the
 * bootloader entry before a YMODEM transfer, or the reset after it. Vendor-specific, hence data.
 *
 * - `none`: nothing (the device is already in its bootloader, or boots by itself after the batch).
 * - `bytes`: write a magic sequence the application understands (e.g. `7f424f4f540d` = DEL "BOOT" CR).
 * - `dtr-pulse`: assert the line (DTR by default) for `ms`, then release it: the usual reset/boot
 *   circuit of USB-serial boards. No effect on a pty (it has no modem lines; the link logs that).
 */
export type LineAction =
  { type: 'none' } | { type: 'bytes'; bytes: Uint8Array } | { type: 'dtr-pulse'; ms: number; line?: 'dtr' | 'rts' };

/**
 * Performs `action` on `link`. Link errors (`SERIAL_*`) pass through; CancelledError on `signal`
 * (a pulse interrupted by abort leaves the line released).
 */
export async function performLineAction(link: SerialLink, action: LineAction, signal?: AbortSignal): Promise<void> {
  throwIfAborted(signal);
  switch (action.type) {
    case 'none':
      return;
    case 'bytes':
      await link.write(action.bytes, signal);
      return;
    case 'dtr-pulse': {
      const line = action.line ?? 'dtr';
      await link.setControlLines({ [line]: true });
      try {
        await delay(action.ms, signal);
      } finally {
        await link.setControlLines({ [line]: false });
      }
    }
  }
}
