import { isBusError } from '../../../drivers/shared/errors.js';
import { SensorProxyError } from '../../model/errors.js';
import type { ResolvedTarget } from './resolve-targets.js';

/**
 * What a CAN target's first read (ReadDataByIdentifier of the version, sent before anything is
 * written) says about it. A UDS server answers every physical request it is addressed by, with a
 * positive or a negative response (ISO 14229-1 §7.5, reference/bus-protocols.md §1.3), and even a
 * bootloader that knows no version DID answers NRC 0x31: so only silence after every attempt means
 * that no ECU listens on those ids. A negative response or a late one is an ECU: the flash goes on.
 */
export type CanReach = 'answered' | 'silent' | 'interface-down';

/** Classifies the error of the version read (undefined: it answered). */
export function canReachOf(error: unknown): CanReach {
  if (error === undefined) return 'answered';
  if (isBusError(error, 'UDS_TIMEOUT_P2')) return 'silent';
  if (isBusError(error, 'CAN_NETDOWN')) return 'interface-down';
  return 'answered';
}

/**
 * Refuses the flash (exit 2, nothing written) when a target did not answer its read: every such
 * target is named, with what to check.
 * @throws SensorProxyError TARGET_NOT_FOUND
 */
export function assertCanTargetsAnswer(reach: { target: ResolvedTarget; reach: CanReach }[]): void {
  const down = reach.filter((r) => r.reach === 'interface-down');
  if (down.length > 0) {
    const iface = String(down[0]!.target.component.properties?.['interface']);
    throw new SensorProxyError(
      'TARGET_NOT_FOUND',
      `CAN interface ${iface} is down: ${down.map((r) => r.target.label).join(', ')} cannot be reached`,
      {
        details: { target: down[0]!.target.label, targets: down.map((r) => r.target.label) },
        hint: `bring it up (ip link set ${iface} up type can bitrate 500000, or systemd-networkd); nothing was written`,
      },
    );
  }
  const silent = reach.filter((r) => r.reach === 'silent');
  if (silent.length === 0) return;
  const names = silent.map((r) => r.target.label);
  const iface = String(silent[0]!.target.component.properties?.['interface']);
  throw new SensorProxyError(
    'TARGET_NOT_FOUND',
    `no ECU answers at ${names.join(', ')} (request id / response id): ` +
      `the version read (ReadDataByIdentifier) got no response`,
    {
      details: { target: names[0], targets: names },
      hint:
        `check the ids (candump ${iface} shows which ids the ECUs answer on; ` +
        `--can IFACE:TX:RX takes the tester's request id first), that the ECU is powered and on this bus, ` +
        `and the bitrate; nothing was written`,
    },
  );
}
