import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getMemoryUsbBus } from '../../drivers/usb/memory-usb-bus.js';
import { withDfuSuffix } from '../../drivers/usb/dfu/dfu-suffix.js';
import { MemoryDfuDevice } from './memory-dfu-device.js';
import type { DfuSimOptions } from './dfu-sim-options.js';
import { testImage } from './memory-rig.js';

/** What a demo or an in-process end-to-end test needs to flash simulated DFU sensors. */
export interface DemoDfuSensors {
  devices: MemoryDfuDevice[];
  /** Gateway-config `enumerators[]` entry for them. */
  enumerator: Record<string, unknown>;
  /** Gateway-config `handlers["sensor-proxy/dfu:1"]` section for them. */
  handlerConfig: Record<string, unknown>;
  /** Component group the enumerator gives them (for `compatibility`). */
  group: string;
}

/**
 * Puts simulated DFU sensors on the in-process USB bus `memoryBus` (run-time mode, serials
 * `DFU-DEMO-1…`, bcdDevice `version`) and returns the config that reaches them: the `usb`
 * enumerator and `sensor-proxy/dfu:1` with `backend: "memory"`. For `make demo` on machines
 * without a USB gadget; the devices live in the calling process.
 */
export function attachDemoDfuSensors(
  opts: { memoryBus?: string; count?: number; version?: number; group?: string; sim?: Partial<DfuSimOptions> } = {},
): DemoDfuSensors {
  const memoryBus = opts.memoryBus ?? 'demo';
  const group = opts.group ?? 'dfu-sensors';
  const bus = getMemoryUsbBus(memoryBus);
  const devices = Array.from(
    { length: opts.count ?? 1 },
    (_, i) =>
      new MemoryDfuDevice(
        bus,
        {
          serialNumber: `DFU-DEMO-${i + 1}`,
          product: 'Demo DFU sensor',
          version: opts.version ?? 0x0100,
          manifestationTolerant: true,
          pollTimeoutMs: 1,
          ...opts.sim,
        },
        { portPath: `1-${i + 1}` },
      ),
  );
  return {
    devices,
    enumerator: {
      type: 'usb',
      backend: 'memory',
      memoryBus,
      rules: [
        {
          match: { vid: '1209', pid: '0001', dfuPid: 'df11', serialPattern: '^DFU-DEMO-' },
          component: { group, manufacturer: 'contoso', model: 'dfu-demo' },
        },
      ],
    },
    handlerConfig: { backend: 'memory', memoryBus, reenumerateTimeoutMs: 5000 },
    group,
  };
}

/** Writes a `.dfu` firmware file (suffix for 1209:0001) that the simulator reports as `version` once flashed. */
export async function writeDemoDfuFirmware(
  dir: string,
  fileName: string,
  version: number,
  size = 48 * 1024,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, fileName);
  await writeFile(
    path,
    withDfuSuffix(testImage(size, version), { vendorId: 0x1209, productId: 0x0001, bcdDevice: version }),
  );
  return path;
}
