import { createHash } from 'node:crypto';
import { DfuRequest, DfuState, DfuStatus, dfuStateName, type DfuStatusName } from '../../drivers/usb/dfu/constants.js';
import { configDescriptor, deviceDescriptor, stringText } from './dfu-sim-descriptors.js';
import { standardRequest, type ControlReply, type SetupPacket } from './standard-requests.js';
import { DfuseFlash } from './dfuse-flash.js';
import { resolveDfuSimOptions, versionFromImage, type DfuSimOptions } from './dfu-sim-options.js';

export type { ControlReply, SetupPacket };

/** What the bus binding must do after the reply: re-enumerate in the new mode, or vanish. */
export type BusAction = { type: 'reenumerate'; mode: 'runtime' | 'dfu'; delayMs: number } | { type: 'vanish' };

/** Counters a test reads to assert what crossed the wire. */
export interface DfuSimStats {
  requests: Record<string, number>;
  /** Data blocks taken (all downloads). */
  blocks: number;
  /** Polls that came before the announced bwPollTimeout had elapsed. */
  earlyPolls: number;
  /** DNLOADs whose wBlockNum skipped ahead (a block lost between host and device; must stay 0). */
  lostBlocks: number;
  /** Completed manifestations. */
  manifests: number;
  enumerations: number;
}

const REQUEST_NAMES = new Map<number, string>(Object.entries(DfuRequest).map(([k, v]) => [v, k]));

/**
 * The DFU 1.1 / DfuSe device state machine (DFU 1.1 §6 and appendix A; reference/bus-protocols.md
 * §3.1-3.2), independent of the bus. The gadgetfs binding (qemu guest) and the in-process WebUSB
 * device feed it setup packets and carry out its {@link BusAction}s.
 */
export class DfuDeviceModel {
  readonly options: DfuSimOptions;
  mode: 'runtime' | 'dfu';
  state: number;
  status: number = DfuStatus.OK;
  /** bcdDevice of the installed firmware. */
  version: number;
  /** The manifested plain-DFU image. */
  image = new Uint8Array(0);
  readonly flash: DfuseFlash | undefined;
  readonly stats: DfuSimStats = {
    requests: {},
    blocks: 0,
    earlyPolls: 0,
    lostBlocks: 0,
    manifests: 0,
    enumerations: 0,
  };
  /** Set by the binding: called when the device must leave the bus or re-enumerate. */
  onBusAction: (a: BusAction) => void = () => {};

  private pending: Uint8Array[] = [];
  private pendingSize = 0;
  private downloadBlock = 0;
  private expectedBlockNum = 0;
  private busyUntil = 0;
  private busyFor = 0;
  private reportPoll = 0;
  private afterBusy: number = DfuState.dfuDNLOAD_IDLE;
  private uploadOffset = 0;
  private dfuseLeave = false;
  private faultsUsed = { stall: 0, error: 0, sequence: 0 };

  constructor(
    partial: Partial<DfuSimOptions> = {},
    private readonly now: () => number = () => performance.now(),
  ) {
    this.options = resolveDfuSimOptions(partial);
    this.mode = this.options.startInDfuMode ? 'dfu' : 'runtime';
    this.state = this.mode === 'dfu' ? DfuState.dfuIDLE : DfuState.appIDLE;
    this.version = this.options.version;
    this.flash = this.options.dfuse ? new DfuseFlash(this.options.dfuse, this.options.eraseTimeMs) : undefined;
  }

  deviceDescriptor(): Uint8Array {
    return deviceDescriptor(this.options, this.mode, this.version);
  }
  configDescriptor(): Uint8Array {
    return configDescriptor(this.options, this.mode);
  }
  stringText(index: number): string | undefined {
    return stringText(this.options, this.mode, this.version, index);
  }

  /** SHA-256 (hex) of the manifested image, for tests. */
  imageSha256(): string {
    return createHash('sha256').update(this.image).digest('hex');
  }

  /** Bus reset or (re-)attach: the binding calls this when the host resets the port. */
  busReset(): void {
    this.stats.enumerations++;
    if (
      this.mode === 'dfu' &&
      (this.state === DfuState.dfuMANIFEST_WAIT_RESET || (this.state === DfuState.dfuIDLE && this.stats.manifests > 0))
    ) {
      this.enterMode('runtime');
      this.onBusAction({ type: 'reenumerate', mode: 'runtime', delayMs: 0 });
    } else if (this.mode === 'runtime' && this.state === DfuState.appDETACH) {
      this.enterMode('dfu');
      this.onBusAction({ type: 'reenumerate', mode: 'dfu', delayMs: 0 });
    }
  }

  enterMode(mode: 'runtime' | 'dfu'): void {
    this.mode = mode;
    this.state = mode === 'dfu' ? DfuState.dfuIDLE : DfuState.appIDLE;
    this.status = DfuStatus.OK;
    this.resetTransfer();
  }

  /** Handles one control request. `data` is the OUT data stage (empty when wLength is 0). */
  handle(s: SetupPacket, data: Uint8Array = new Uint8Array(0)): ControlReply {
    const type = s.bmRequestType & 0x60;
    if (type === 0x00) return standardRequest(s, this);
    if (type !== 0x20 || (s.bmRequestType & 0x1f) !== 1) return { type: 'stall' };
    const name = REQUEST_NAMES.get(s.bRequest) ?? `req${s.bRequest}`;
    this.stats.requests[name] = (this.stats.requests[name] ?? 0) + 1;
    if (this.mode === 'runtime') return this.runtime(s);
    switch (s.bRequest) {
      case DfuRequest.GETSTATUS:
        return this.getStatus();
      case DfuRequest.GETSTATE:
        return { type: 'data', data: Uint8Array.of(this.state) };
      case DfuRequest.CLRSTATUS:
        if (this.state !== DfuState.dfuERROR) return this.protocolError();
        this.status = DfuStatus.OK;
        this.state = DfuState.dfuIDLE;
        this.resetTransfer();
        return { type: 'ack' };
      case DfuRequest.ABORT:
        if (this.state === DfuState.dfuERROR) return this.protocolError();
        this.state = DfuState.dfuIDLE;
        this.resetTransfer();
        return { type: 'ack' };
      case DfuRequest.DNLOAD:
        return this.dnload(s, data);
      case DfuRequest.UPLOAD:
        return this.upload(s);
      default:
        return this.protocolError();
    }
  }

  private runtime(s: SetupPacket): ControlReply {
    switch (s.bRequest) {
      case DfuRequest.GETSTATUS:
        return { type: 'data', data: Uint8Array.of(DfuStatus.OK, 0, 0, 0, this.state, 0) };
      case DfuRequest.GETSTATE:
        return { type: 'data', data: Uint8Array.of(this.state) };
      case DfuRequest.DETACH:
        this.state = DfuState.appDETACH;
        if (this.options.willDetach) {
          this.enterMode('dfu');
          this.onBusAction({ type: 'reenumerate', mode: 'dfu', delayMs: this.options.reenumerateDelayMs });
        }
        return { type: 'ack' };
      default:
        return { type: 'stall' };
    }
  }

  private getStatus(): ControlReply {
    const f = this.options.faults;
    const t = this.now();
    let poll = 0;
    switch (this.state) {
      case DfuState.dfuDNLOAD_SYNC: {
        const block = this.downloadBlock - 1;
        if (
          f.stallAfterBlock &&
          block === f.stallAfterBlock.block &&
          this.faultsUsed.stall < (f.stallAfterBlock.times ?? 1)
        ) {
          this.faultsUsed.stall++;
          this.fail(DfuStatus.errSTALLEDPKT);
          return { type: 'stall' };
        }
        if (
          f.errorAfterBlock &&
          block === f.errorAfterBlock.block &&
          this.faultsUsed.error < (f.errorAfterBlock.times ?? 1)
        ) {
          this.faultsUsed.error++;
          this.fail(DfuStatus[f.errorAfterBlock.status as DfuStatusName]);
          break;
        }
        const next = f.errorSequence?.[this.faultsUsed.sequence];
        if (next && block === next.block) {
          this.faultsUsed.sequence++;
          this.fail(DfuStatus[next.status]);
          break;
        }
        this.state = DfuState.dfuDNBUSY;
        this.busyUntil = t + this.busyFor;
        poll = this.reportPoll;
        break;
      }
      case DfuState.dfuDNBUSY:
        if (t < this.busyUntil) {
          this.stats.earlyPolls++;
          poll = Math.max(1, Math.ceil(this.busyUntil - t));
        } else this.state = this.afterBusy;
        break;
      case DfuState.dfuMANIFEST_SYNC:
        this.state = DfuState.dfuMANIFEST;
        this.busyUntil = t + this.options.manifestTimeMs;
        poll = this.options.manifestTimeMs;
        if (this.dfuseLeave) {
          // DfuSe leave: the device jumps to the application and may not answer again (reference §3.2).
          this.manifest();
          this.enterMode('runtime');
          this.onBusAction({ type: 'reenumerate', mode: 'runtime', delayMs: this.options.reenumerateDelayMs });
          return {
            type: 'data',
            data: Uint8Array.of(DfuStatus.OK, poll & 0xff, (poll >> 8) & 0xff, 0, DfuState.dfuMANIFEST, 0),
          };
        }
        break;
      case DfuState.dfuMANIFEST:
        if (t < this.busyUntil) {
          this.stats.earlyPolls++;
          poll = Math.max(1, Math.ceil(this.busyUntil - t));
          break;
        }
        this.manifest();
        this.state = this.options.manifestationTolerant ? DfuState.dfuIDLE : DfuState.dfuMANIFEST_WAIT_RESET;
        break;
      default:
        break;
    }
    return {
      type: 'data',
      data: Uint8Array.of(this.status, poll & 0xff, (poll >> 8) & 0xff, (poll >> 16) & 0xff, this.state, 0),
    };
  }

  private dnload(s: SetupPacket, data: Uint8Array): ControlReply {
    if (this.state !== DfuState.dfuIDLE && this.state !== DfuState.dfuDNLOAD_IDLE) return this.protocolError();
    if (data.length === 0) {
      if (this.state === DfuState.dfuIDLE && !this.flash) return this.protocolError();
      this.dfuseLeave = this.flash !== undefined;
      this.state = DfuState.dfuMANIFEST_SYNC;
      return { type: 'ack' };
    }
    if (data.length > this.options.transferSize) return this.protocolError();
    if (this.flash) {
      const r = s.wValue === 0 ? this.flash.command(data) : this.flash.write(s.wValue, this.options.transferSize, data);
      if (r.status !== DfuStatus.OK) return this.fail(r.status, true);
      this.busyFor = r.busyMs ?? this.options.writeTimeMs;
      this.reportPoll = r.busyMs ?? this.options.pollTimeoutMs;
    } else {
      if (this.state === DfuState.dfuIDLE) this.resetTransfer();
      if (s.wValue !== (this.expectedBlockNum & 0xffff)) this.stats.lostBlocks++;
      if (this.pendingSize + data.length > this.options.capacity) return this.fail(DfuStatus.errADDRESS, true);
      this.pending.push(data.slice());
      this.pendingSize += data.length;
      this.busyFor = this.options.writeTimeMs;
      this.reportPoll = this.options.pollTimeoutMs;
    }
    this.expectedBlockNum = s.wValue + 1;
    this.afterBusy = DfuState.dfuDNLOAD_IDLE;
    this.state = DfuState.dfuDNLOAD_SYNC;
    if (s.wValue !== 0 || !this.flash) {
      this.stats.blocks++;
      this.downloadBlock++;
      if (this.options.faults.disconnectAfterBlock === this.downloadBlock - 1) this.onBusAction({ type: 'vanish' });
    }
    return { type: 'ack' };
  }

  private upload(s: SetupPacket): ControlReply {
    if (!this.options.canUpload || (this.state !== DfuState.dfuIDLE && this.state !== DfuState.dfuUPLOAD_IDLE))
      return this.protocolError();
    if (this.state === DfuState.dfuIDLE) this.uploadOffset = 0;
    let chunk: Uint8Array;
    if (this.flash) {
      chunk =
        s.wValue < 2
          ? Uint8Array.of(0x00, 0x21, 0x41, 0x92).subarray(0, s.wLength)
          : this.flash.read(s.wValue, this.options.transferSize, s.wLength);
    } else {
      chunk = this.image.subarray(
        this.uploadOffset,
        this.uploadOffset + Math.min(s.wLength, this.options.transferSize),
      );
      this.uploadOffset += chunk.length;
    }
    this.state = chunk.length < s.wLength ? DfuState.dfuIDLE : DfuState.dfuUPLOAD_IDLE;
    return { type: 'data', data: chunk };
  }

  private manifest(): void {
    if (this.flash) {
      this.version =
        versionFromImage(this.flash.read(2, this.options.transferSize, 4096, this.flash.memory.base)) ?? this.version;
    } else {
      const img = new Uint8Array(this.pendingSize);
      let o = 0;
      for (const p of this.pending) {
        img.set(p, o);
        o += p.length;
      }
      this.image = img;
      this.version = versionFromImage(img) ?? this.version;
    }
    this.pending = [];
    this.pendingSize = 0;
    this.stats.manifests++;
  }

  private fail(status: number, stall = false): ControlReply {
    this.status = status;
    this.state = DfuState.dfuERROR;
    return stall ? { type: 'stall' } : { type: 'ack' };
  }

  /** A request the state does not allow: stall and go to dfuERROR/errSTALLEDPKT (DFU 1.1 §6.1.1). */
  private protocolError(): ControlReply {
    return this.fail(DfuStatus.errSTALLEDPKT, true);
  }

  private resetTransfer(): void {
    this.pending = [];
    this.pendingSize = 0;
    this.downloadBlock = 0;
    this.expectedBlockNum = 0;
    this.uploadOffset = 0;
    this.dfuseLeave = false;
  }

  describe(): string {
    return `${this.mode} ${dfuStateName(this.state)}`;
  }
}
