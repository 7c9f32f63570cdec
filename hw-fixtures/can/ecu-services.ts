import { randomBytes } from 'node:crypto';
import type { Clock } from '../../drivers/can/clock.js';
import { crc32 } from '../../drivers/can/uds/crc32.js';
import { Nrc } from '../../drivers/can/uds/nrc.js';
import { readUint } from '../../drivers/can/uds/services/service.js';
import type { EcuFaultCounters, EcuFaults } from './ecu-faults.js';
import type { FlashMemory } from './flash-memory.js';
import { readImageVersion } from './firmware-image.js';

/** What the simulated ECU answers to identification DIDs (reference/bus-protocols.md §1.5). */
export interface EcuIdentity {
  /** 0xF189 application software version. */
  version: string;
  /** 0xF18C serial number. */
  serial: string;
  /** 0xF191 hardware number. */
  hardware: string;
  /** 0xF197 system name. */
  systemName: string;
  /** More DIDs (raw data records). */
  extraDids?: Record<number, Uint8Array>;
}

export interface EcuServiceConfig {
  flash: FlashMemory;
  identity: Partial<EcuIdentity>;
  p2ServerMs: number;
  p2StarServerMs: number;
  securityLevel: number;
  keyMask: Uint8Array;
  maxBlockLength: number;
  clock: Clock;
}

/** Routine id of the CRC-32 memory check (OEM-specific range, reference §1.3: "e.g. 0x0202"). */
export const CHECK_MEMORY_RID = 0x0202;
/** SecurityAccess lockout after 3 invalid keys (NRC 0x36), then NRC 0x37 for this long. */
const LOCKOUT_MS = 10_000;
/** NRCs an ECU does not send to functional requests (reference §1.3). */
const SUPPRESSED_ON_FUNCTIONAL = new Set([0x11, 0x12, 0x31, 0x7e, 0x7f]);

interface Download {
  address: number;
  size: number;
  received: number;
  nextBsc: number;
  lastBsc: number | undefined;
  blocks: number;
}

/**
 * What the UDS server logic needs of the simulated ECU around it (the transport, the clock, the
 * fault switches); EcuSimulator provides it. An interface here, so that this file does not import
 * ecu-simulator.ts back.
 */
export interface EcuHost {
  readonly faults: EcuFaults;
  readonly faultCounters: EcuFaultCounters;
  /** Sends one UDS response on the ECU's ISO-TP channel. */
  respond(data: Uint8Array): Promise<void>;
  /** Waits on the ECU's clock. */
  wait(ms: number, signal?: AbortSignal): Promise<void>;
  /** Resets the ECU (as the ECUReset service or a power loss does). */
  powerCycle(): void;
}

/** The UDS server logic of the simulated ECU (EcuSimulator): session, security, erase/download/check/reset. */
export class EcuServices {
  session = 1;
  unlocked = false;
  version: string;
  /** Result of the last check routine on the last download (undefined: not checked). */
  checkPassed: boolean | undefined;
  private seed: Uint8Array | undefined;
  private failedKeys = 0;
  private lockedUntil = 0;
  private download: Download | undefined;
  private lastDownload: { address: number; size: number } | undefined;

  constructor(
    private readonly sim: EcuHost,
    private readonly cfg: EcuServiceConfig,
  ) {
    this.version = cfg.identity.version ?? '1.0.0';
  }

  /** Power-on state; after a successful check the application in flash is what runs (its version). */
  reset(): void {
    if (this.checkPassed && this.lastDownload) {
      const v = readImageVersion(this.cfg.flash.read(this.lastDownload.address, 32));
      if (v !== undefined) this.version = v;
    }
    this.session = 1;
    this.unlocked = false;
    this.seed = undefined;
    this.download = undefined;
  }

  private lastSid = 0;
  private previousSid = 0;

  async handle(req: Uint8Array, functional: boolean): Promise<void> {
    const sid = req[0]!;
    const previous = this.lastSid;
    this.lastSid = sid;
    const storm = this.sim.faults.responsePendingStorm;
    if (storm && storm.count > 0 && (storm.sid === undefined || storm.sid === sid)) {
      const n = storm.count;
      storm.count = 0;
      for (let i = 0; i < n; i++) {
        await this.pending(sid);
        await this.sim.wait(storm.intervalMs ?? this.cfg.p2ServerMs / 2);
      }
    }
    const suppress = [0x10, 0x11, 0x27, 0x31, 0x3e].includes(sid) && req.length > 1 && (req[1]! & 0x80) !== 0;
    this.previousSid = previous;
    const resp = await this.dispatch(sid, req);
    if (resp === undefined) return;
    if (resp[0] === 0x7f) {
      if (functional && SUPPRESSED_ON_FUNCTIONAL.has(resp[2]!)) return;
    } else if (suppress) return;
    else await this.maybeLate(sid);
    await this.sim.respond(resp);
  }

  private lateSkipped = 0;

  /** The lateResponse fault: holds this positive response to `sid` back. */
  private async maybeLate(sid: number): Promise<void> {
    const late = this.sim.faults.lateResponse;
    if (!late || late.sid !== sid || (late.count ?? 1) <= 0) return;
    if (this.lateSkipped < (late.skip ?? 0)) {
      this.lateSkipped++;
      return;
    }
    late.count = (late.count ?? 1) - 1;
    this.lateSkipped = 0;
    this.sim.faultCounters.lateResponses++;
    await this.sim.wait(late.delayMs);
  }

  private nrc(sid: number, code: number): Uint8Array {
    return Uint8Array.of(0x7f, sid, code);
  }

  private pending(sid: number): Promise<void> {
    this.sim.faultCounters.pendingSent++;
    return this.sim.respond(this.nrc(sid, Nrc.requestCorrectlyReceivedResponsePending));
  }

  /** Runs `work`; answers NRC 0x78 before P2server runs out and again before each P2*server. */
  private async long<T>(sid: number, work: Promise<T>): Promise<T> {
    let done = false;
    const result = work.finally(() => {
      done = true;
    });
    let waitMs = this.cfg.p2ServerMs / 2;
    for (;;) {
      const tick = new AbortController();
      const ticked = this.sim.wait(waitMs, tick.signal).then(
        () => 'tick' as const,
        // Aborted below once the work is done: that wait simply ends.
        () => 'cancelled' as const,
      );
      const r = await Promise.race([result.then(() => 'done' as const), ticked]);
      tick.abort();
      if (r === 'done' || done) return result;
      await this.pending(sid);
      waitMs = this.cfg.p2StarServerMs / 2;
    }
  }

  private requireProgramming(sid: number, needUnlock: boolean): Uint8Array | undefined {
    if (this.session !== 2) return this.nrc(sid, Nrc.serviceNotSupportedInActiveSession);
    if (needUnlock && !this.unlocked) return this.nrc(sid, Nrc.securityAccessDenied);
    return undefined;
  }

  private async dispatch(sid: number, req: Uint8Array): Promise<Uint8Array | undefined> {
    switch (sid) {
      case 0x10:
        return this.sessionControl(req);
      case 0x11: {
        const type = (req[1] ?? 0) & 0x7f;
        if (req.length !== 2) return this.nrc(sid, Nrc.incorrectMessageLengthOrInvalidFormat);
        if (type < 1 || type > 3) return this.nrc(sid, Nrc.subFunctionNotSupported);
        // The positive response goes out before the reset (reference §1.3).
        if ((req[1]! & 0x80) === 0) await this.sim.respond(Uint8Array.of(0x51, type));
        this.sim.powerCycle();
        return undefined;
      }
      case 0x22:
        return this.readDid(req);
      case 0x27:
        return this.securityAccess(req);
      case 0x31:
        return this.routine(req);
      case 0x34:
        return this.requestDownload(req);
      case 0x36:
        return this.transferData(req);
      case 0x37: {
        const d = this.download;
        // A repeat right after a completed exit (tester retry after a lost response) is acknowledged again.
        if (!d && this.lastDownload && this.previousSid === 0x37) return Uint8Array.of(0x77);
        if (!d || d.received !== d.size) return this.nrc(sid, Nrc.requestSequenceError);
        this.cfg.flash.seal(d.address, d.size);
        this.lastDownload = { address: d.address, size: d.size };
        this.download = undefined;
        return Uint8Array.of(0x77);
      }
      case 0x3e:
        if (req.length !== 2) return this.nrc(sid, Nrc.incorrectMessageLengthOrInvalidFormat);
        if ((req[1]! & 0x7f) !== 0) return this.nrc(sid, Nrc.subFunctionNotSupported);
        return Uint8Array.of(0x7e, 0x00);
      default:
        return this.nrc(sid, Nrc.serviceNotSupported);
    }
  }

  private async sessionControl(req: Uint8Array): Promise<Uint8Array> {
    const s = (req[1] ?? 0) & 0x7f;
    if (req.length !== 2) return this.nrc(0x10, Nrc.incorrectMessageLengthOrInvalidFormat);
    if (s < 1 || s > 3) return this.nrc(0x10, Nrc.subFunctionNotSupported);
    if (s === 2 && this.session !== 2) {
      // Entering programming reboots into the bootloader: it answers 0x78 first (reference §1.3).
      await this.pending(0x10);
      await this.sim.wait(20);
    }
    this.session = s;
    this.unlocked = false;
    this.seed = undefined;
    const p2 = this.cfg.p2ServerMs;
    const p2s = Math.round(this.cfg.p2StarServerMs / 10);
    return Uint8Array.of(0x50, s, p2 >> 8, p2 & 0xff, p2s >> 8, p2s & 0xff);
  }

  private readDid(req: Uint8Array): Uint8Array {
    if (req.length !== 3) return this.nrc(0x22, Nrc.incorrectMessageLengthOrInvalidFormat);
    const did = (req[1]! << 8) | req[2]!;
    const id = this.cfg.identity;
    const text: Record<number, string | undefined> = {
      0xf189: this.version,
      0xf18c: id.serial ?? 'SIM00001',
      0xf191: id.hardware ?? 'HW-1',
      0xf197: id.systemName ?? 'sim-ecu',
    };
    const data = text[did] !== undefined ? Buffer.from(text[did]!, 'ascii') : id.extraDids?.[did];
    if (!data) return this.nrc(0x22, Nrc.requestOutOfRange);
    return Uint8Array.of(0x62, req[1]!, req[2]!, ...data);
  }

  private securityAccess(req: Uint8Array): Uint8Array {
    const sub = (req[1] ?? 0) & 0x7f;
    if (this.session === 1) return this.nrc(0x27, Nrc.serviceNotSupportedInActiveSession);
    const level = this.cfg.securityLevel;
    if (sub !== level && sub !== level + 1) return this.nrc(0x27, Nrc.subFunctionNotSupported);
    if (this.cfg.clock.now() < this.lockedUntil) return this.nrc(0x27, Nrc.requiredTimeDelayNotExpired);
    if (sub === level) {
      if (req.length !== 2) return this.nrc(0x27, Nrc.incorrectMessageLengthOrInvalidFormat);
      this.seed = this.unlocked ? new Uint8Array(4) : new Uint8Array(randomBytes(4));
      if (this.seed.every((b) => b === 0)) this.seed[0] = 1;
      if (this.unlocked) this.seed.fill(0);
      return Uint8Array.of(0x67, level, ...this.seed);
    }
    if (!this.seed) return this.nrc(0x27, Nrc.requestSequenceError);
    const expected = this.seed.map((b, i) => b ^ this.cfg.keyMask[i % this.cfg.keyMask.length]!);
    const key = req.subarray(2);
    this.seed = undefined;
    if (key.length !== expected.length || key.some((b, i) => b !== expected[i])) {
      if (++this.failedKeys >= 3) {
        this.failedKeys = 0;
        this.lockedUntil = this.cfg.clock.now() + LOCKOUT_MS * 1000;
        return this.nrc(0x27, Nrc.exceedNumberOfAttempts);
      }
      return this.nrc(0x27, Nrc.invalidKey);
    }
    this.failedKeys = 0;
    this.unlocked = true;
    return Uint8Array.of(0x67, level + 1);
  }

  private async routine(req: Uint8Array): Promise<Uint8Array> {
    if (req.length < 4) return this.nrc(0x31, Nrc.incorrectMessageLengthOrInvalidFormat);
    const type = req[1]! & 0x7f;
    const rid = (req[2]! << 8) | req[3]!;
    const ok = (status: number) => Uint8Array.of(0x71, type, req[2]!, req[3]!, status);
    if (type !== 1) return this.nrc(0x31, Nrc.subFunctionNotSupported);
    const deny = this.requireProgramming(0x31, true);
    if (deny) return deny;
    const flash = this.cfg.flash;
    switch (rid) {
      case 0xff00: {
        // Option record: ALFID + address + size (OEM-typical); none = whole flash.
        let address = flash.base;
        let size = flash.size;
        if (req.length > 4) {
          const alfid = req[4]!;
          const al = alfid & 0x0f;
          const sl = alfid >> 4;
          if (req.length !== 5 + al + sl) return this.nrc(0x31, Nrc.incorrectMessageLengthOrInvalidFormat);
          address = readUint(req.subarray(5, 5 + al));
          size = readUint(req.subarray(5 + al, 5 + al + sl));
        }
        if (!flash.contains(address, size)) return this.nrc(0x31, Nrc.requestOutOfRange);
        await this.long(0x31, flash.erase(address, size));
        this.checkPassed = undefined;
        return ok(0x00);
      }
      case CHECK_MEMORY_RID: {
        if (req.length !== 8 || !this.lastDownload)
          return this.nrc(
            0x31,
            this.lastDownload ? Nrc.incorrectMessageLengthOrInvalidFormat : Nrc.requestSequenceError,
          );
        const want = readUint(req.subarray(4, 8));
        const d = this.lastDownload;
        const got = await this.long(
          0x31,
          this.sim.wait(5).then(() => crc32(flash.read(d.address, d.size))),
        );
        this.checkPassed = got === want;
        return ok(this.checkPassed ? 0x00 : 0x01);
      }
      case 0xff01:
        return ok(this.checkPassed ? 0x00 : 0x01);
      default:
        return this.nrc(0x31, Nrc.requestOutOfRange);
    }
  }

  private requestDownload(req: Uint8Array): Uint8Array {
    const deny = this.requireProgramming(0x34, true);
    if (deny) return deny;
    if (req.length < 3) return this.nrc(0x34, Nrc.incorrectMessageLengthOrInvalidFormat);
    const dfi = req[1]!;
    const al = req[2]! & 0x0f;
    const sl = req[2]! >> 4;
    if (al < 1 || sl < 1 || req.length !== 3 + al + sl)
      return this.nrc(0x34, Nrc.incorrectMessageLengthOrInvalidFormat);
    if (dfi !== 0) return this.nrc(0x34, Nrc.requestOutOfRange);
    const address = readUint(req.subarray(3, 3 + al));
    const size = readUint(req.subarray(3 + al, 3 + al + sl));
    if (size === 0 || !this.cfg.flash.contains(address, size)) return this.nrc(0x34, Nrc.requestOutOfRange);
    if (!this.cfg.flash.isErased(address, size)) return this.nrc(0x34, Nrc.uploadDownloadNotAccepted);
    this.download = { address, size, received: 0, nextBsc: 1, lastBsc: undefined, blocks: 0 };
    this.checkPassed = undefined;
    const max = this.cfg.maxBlockLength;
    return Uint8Array.of(0x74, 0x20, max >> 8, max & 0xff);
  }

  private async transferData(req: Uint8Array): Promise<Uint8Array | undefined> {
    const d = this.download;
    if (!d) return this.nrc(0x36, Nrc.requestSequenceError);
    if (req.length < 2) return this.nrc(0x36, Nrc.incorrectMessageLengthOrInvalidFormat);
    const bsc = req[1]!;
    const faults = this.sim.faults;
    if (faults.resetMidTransfer && d.blocks >= faults.resetMidTransfer.afterBlocks) {
      delete faults.resetMidTransfer;
      this.sim.powerCycle();
      return undefined;
    }
    // A repeat of the last accepted block (tester retry after a lost response) is acknowledged without rewriting (reference §1.3).
    if (d.lastBsc !== undefined && bsc === d.lastBsc) return Uint8Array.of(0x76, bsc);
    if (bsc !== d.nextBsc) return this.nrc(0x36, Nrc.wrongBlockSequenceCounter);
    const refuse = faults.refuseBlock;
    if (refuse && refuse.block === d.blocks + 1 && (refuse.times ?? 1) > 0) {
      refuse.times = (refuse.times ?? 1) - 1;
      this.sim.faultCounters.blocksRefused++;
      return this.nrc(0x36, refuse.nrc ?? Nrc.generalProgrammingFailure);
    }
    const data = req.subarray(2);
    if (data.length > this.cfg.maxBlockLength - 2) return this.nrc(0x36, Nrc.incorrectMessageLengthOrInvalidFormat);
    if (d.received + data.length > d.size) return this.nrc(0x36, Nrc.transferDataSuspended);
    const ok = await this.long(0x36, this.cfg.flash.write(d.address + d.received, data));
    if (!ok) return this.nrc(0x36, Nrc.generalProgrammingFailure);
    d.received += data.length;
    d.blocks++;
    d.lastBsc = bsc;
    d.nextBsc = (bsc + 1) & 0xff;
    return Uint8Array.of(0x76, bsc);
  }
}
