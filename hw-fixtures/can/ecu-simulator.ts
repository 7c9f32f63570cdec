import type { Logger } from 'pino';
import type { CanBus } from '../../drivers/can/bus.js';
import { sleep, systemClock, type Clock } from '../../drivers/can/clock.js';
import { IsoTpChannel, type IsoTpFrameKind } from '../../drivers/can/isotp/channel.js';
import type { IsoTpOptions } from '../../drivers/can/isotp/options.js';
import { encodeFlowControl } from '../../drivers/can/isotp/pci.js';
import { isCancelled } from '../../drivers/shared/errors.js';
import type { EcuFaultCounters, EcuFaults } from './ecu-faults.js';
import { EcuServices, type EcuIdentity } from './ecu-services.js';
import { FlashMemory, type FlashMemoryOptions } from './flash-memory.js';

export interface EcuSimulatorOptions {
  bus: CanBus;
  /** Id the ECU listens on (tester → ECU). Default 0x7E0. */
  rxId?: number;
  /** Id the ECU answers on. Default 0x7E8. */
  txId?: number;
  /** Functional request id (single frames). Default 0x7DF; null = none. */
  functionalId?: number | null;
  /** ISO-TP options of the ECU side (BS/STmin it announces, padding, TX_DL…). */
  isotp?: Partial<IsoTpOptions>;
  identity?: Partial<EcuIdentity>;
  flash?: FlashMemoryOptions;
  /** P2server_max / P2*server_max announced in the session response. Defaults 50 / 5000 ms (ISO 14229-1 Table 5). */
  p2ServerMs?: number;
  p2StarServerMs?: number;
  /** Odd security level of the programming unlock. Default 0x01. */
  securityLevel?: number;
  /** XOR mask of the seed/key algorithm (key[i] = seed[i] ^ mask[i % len]). Default 0x5A 0xA5 0x3C 0xC3. */
  keyMask?: Uint8Array;
  /** maxNumberOfBlockLength answered to RequestDownload (whole request incl. SID+BSC). Default 4095. */
  maxBlockLength?: number;
  /** Silent time after an ECU reset, ms. Default 50. */
  resetTimeMs?: number;
  clock?: Clock;
  log?: Logger;
}

/**
 * A UDS ECU with a bootloader, for tests and by hand (`ecu-sim-main.ts`): it speaks real ISO-TP
 * frames on any {@link CanBus} (MemoryCanBus or vcan0), keeps a flash model with erase/write times,
 * identification DIDs, seed/key security, resets into the flashed image, and has fault switches
 * ({@link EcuFaults}). Service logic lives in {@link EcuServices}.
 */
export class EcuSimulator {
  readonly flash: FlashMemory;
  readonly services: EcuServices;
  faults: EcuFaults = {};
  readonly faultCounters: EcuFaultCounters = {
    framesDropped: 0,
    lateFlowControls: 0,
    pendingSent: 0,
    resets: 0,
    blocksRefused: 0,
    lateResponses: 0,
  };
  /** Every request received, in order (first byte = SID). */
  readonly requests: Uint8Array[] = [];
  private readonly phys: IsoTpChannel;
  private readonly func: IsoTpChannel | undefined;
  private readonly clock: Clock;
  private readonly abort = new AbortController();
  private silentUntil = 0;
  private dropSkipped = 0;
  private lateFcSent = 0;

  constructor(private readonly o: EcuSimulatorOptions) {
    this.clock = o.clock ?? systemClock;
    this.flash = new FlashMemory(this.clock, o.flash);
    const rxId = o.rxId ?? 0x7e0;
    const txId = o.txId ?? 0x7e8;
    const env = {
      clock: this.clock,
      ...(o.log ? { log: o.log } : {}),
      hooks: { beforeSend: (d: Uint8Array, k: IsoTpFrameKind) => this.beforeSend(d, k) },
    };
    this.phys = new IsoTpChannel(o.bus, { ...o.isotp, txId, rxId }, env);
    const fid = o.functionalId === undefined ? 0x7df : o.functionalId;
    this.func =
      fid === null
        ? undefined
        : new IsoTpChannel(o.bus, { ...o.isotp, txId, rxId: fid, txDataLength: 8 }, { clock: this.clock });
    this.services = new EcuServices(this, {
      flash: this.flash,
      identity: o.identity ?? {},
      p2ServerMs: o.p2ServerMs ?? 50,
      p2StarServerMs: o.p2StarServerMs ?? 5000,
      securityLevel: o.securityLevel ?? 1,
      keyMask: o.keyMask ?? Uint8Array.of(0x5a, 0xa5, 0x3c, 0xc3),
      maxBlockLength: o.maxBlockLength ?? 4095,
      clock: this.clock,
    });
    void this.serve(this.phys, false);
    if (this.func) void this.serve(this.func, true);
  }

  /** Ids and options of the ECU side, for logs. */
  get ids(): { rxId: number; txId: number } {
    return { rxId: this.phys.options.rxId, txId: this.phys.options.txId };
  }

  /** Simulates a power cycle: default session, locked, download state lost, silent for resetTimeMs. */
  powerCycle(): void {
    this.faultCounters.resets++;
    this.services.reset();
    this.phys.discard();
    this.silentUntil = this.clock.now() + (this.o.resetTimeMs ?? 50) * 1000;
  }

  /** Sends a response on the physical channel (also used for NRC 0x78 while busy). */
  async respond(data: Uint8Array): Promise<void> {
    if (this.clock.now() < this.silentUntil) return;
    await this.phys.send(data, this.abort.signal);
  }

  /** Waits on the simulator's clock (flash times, pending intervals). */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return sleep(this.clock, ms * 1000, signal ? AbortSignal.any([signal, this.abort.signal]) : this.abort.signal);
  }

  close(): void {
    this.abort.abort(new Error('simulator closed'));
    this.phys.close();
    this.func?.close();
  }

  private async serve(ch: IsoTpChannel, functional: boolean): Promise<void> {
    while (!this.abort.signal.aborted) {
      let req: Uint8Array;
      try {
        req = await ch.receive(Infinity, this.abort.signal);
      } catch (e) {
        if (isCancelled(e) || this.abort.signal.aborted) return;
        // Reception errors (wrong SN after a dropped frame, N_Cr) lose the request, as on a real ECU.
        this.o.log?.debug({ err: e }, 'simulator: request lost');
        continue;
      }
      if (this.clock.now() < this.silentUntil) continue;
      this.requests.push(req);
      try {
        await this.services.handle(req, functional);
      } catch (e) {
        if (isCancelled(e) || this.abort.signal.aborted) return;
        this.o.log?.warn({ err: e }, 'simulator: response failed');
      }
    }
  }

  private async beforeSend(data: Uint8Array, kind: IsoTpFrameKind): Promise<boolean> {
    const drop = this.faults.dropFrame;
    if (drop && drop.count > 0 && drop.kind === kind) {
      if (this.dropSkipped < (drop.skip ?? 0)) this.dropSkipped++;
      else {
        drop.count--;
        this.dropSkipped = 0;
        this.faultCounters.framesDropped++;
        return false;
      }
    }
    const late = this.faults.lateFlowControl;
    if (kind === 'FC' && late && (late.count === undefined || this.lateFcSent < late.count)) {
      this.lateFcSent++;
      this.faultCounters.lateFlowControls++;
      for (let i = 0; i < (late.waitFrames ?? 0); i++) {
        await this.wait(late.delayMs);
        const wait = encodeFlowControl(
          { prefix: undefined, txDataLength: 8, padding: this.phys.options.padding },
          'WAIT',
          0,
          0,
        );
        await this.o.bus.send({ id: this.phys.options.txId, extended: this.phys.options.extendedIds, data: wait });
      }
      await this.wait(late.delayMs);
    }
    return true;
  }
}
