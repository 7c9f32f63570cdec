import type { Logger } from 'pino';
import type { BitTiming } from '../../drivers/can/bit-timing.js';
import type { CanBus } from '../../drivers/can/bus.js';
import type { Clock } from '../../drivers/can/clock.js';
import { IsoTpChannel } from '../../drivers/can/isotp/channel.js';
import type { IsoTpOptions } from '../../drivers/can/isotp/options.js';
import { MemoryCanNetwork } from '../../drivers/can/memory-bus.js';
import { UdsClient, type UdsClientOptions } from '../../drivers/can/uds/client.js';
import type { SecurityKeyFunction } from '../../drivers/can/uds/services/security-access.js';
import { EcuSimulator, type EcuSimulatorOptions } from './ecu-simulator.js';
import { VirtualClock } from './virtual-clock.js';

/** The simulator's default seed/key: key[i] = seed[i] XOR mask (EcuSimulatorOptions.keyMask). */
export function xorKey(mask: Uint8Array = Uint8Array.of(0x5a, 0xa5, 0x3c, 0xc3)): SecurityKeyFunction {
  return (seed) => seed.map((b, i) => b ^ mask[i % mask.length]!);
}

export interface UdsRigOptions {
  /** Default: a fresh VirtualClock (no real sleeps). */
  clock?: Clock;
  fd?: boolean;
  timing?: BitTiming;
  /** Tester-side ISO-TP options (txId/rxId default 0x7E0/0x7E8). */
  isotp?: Partial<IsoTpOptions>;
  sim?: Partial<Omit<EcuSimulatorOptions, 'bus'>>;
  client?: Partial<Omit<UdsClientOptions, 'transport'>>;
  /** Use these buses instead of a memory network (e.g. two SocketCanBus on vcan0). */
  buses?: { tester: CanBus; ecu: CanBus };
  log?: Logger;
}

export interface UdsRig {
  clock: Clock;
  network: MemoryCanNetwork | undefined;
  tester: CanBus;
  ecuBus: CanBus;
  sim: EcuSimulator;
  channel: IsoTpChannel;
  functional: IsoTpChannel;
  client: UdsClient;
  close(): Promise<void>;
}

let rigCount = 0;

/** Tester (ISO-TP + UdsClient) and an ECU simulator on one wire: the integration-test helper (style anchors §5). */
export function makeUdsRig(o: UdsRigOptions = {}): UdsRig {
  const clock = o.clock ?? new VirtualClock();
  const network = o.buses
    ? undefined
    : new MemoryCanNetwork(`rig${++rigCount}`, { fd: o.fd ?? true, clock, ...(o.timing ? { timing: o.timing } : {}) });
  const tester = o.buses?.tester ?? network!.join();
  const ecuBus = o.buses?.ecu ?? network!.join();
  const txId = o.isotp?.txId ?? 0x7e0;
  const rxId = o.isotp?.rxId ?? 0x7e8;
  const sim = new EcuSimulator({
    bus: ecuBus,
    rxId: txId,
    txId: rxId,
    clock,
    ...o.sim,
    ...(o.log ? { log: o.log.child({ component: 'sim' }) } : {}),
  });
  const env = { clock, ...(o.log ? { log: o.log } : {}) };
  const channel = new IsoTpChannel(tester, { ...o.isotp, txId, rxId }, env);
  const functional = new IsoTpChannel(tester, { ...o.isotp, txId: 0x7df, rxId: 0x7ff, txDataLength: 8 }, env);
  const client = new UdsClient({
    transport: channel,
    functional,
    clock,
    ...o.client,
    ...(o.log ? { log: o.log } : {}),
  });
  return {
    clock,
    network,
    tester,
    ecuBus,
    sim,
    channel,
    functional,
    client,
    async close() {
      sim.close();
      channel.close();
      functional.close();
      await tester.close();
      await ecuBus.close();
    },
  };
}
