import { SerialPort } from 'serialport';
import type { SerialPortBinding } from '../../drivers/serial/serialport-link.js';

/** A real `serialport` binding whose modem-line ioctl (`set`) fails, with counts of what it did. */
export interface FailingLinesBinding {
  binding: SerialPortBinding;
  /** Ports opened / closed through it. */
  stats: { opened: number; closed: number; setCalls: number };
}

/**
 * Wraps the platform binding so every `set({ dtr, rts })` rejects with `message`, as the kernel
 * does when a USB adapter vanishes between open and ioctl ("EIO: Input/output error, cannot set")
 * or qemu-user lacks the ioctl ("Function not implemented"). Everything else (open, read, write,
 * close) is the real binding on the real device, e.g. a socat pty.
 */
export function failingControlLinesBinding(message: string): FailingLinesBinding {
  // One platform's binding (Linux here); the union type of the three would not accept its own options.
  const real = SerialPort.binding as {
    list(): Promise<unknown>;
    open(o: unknown): Promise<{ close(): Promise<void> }>;
  };
  const stats = { opened: 0, closed: 0, setCalls: 0 };
  const binding = {
    list: () => real.list(),
    open: async (options: unknown) => {
      const port = await real.open(options);
      stats.opened++;
      // Prototype methods of the real port object, so a Proxy keeps `this` pointing at it.
      return new Proxy(port, {
        get(target, prop, receiver) {
          if (prop === 'set')
            return async () => {
              stats.setCalls++;
              throw new Error(message);
            };
          if (prop === 'close')
            return async () => {
              stats.closed++;
              await target.close();
            };
          const v: unknown = Reflect.get(target, prop, receiver);
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
    },
  } as unknown as SerialPortBinding;
  return { binding, stats };
}
