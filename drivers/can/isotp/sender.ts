import {
  consecutiveFramePayload,
  encodeConsecutiveFrame,
  encodeFirstFrame,
  encodeSingleFrame,
  singleFrameMax,
  type FrameLayout,
  type IsoTpPdu,
} from './pci.js';
import { isoTpError } from './errors.js';
import { decodeStMin } from './st-min.js';

/**
 * ISO-TP sender as a pure state machine (reference/style-anchors.md §2, python-can-isotp
 * `TransportLayerLogic`): no timers, no I/O. The runner asks {@link IsoTpSender.next} what to do,
 * performs it (send a frame after a gap, or wait for FC up to N_Bs) and feeds back FC PDUs.
 *
 *   idle ─first()─▶ SF: done
 *                   FF: wait-fc ─FC.CTS─▶ send-cf ─(BS CFs sent)─▶ wait-fc … ─(last CF)─▶ done
 *                               ─FC.WAIT─▶ wait-fc (≤ maxWaitFrames)   ─FC.OVFLW─▶ failed
 */
export type SenderState = 'idle' | 'wait-fc' | 'send-cf' | 'done' | 'failed';

export type SenderAction =
  /** Send `data` as the next frame, `gapUs` after the previous one (STmin; 0 = at once). */
  | { kind: 'send'; data: Uint8Array; gapUs: number }
  /** Wait for a flow control frame (runner arms N_Bs). */
  | { kind: 'await-fc' }
  | { kind: 'done' };

export interface SenderConfig {
  layout: FrameLayout;
  /** WFTmax: FC.WAIT frames accepted in a row. */
  maxWaitFrames: number;
  /** Overrides the receiver's STmin (µs) when set. */
  stMinOverrideUs: number | undefined;
}

export class IsoTpSender {
  state: SenderState = 'idle';
  private offset = 0;
  private sn = 1;
  private blockSize = 0;
  private blockLeft = 0;
  private stMinUs = 0;
  private fcSeen = false;
  private waits = 0;
  private readonly cfPayload: number;
  /** Frames sent so far (SF/FF/CF). */
  framesSent = 0;

  constructor(
    private readonly payload: Uint8Array,
    private readonly cfg: SenderConfig,
  ) {
    if (payload.length === 0 || payload.length > 0xffffffff) {
      throw isoTpError('ISOTP_PAYLOAD_SIZE', `cannot send a ${payload.length}-byte ISO-TP message`, {
        size: payload.length,
      });
    }
    this.cfPayload = consecutiveFramePayload(cfg.layout);
  }

  /** True when the message needs a FF and flow control. */
  get multiFrame(): boolean {
    return this.payload.length > singleFrameMax(this.cfg.layout);
  }

  /** Bytes of payload handed out in frames so far. */
  get bytesSent(): number {
    return this.offset;
  }

  /** The next step. Call after each completed action. */
  next(): SenderAction {
    switch (this.state) {
      case 'idle': {
        this.framesSent++;
        if (!this.multiFrame) {
          this.offset = this.payload.length;
          this.state = 'done';
          return { kind: 'send', data: encodeSingleFrame(this.cfg.layout, this.payload), gapUs: 0 };
        }
        const { frame, used } = encodeFirstFrame(this.cfg.layout, this.payload.length, this.payload);
        this.offset = used;
        this.state = 'wait-fc';
        return { kind: 'send', data: frame, gapUs: 0 };
      }
      case 'wait-fc':
        return { kind: 'await-fc' };
      case 'send-cf': {
        const chunk = this.payload.subarray(this.offset, this.offset + this.cfPayload);
        const data = encodeConsecutiveFrame(this.cfg.layout, this.sn, chunk);
        this.sn = (this.sn + 1) & 0x0f;
        this.offset += chunk.length;
        this.framesSent++;
        // The first CF after an FC goes out at once; later ones keep STmin (ISO 15765-2 §9.8.3 N_Cs ≥ STmin).
        const gapUs = this.blockStart ? 0 : this.stMinUs;
        this.blockStart = false;
        if (this.offset >= this.payload.length) this.state = 'done';
        else if (this.blockSize > 0 && --this.blockLeft === 0) this.state = 'wait-fc';
        return { kind: 'send', data, gapUs };
      }
      case 'done':
        return { kind: 'done' };
      case 'failed':
        throw isoTpError('ISOTP_CONFIG', 'sender used after failure');
    }
  }

  private blockStart = false;

  /**
   * Feeds a received FC. Returns true when it was consumed (state changed), false when it is not
   * expected now (ignored, as Linux and python-can-isotp do). Throws `ISOTP_OVERFLOW`,
   * `ISOTP_WAIT_LIMIT` (and moves to `failed`).
   */
  onFlowControl(pdu: Extract<IsoTpPdu, { type: 'FC' }>): boolean {
    if (this.state !== 'wait-fc') return false;
    switch (pdu.status) {
      case 'OVFLW':
        this.state = 'failed';
        throw isoTpError('ISOTP_OVERFLOW', `receiver refused a ${this.payload.length}-byte message (FC.OVFLW)`, {
          size: this.payload.length,
        });
      case 'WAIT':
        if (++this.waits > this.cfg.maxWaitFrames) {
          this.state = 'failed';
          throw isoTpError(
            'ISOTP_WAIT_LIMIT',
            `more than ${this.cfg.maxWaitFrames} FC.WAIT frames in a row (maxWaitFrames)`,
            { waits: this.waits },
          );
        }
        return true;
      case 'CTS':
        this.waits = 0;
        // BS and STmin are taken from the first FC only (Linux isotp.c, python-can-isotp; reference §1.2).
        if (!this.fcSeen) {
          this.fcSeen = true;
          this.blockSize = pdu.blockSize;
          this.stMinUs = this.cfg.stMinOverrideUs ?? decodeStMin(pdu.stMin);
        }
        this.blockLeft = this.blockSize;
        this.blockStart = true;
        this.state = 'send-cf';
        return true;
    }
  }

  /** Marks the transfer failed (timeout or bus error seen by the runner). */
  fail(): void {
    this.state = 'failed';
  }
}
