import { formatBcd } from '../../../drivers/usb/descriptors.js';
import { DfuHost } from '../../../drivers/usb/dfu/dfu-host.js';
import type { UsbDevice, UsbDeviceInfo } from '../../../drivers/usb/usb-device.js';
import type { DfuSettings } from './dfu-config.js';

export { formatBcd };

/**
 * Compares a version read from the device with `installedCriteria`: `0x0102` compares as bcdDevice;
 * otherwise dotted numbers compare part by part (`1.02` = `1.2`, a leading `v` ignored), anything
 * else as trimmed text.
 */
export function sameDfuVersion(running: string, wanted: string): boolean {
  const w = wanted.trim();
  if (/^0x[0-9a-f]{1,4}$/i.test(w))
    return formatBcd(parseInt(w, 16)) === running.trim() || sameDfuVersion(running, formatBcd(parseInt(w, 16)));
  const parts = (v: string) =>
    /^[vV]?\d+(\.\d+)*$/.test(v.trim()) ? v.trim().replace(/^[vV]/, '').split('.').map(Number) : undefined;
  const a = parts(running);
  const b = parts(w);
  if (a && b) return a.length === b.length && a.every((x, i) => x === b[i]);
  return running.trim() === w;
}

/**
 * Reads the firmware version the settings name: bcdDevice or a descriptor string (info strings
 * need no open; `interface` opens the device and reads the run-time DFU interface's string).
 * `versionPattern` capture group 1 narrows a string; no match gives undefined.
 */
export async function readDfuVersion(
  device: UsbDevice,
  info: UsbDeviceInfo,
  s: DfuSettings,
): Promise<string | undefined> {
  let text: string | undefined;
  switch (s.versionSource) {
    case 'bcdDevice':
      return formatBcd(info.bcdDevice);
    case 'manufacturer':
      text = info.manufacturer;
      break;
    case 'product':
      text = info.product;
      break;
    case 'serialNumber':
      text = info.serialNumber;
      break;
    case 'interface': {
      const host = await DfuHost.open(device, {}, { timeouts: { controlMs: s.controlTimeoutMs } });
      try {
        text = host.altName;
      } finally {
        await host.close();
      }
      break;
    }
  }
  if (text === undefined || !s.versionPattern) return text;
  return new RegExp(s.versionPattern).exec(text)?.[1];
}
