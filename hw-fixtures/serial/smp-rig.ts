import { openPtyPair, type PtyPair } from './pty-pair.js';
import { SmpDeviceSim, type SmpDeviceSimOptions } from './smp-device-sim.js';

/** A pty pair with the SMP simulator on end B; the host opens `port` (end A). */
export interface SmpRig {
  pair: PtyPair;
  sim: SmpDeviceSim;
  /** The path the host (agent) opens. */
  port: string;
  close(): Promise<void>;
}

/** Starts socat and the simulator. Close it in the test's `after`/`finally`. */
export async function startSmpRig(options: Omit<SmpDeviceSimOptions, 'path'> = {}): Promise<SmpRig> {
  const pair = await openPtyPair();
  let sim: SmpDeviceSim;
  try {
    sim = await SmpDeviceSim.start({ ...options, path: pair.b });
  } catch (e) {
    await pair.close();
    throw e;
  }
  return {
    pair,
    sim,
    port: pair.a,
    close: async () => {
      await sim.close();
      await pair.close();
    },
  };
}
