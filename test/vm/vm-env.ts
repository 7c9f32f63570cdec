import { existsSync, readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { SocketCanBus } from '../../drivers/can/socketcan-bus.js';

/**
 * Shared setup of the vm suite (run by hw-fixtures/vm/run-vm-tests.sh, natively or in the qemu guest).
 * Every timeout is multiplied by SP_TIMEOUT_SCALE (20 in the guest: TCG runs code 15-20x slower).
 */
export const SCALE = Math.max(1, Number(process.env['SP_TIMEOUT_SCALE'] ?? '1') || 1);
export const IFACE = process.env['SP_VCAN'] ?? 'vcan0';
/** Test-level deadline: generous, scaled. */
export const TEST_TIMEOUT_MS = 120_000 * Math.min(SCALE, 5);

/** ms × SP_TIMEOUT_SCALE. */
export function scaled(ms: number): number {
  return ms * SCALE;
}

/**
 * Opens vcan through the real socketcan package, or skips with the reason (fails when CI=true,
 * where the rig must be there).
 */
export async function openVcan(t: TestContext): Promise<SocketCanBus | undefined> {
  if (!existsSync(`/sys/class/net/${IFACE}`)) {
    const why = `${IFACE} does not exist (run \`make vcan\` as root, or \`make test-vm\` for the qemu guest)`;
    if (process.env['CI'] === 'true') throw new Error(`vm rig missing in CI: ${why}`);
    t.skip(why);
    return undefined;
  }
  return SocketCanBus.open({ iface: IFACE, txTimeoutMs: scaled(1000), timestamps: true });
}

/** True when the kernel's ISO-TP protocol (can-isotp) is loaded. */
export function kernelIsoTpLoaded(): boolean {
  try {
    return readFileSync('/proc/modules', 'utf8').includes('can_isotp');
  } catch {
    return false;
  }
}
