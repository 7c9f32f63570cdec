import type { CanBus } from '../../drivers/can/bus.js';
import { sleep, systemClock, type Clock } from '../../drivers/can/clock.js';
import type { CanFrame } from '../../drivers/can/frame.js';
import { IsoTpChannel } from '../../drivers/can/isotp/channel.js';
import { UdsClient } from '../../drivers/can/uds/client.js';
import { isNegativeResponse } from '../../drivers/can/uds/errors.js';
import { decodeVersion } from '../../drivers/can/uds/flash-session.js';
import { Did } from '../../drivers/can/uds/services/read-data-by-identifier.js';
import { isBusError, throwIfAborted } from '../../drivers/shared/errors.js';
import type { Logger } from '../../src/model/logger.js';
import type { CanInterfaceConfig } from './can-config.js';

/** A UDS node found on an interface, with its identification DIDs (null: the ECU does not have it). */
export interface CanNode {
  interface: string;
  txId: number;
  rxId: number;
  serial: string | null;
  version: string | null;
  hardware: string | null;
  systemName: string | null;
}

/**
 * Finds UDS nodes on one bus (reference/bus-protocols.md §1.5): a functional TesterPresent (`3E 00`
 * as a single frame on functionalId) collects every response id in `responseIds` within
 * `responseTimeoutMs`; then each configured physical pair is probed with TesterPresent, one every
 * `probeIntervalMs` (rate limit: probes only `3E 00`, never a session change).
 */
export async function discoverNodes(
  bus: CanBus,
  cfg: CanInterfaceConfig,
  log: Logger,
  signal?: AbortSignal,
  clock: Clock = systemClock,
): Promise<{ txId: number; rxId: number }[]> {
  const found = new Map<number, { txId: number; rxId: number }>();
  if (cfg.functional) {
    const [lo, hi] = cfg.responseIds;
    const seen = new Set<number>();
    const unsubscribe = bus.subscribe(undefined, (f: CanFrame) => {
      // A positive TesterPresent answer is the single frame 02 7E 00 (or 03 7F 3E xx when refused).
      if (
        f.id >= lo &&
        f.id <= hi &&
        f.data.length >= 3 &&
        (f.data[0]! & 0xf0) === 0 &&
        (f.data[1] === 0x7e || (f.data[1] === 0x7f && f.data[2] === 0x3e))
      )
        seen.add(f.id);
    });
    try {
      const sf = Uint8Array.of(0x02, 0x3e, 0x00, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc);
      await bus.send({ id: cfg.functionalId, data: sf }, signal);
      log.debug(
        { iface: cfg.interface, waitMs: cfg.responseTimeoutMs },
        'functional TesterPresent sent; collecting responders',
      );
      await sleep(clock, cfg.responseTimeoutMs * 1000, signal);
    } finally {
      unsubscribe();
    }
    for (const rxId of [...seen].sort((a, b) => a - b)) found.set(rxId, { txId: rxId - cfg.responseOffset, rxId });
    log.debug({ iface: cfg.interface, responders: [...seen] }, 'functional discovery');
  }
  for (const p of cfg.physical) {
    throwIfAborted(signal);
    if (found.has(p.rxId)) continue;
    const ch = new IsoTpChannel(bus, { txId: p.txId, rxId: p.rxId, ...cfg.isotp }, { clock });
    try {
      const client = new UdsClient({
        transport: ch,
        timeouts: { p2Ms: cfg.responseTimeoutMs },
        requestAttempts: 1,
        clock,
      });
      await client.testerPresent({ signal });
      found.set(p.rxId, p);
    } catch (e) {
      if (!isBusError(e) || e.code === 'CANCELLED') throw e;
      // A negative answer still proves a UDS node is there.
      if (isNegativeResponse(e)) found.set(p.rxId, p);
      else
        log.debug(
          { iface: cfg.interface, txId: p.txId, code: (e as { code?: string }).code },
          'no UDS node at this id',
        );
    } finally {
      ch.close();
    }
    await sleep(clock, cfg.probeIntervalMs * 1000, signal);
  }
  return [...found.values()];
}

/** Reads F18C / F189 / F191 / F197 from one node; a DID the ECU refuses (NRC) reads as null. */
export async function identifyNode(
  bus: CanBus,
  cfg: CanInterfaceConfig,
  ids: { txId: number; rxId: number },
  log: Logger,
  signal?: AbortSignal,
  clock: Clock = systemClock,
): Promise<CanNode> {
  const ch = new IsoTpChannel(bus, { txId: ids.txId, rxId: ids.rxId, ...cfg.isotp }, { clock });
  const client = new UdsClient({ transport: ch, timeouts: { p2Ms: cfg.responseTimeoutMs }, requestAttempts: 2, clock });
  const read = async (did: number): Promise<string | null> => {
    try {
      return decodeVersion(await client.readDataByIdentifier(did, { signal }));
    } catch (e) {
      if (isNegativeResponse(e)) return null;
      throw e;
    }
  };
  try {
    const node: CanNode = {
      interface: cfg.interface,
      ...ids,
      serial: await read(Did.ecuSerialNumber),
      version: await read(Did.vehicleManufacturerEcuSoftwareVersionNumber),
      hardware: await read(Did.vehicleManufacturerEcuHardwareNumber),
      systemName: await read(Did.systemNameOrEngineType),
    };
    log.debug({ node }, 'CAN node identified');
    return node;
  } finally {
    ch.close();
  }
}
