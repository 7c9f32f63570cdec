import type { UsbBackend, UsbDevice } from './usb-device.js';

/**
 * An in-process USB bus: devices implemented in JavaScript (test and demo simulators in
 * `hw-fixtures/usb/`) attach to it and the DFU stack finds them through {@link UsbBackend.list},
 * exactly as on the `usb` backend. Attached devices must honour the teardown contract of
 * {@link UsbDevice} (USB_DISCONNECTED once detached).
 *
 * Buses are named so the gateway config can select one (`backend: "memory"`, `memoryBus: "demo"`)
 * while the simulator that populates it runs in the same process.
 */
export class MemoryUsbBus implements UsbBackend {
  readonly name = 'memory';
  private readonly devices = new Set<UsbDevice>();

  attach(device: UsbDevice): void {
    this.devices.add(device);
  }

  detach(device: UsbDevice): void {
    this.devices.delete(device);
  }

  async list(): Promise<UsbDevice[]> {
    return [...this.devices];
  }
}

const buses = new Map<string, MemoryUsbBus>();

/** The process-wide in-memory bus called `name` (created on first use). */
export function getMemoryUsbBus(name = 'default'): MemoryUsbBus {
  let bus = buses.get(name);
  if (!bus) {
    bus = new MemoryUsbBus();
    buses.set(name, bus);
  }
  return bus;
}
