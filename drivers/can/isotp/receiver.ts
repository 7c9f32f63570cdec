import { singleFrameMax, type FrameLayout, type IsoTpPdu } from './pci.js';
import { isoTpError } from './errors.js';
import type { BusError } from '../../shared/errors.js';

/**
 * ISO-TP receiver as a pure state machine (no timers, no I/O): fed SF/FF/CF PDUs, it returns what
 * the runner must do. The runner arms N_Cr while {@link IsoTpReceiver.state} is `receiving` and
 * calls {@link IsoTpReceiver.onTimeout} when it expires.
 *
 *   idle ─SF─▶ message            idle ─FF─▶ FC.CTS, receiving ─CF…─▶ (every BS CFs: FC.CTS) ─last CF─▶ message
 *   FF_DL > maxMessageSize ─▶ FC.OVFLW      wrong SN ─▶ error ISOTP_WRONG_SN, idle
 *   SF/FF during reception ─▶ error ISOTP_RX_INTERRUPTED, then the new message is processed
 */
export type ReceiverOutput =
  | { kind: 'flow-control'; status: 'CTS' | 'OVFLW' }
  | { kind: 'message'; data: Uint8Array }
  | { kind: 'error'; error: BusError }
  | { kind: 'ignored'; reason: string };

/** The answer to most CFs, shared (no array per frame); callers only read outputs. */
const NOTHING: ReceiverOutput[] = Object.freeze([]) as unknown as ReceiverOutput[];

export interface ReceiverConfig {
  layout: FrameLayout;
  blockSize: number;
  maxMessageSize: number;
}

export class IsoTpReceiver {
  state: 'idle' | 'receiving' = 'idle';
  private buf = new Uint8Array(0);
  private filled = 0;
  private expectSn = 1;
  private blockCount = 0;
  /** RX_DL learned from the FF's CAN_DL (ISO 15765-2 §9.6.3.1). */
  rxDataLength = 8;

  constructor(private readonly cfg: ReceiverConfig) {}

  /** Bytes expected and received of the message in progress. */
  get progress(): { size: number; received: number } {
    return { size: this.buf.length, received: this.filled };
  }

  onPdu(pdu: IsoTpPdu, frameLength: number): ReceiverOutput[] {
    switch (pdu.type) {
      case 'SF': {
        const out = this.interrupt('SF');
        out.push({ kind: 'message', data: pdu.data.slice() });
        return out;
      }
      case 'FF': {
        const sfMax = singleFrameMax({ ...this.cfg.layout, txDataLength: frameLength > 8 ? frameLength : 8 });
        if (pdu.size <= sfMax) return [{ kind: 'ignored', reason: `FF_DL ${pdu.size} fits a single frame` }];
        const out = this.interrupt('FF');
        if (pdu.size > this.cfg.maxMessageSize) {
          out.push({ kind: 'flow-control', status: 'OVFLW' });
          return out;
        }
        this.rxDataLength = frameLength;
        this.buf = new Uint8Array(pdu.size);
        const n = Math.min(pdu.size, pdu.data.length);
        this.buf.set(pdu.data.subarray(0, n));
        this.filled = n;
        this.expectSn = 1;
        this.blockCount = 0;
        this.state = 'receiving';
        out.push({ kind: 'flow-control', status: 'CTS' });
        return out;
      }
      case 'CF': {
        if (this.state !== 'receiving') return [{ kind: 'ignored', reason: 'CF while idle' }];
        if (pdu.sn !== this.expectSn) {
          const error = isoTpError('ISOTP_WRONG_SN', `consecutive frame SN ${pdu.sn}, expected ${this.expectSn}`, {
            expected: this.expectSn,
            got: pdu.sn,
            received: this.filled,
            size: this.buf.length,
          });
          this.reset();
          return [{ kind: 'error', error }];
        }
        this.expectSn = (this.expectSn + 1) & 0x0f;
        const n = Math.min(this.buf.length - this.filled, pdu.data.length);
        this.buf.set(pdu.data.subarray(0, n), this.filled);
        this.filled += n;
        if (this.filled >= this.buf.length) {
          const data = this.buf;
          this.reset();
          return [{ kind: 'message', data }];
        }
        if (this.cfg.blockSize > 0 && ++this.blockCount >= this.cfg.blockSize) {
          this.blockCount = 0;
          return [{ kind: 'flow-control', status: 'CTS' }];
        }
        return NOTHING;
      }
      case 'FC':
        return [{ kind: 'ignored', reason: 'FC is for the sender' }];
      case 'invalid':
        return [{ kind: 'ignored', reason: pdu.reason }];
    }
  }

  /** N_Cr expired while receiving: reception aborted. */
  onTimeout(nCrMs: number): ReceiverOutput[] {
    if (this.state !== 'receiving') return [];
    const error = isoTpError('ISOTP_TIMEOUT_CR', `no consecutive frame within N_Cr ${nCrMs} ms (timeouts.nCrMs)`, {
      received: this.filled,
      size: this.buf.length,
      timeoutMs: nCrMs,
    });
    this.reset();
    return [{ kind: 'error', error }];
  }

  reset(): void {
    this.state = 'idle';
    this.buf = new Uint8Array(0);
    this.filled = 0;
  }

  private interrupt(by: 'SF' | 'FF'): ReceiverOutput[] {
    if (this.state !== 'receiving') return [];
    const error = isoTpError(
      'ISOTP_RX_INTERRUPTED',
      `${by} received during a multi-frame reception; old message dropped`,
      {
        received: this.filled,
        size: this.buf.length,
      },
    );
    this.reset();
    return [{ kind: 'error', error }];
  }
}
