import type { Logger } from 'pino';
import { PacedPort, type PacedPortOptions } from './paced-port.js';
import { openPtyPair, type PtyPair } from './pty-pair.js';
import { YmodemBootloaderSim, type YmodemBootloaderSimOptions } from './ymodem-bootloader-sim.js';

export interface YmodemRigOptions extends Omit<YmodemBootloaderSimOptions, 'port' | 'log'> {
  /** Line rate the simulated UART is paced at, baud; 0 = unpaced. Default 115200. */
  baudRate?: number;
  /**
   * What the `disappearAt` fault does: `unplug` kills socat, so the host port reads EIO
   * (`SERIAL_DISCONNECTED`), as when a USB-serial adapter is pulled; `silent` closes only the
   * simulator's pty end, so the host sees silence (an MCU that died behind a fixed UART). Default 'unplug'.
   */
  disappear?: 'unplug' | 'silent';
  /** Wire timestamps at the device's pty end ({@link PacedPortOptions.onWire}). */
  onWire?: PacedPortOptions['onWire'];
  log?: Logger;
}

/** A YMODEM bootloader simulator on one end of a socat pty pair; the code under test opens `port`. */
export interface YmodemRig {
  /** Host end: open it with the real `serialport` link. */
  readonly port: string;
  readonly sim: YmodemBootloaderSim;
  readonly paced: PacedPort;
  readonly pair: PtyPair;
  /** Stops the simulator and socat. Idempotent. */
  close(): Promise<void>;
}

/** Starts socat, opens the simulator's end paced at `baudRate`, and starts the simulator on it. */
export async function startYmodemRig(options: YmodemRigOptions = {}): Promise<YmodemRig> {
  const { baudRate = 115200, log, disappear = 'unplug', onWire, ...simOptions } = options;
  const pair = await openPtyPair();
  let paced: PacedPort;
  try {
    paced = await PacedPort.open({ path: pair.b, baudRate, ...(log ? { log } : {}), ...(onWire ? { onWire } : {}) });
  } catch (e) {
    await pair.close();
    throw e;
  }
  const port = {
    write: (d: Uint8Array) => paced.write(d),
    onData: (l: (d: Uint8Array) => void) => paced.onData(l),
    close: () => paced.close(),
    disappear: async () => {
      await paced.disappear();
      if (disappear === 'unplug') await pair.close();
    },
  };
  const sim = new YmodemBootloaderSim({ ...simOptions, port, ...(log ? { log } : {}) });
  let closing: Promise<void> | undefined;
  return {
    port: pair.a,
    sim,
    paced,
    pair,
    close: () =>
      (closing ??= (async () => {
        try {
          await sim.close();
        } finally {
          await pair.close();
        }
      })()),
  };
}
