import type { CanBus } from '../../../drivers/can/bus.js';
import type { Clock } from '../../../drivers/can/clock.js';
import { IsoTpChannel } from '../../../drivers/can/isotp/channel.js';
import { openCanBus, type CanBusOpener } from '../../../drivers/can/open-bus.js';
import { UdsClient } from '../../../drivers/can/uds/client.js';
import type { Logger } from '../../model/logger.js';
import type { UdsSettings } from './uds-config.js';
import { childLog } from '../../../drivers/shared/child-log.js';

/** A bus, the physical and functional ISO-TP channels and the UDS client of one step; closed as one. */
export class UdsConnection {
  private constructor(
    readonly bus: CanBus,
    readonly client: UdsClient,
    private readonly channels: IsoTpChannel[],
  ) {}

  /** Opens `settings.interface` through `open` (default: `mem:<name>` or SocketCAN) and builds the stack. */
  static async open(
    s: UdsSettings,
    log: Logger,
    open: CanBusOpener = openCanBus,
    clock?: Clock,
  ): Promise<UdsConnection> {
    const bus = await open(s.interface, { log: childLog(log, { component: 'can.bus', iface: s.interface }) });
    const isotpLog = childLog(log, { component: 'can.isotp', iface: s.interface });
    const env = clock ? { clock, log: isotpLog } : { log: isotpLog };
    const common = {
      ...(s.extendedIds === undefined ? {} : { extendedIds: s.extendedIds }),
      addressing: s.addressing,
      ...(s.txAddress === undefined ? {} : { txAddress: s.txAddress }),
      ...(s.rxAddress === undefined ? {} : { rxAddress: s.rxAddress }),
      padding: s.padding,
      blockSize: s.blockSize,
      stMinUs: s.stMinUs,
      timeouts: { nAsMs: s.nAsMs, nBsMs: s.nBsMs, nCrMs: s.nCrMs },
    };
    try {
      const phys = new IsoTpChannel(bus, { ...common, txId: s.txId, rxId: s.rxId, txDataLength: s.txDataLength }, env);
      // Functional requests are single frames only (reference §1.2); its rx id is never used.
      const func = new IsoTpChannel(
        bus,
        { ...common, txId: s.functionalId, rxId: s.functionalId, txDataLength: 8 },
        env,
      );
      const client = new UdsClient({
        transport: phys,
        functional: func,
        timeouts: { p2Ms: s.p2Ms, p2StarMs: s.p2StarMs, marginMs: s.p2MarginMs },
        requestAttempts: s.requestAttempts,
        log: childLog(log, { component: 'can.uds', iface: s.interface, txId: s.txId }),
        ...(clock ? { clock } : {}),
      });
      return new UdsConnection(bus, client, [phys, func]);
    } catch (e) {
      await bus.close();
      throw e;
    }
  }

  async close(): Promise<void> {
    for (const c of this.channels) c.close();
    await this.bus.close();
  }
}
