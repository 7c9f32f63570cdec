import { MemoryUsbBus } from '../../drivers/usb/memory-usb-bus.js';
import { CancelledError } from '../../drivers/shared/errors.js';
import type { DfuHostOptionsInput } from '../../drivers/usb/dfu/dfu-options.js';
import { MemoryDfuDevice } from './memory-dfu-device.js';
import type { DfuSimOptions } from './dfu-sim-options.js';

/** A fake clock: `sleep` advances `now` at once (yielding a macrotask so timers and I/O still run). */
export class FakeClock {
  t = 0;
  readonly sleeps: number[] = [];
  now = (): number => this.t;
  sleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
    if (signal?.aborted) throw new CancelledError(signal.reason);
    this.sleeps.push(ms);
    this.t += ms;
    await new Promise((r) => setImmediate(r));
    if (signal?.aborted) throw new CancelledError(signal.reason);
  };
}

export interface MemoryDfuRig {
  bus: MemoryUsbBus;
  device: MemoryDfuDevice;
  clock: FakeClock;
  /** Host options wired to the fake clock. */
  hostOptions: DfuHostOptionsInput;
}

/**
 * One simulated DFU device on its own in-process bus with a fake clock: the unit-test rig. The
 * simulator re-enumerates at once (reenumerateDelayMs 0) unless told otherwise.
 */
export function createMemoryDfuRig(options: Partial<DfuSimOptions> = {}, host: DfuHostOptionsInput = {}): MemoryDfuRig {
  const clock = new FakeClock();
  const bus = new MemoryUsbBus();
  const device = new MemoryDfuDevice(bus, { reenumerateDelayMs: 0, ...options }, { now: clock.now });
  return { bus, device, clock, hostOptions: { sleep: clock.sleep, now: clock.now, ...host } };
}

/** A deterministic test image of `size` bytes carrying the simulator's version marker. */
export function testImage(size: number, version = 0x0201, seed = 1): Uint8Array {
  const b = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  const marker = Buffer.from(`FWVER=${version.toString(16).padStart(4, '0')}`, 'latin1');
  if (size >= marker.length) b.set(marker, 0);
  return b;
}
