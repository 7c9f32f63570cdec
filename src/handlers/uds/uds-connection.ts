import type { CanBus } from '../../../drivers/can/bus.js';
import type { Clock } from '../../../drivers/can/clock.js';
import { chooseIsoTpBackend } from '../../../drivers/can/isotp-backend.js';
import { IsoTpChannel } from '../../../drivers/can/isotp/channel.js';
import type { IsoTpOptions } from '../../../drivers/can/isotp/options.js';
import type { IsoTpBackend, IsoTpTransport } from '../../../drivers/can/isotp/transport.js';
import { KernelIsoTpChannel } from '../../../drivers/can/kernel-isotp/kernel-channel.js';
import { openCanBus, type CanBusOpener } from '../../../drivers/can/open-bus.js';
import { UdsClient } from '../../../drivers/can/uds/client.js';
import type { Logger } from '../../model/logger.js';
import type { UdsSettings } from './uds-config.js';
import { childLog } from '../../../drivers/shared/child-log.js';

/**
 * The physical and functional ISO-TP connections and the UDS client of one step; closed as one.
 * The ISO-TP backend follows `isotp.backend` (chooseIsoTpBackend): the kernel's CAN_ISOTP sockets need
 * no raw bus; ours runs on a bus opened through `open`.
 */
export class UdsConnection {
  private constructor(
    readonly backend: IsoTpBackend,
    readonly client: UdsClient,
    private readonly transports: IsoTpTransport[],
    private readonly bus: CanBus | undefined,
  ) {}

  /** Opens `settings.interface` with the configured ISO-TP backend and builds the stack. */
  static async open(
    s: UdsSettings,
    log: Logger,
    open: CanBusOpener = openCanBus,
    clock?: Clock,
  ): Promise<UdsConnection> {
    const choice = chooseIsoTpBackend(s.isotp.backend, s.interface);
    log.info(
      { iface: s.interface, backend: choice.backend, reason: choice.reason },
      `ISO-TP backend: ${choice.backend}`,
    );
    const isotpLog = childLog(log, { component: 'can.isotp', iface: s.interface, backend: choice.backend });
    const env = clock ? { clock, log: isotpLog } : { log: isotpLog };
    const common: Omit<IsoTpOptions, 'txId' | 'rxId'> = {
      ...(s.extendedIds === undefined ? {} : { extendedIds: s.extendedIds }),
      addressing: s.addressing,
      ...(s.txAddress === undefined ? {} : { txAddress: s.txAddress }),
      ...(s.rxAddress === undefined ? {} : { rxAddress: s.rxAddress }),
      padding: s.padding,
      blockSize: s.blockSize,
      stMinUs: s.stMinUs,
      timeouts: { nAsMs: s.nAsMs, nBsMs: s.nBsMs, nCrMs: s.nCrMs },
    };
    const phys = { ...common, txId: s.txId, rxId: s.rxId, txDataLength: s.txDataLength };
    // Functional requests are single frames only (reference §1.2); their rx id is never used.
    const func = { ...common, txId: s.functionalId, rxId: s.functionalId, txDataLength: 8 };
    const clientOf = (transport: IsoTpTransport, functional: IsoTpTransport) =>
      new UdsClient({
        transport,
        functional,
        timeouts: { p2Ms: s.p2Ms, p2StarMs: s.p2StarMs, marginMs: s.p2MarginMs },
        requestAttempts: s.requestAttempts,
        log: childLog(log, { component: 'can.uds', iface: s.interface, txId: s.txId }),
        ...(clock ? { clock } : {}),
      });

    if (choice.backend === 'kernel') {
      const p = KernelIsoTpChannel.open(s.interface, phys, env);
      try {
        const f = KernelIsoTpChannel.open(s.interface, { ...func, sfBroadcast: true }, env);
        return new UdsConnection('kernel', clientOf(p, f), [p, f], undefined);
      } catch (e) {
        p.close();
        throw e;
      }
    }
    const bus = await open(s.interface, { log: childLog(log, { component: 'can.bus', iface: s.interface }) });
    try {
      const p = new IsoTpChannel(bus, phys, env);
      const f = new IsoTpChannel(bus, func, env);
      return new UdsConnection('user', clientOf(p, f), [p, f], bus);
    } catch (e) {
      await bus.close();
      throw e;
    }
  }

  async close(): Promise<void> {
    for (const t of this.transports) t.close();
    await this.bus?.close();
  }
}
