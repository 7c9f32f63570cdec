import { CAN_FD_LENGTHS } from '../frame.js';
import { isoTpError } from './errors.js';

/** ISO-TP addressing formats (ISO 15765-2 §10.3; python-can-isotp `addressing.rst`). */
export type IsoTpAddressing = 'normal' | 'extended' | 'mixed';

/**
 * Options of one ISO-TP channel (one tx id, one rx id). Defaults: {@link ISOTP_DEFAULTS}.
 * `resolveIsoTpOptions` validates ranges and cross-field rules and throws `ISOTP_CONFIG` naming the field.
 */
export interface IsoTpOptions {
  /** CAN id we send on (e.g. tester 0x7E0). */
  txId: number;
  /** CAN id we receive on (e.g. ECU 0x7E8). */
  rxId: number;
  /** 29-bit ids. Default: true when an id is > 0x7FF. */
  extendedIds?: boolean;
  /** Default `normal`. `extended`: byte 0 carries the target address; `mixed`: an address extension. */
  addressing?: IsoTpAddressing;
  /** Byte 0 of frames we send: N_TA (extended) or N_AE (mixed). Required unless normal. */
  txAddress?: number;
  /** Byte 0 expected on frames we accept: our N_SA (extended) or N_AE (mixed, default txAddress). */
  rxAddress?: number;
  /** TX_DL: 8 = classic CAN; 12..64 (a CAN FD length) = CAN FD frames. Default 8. */
  txDataLength?: number;
  /** Bit-rate switch on FD frames. Default true. */
  brs?: boolean;
  /**
   * Tx padding byte, or `false` for length-optimised classic frames (ISO 15765-2 §10.4.2). FD frames
   * longer than 8 bytes are always padded to a valid length (mandatory, §10.4.2.3). Default 0xCC
   * (Linux and python-can-isotp default content, "prevent bit-stuffing").
   */
  padding?: number | false;
  /** BS we announce in our flow control: CFs per block, 0 = no further FC. Default 0. */
  blockSize?: number;
  /** STmin we announce, in µs (rounded up to 100-900 µs or whole ms). Default 0. */
  stMinUs?: number;
  /** Largest message we accept; a larger FF_DL is answered with FC.OVFLW. Default 1 MiB. */
  maxMessageSize?: number;
  /** FC.WAIT frames accepted in a row before `ISOTP_WAIT_LIMIT` (WFTmax). Default 10. */
  maxWaitFrames?: number;
  /** When set, overrides the STmin the receiver asked for (like Linux `force_tx_stmin`), in µs. */
  txStMinOverrideUs?: number;
  /** Timers in ms (ISO 15765-2 Table 16 values: 1000 ms each). */
  timeouts?: { nAsMs?: number; nBsMs?: number; nCrMs?: number };
}

export type ResolvedIsoTpOptions = Required<
  Omit<IsoTpOptions, 'txAddress' | 'rxAddress' | 'txStMinOverrideUs' | 'timeouts'>
> & {
  txAddress: number | undefined;
  rxAddress: number | undefined;
  txStMinOverrideUs: number | undefined;
  timeouts: { nAsMs: number; nBsMs: number; nCrMs: number };
};

export const ISOTP_DEFAULTS = Object.freeze({
  addressing: 'normal' as IsoTpAddressing,
  txDataLength: 8,
  brs: true,
  padding: 0xcc as number | false,
  blockSize: 0,
  stMinUs: 0,
  maxMessageSize: 1 << 20,
  maxWaitFrames: 10,
  /** N_As, N_Bs, N_Cr = 1000 ms (ISO 15765-2 Table 16, quoted by Zephyr Kconfig; reference §1.2). */
  timeouts: Object.freeze({ nAsMs: 1000, nBsMs: 1000, nCrMs: 1000 }),
});

function check(cond: boolean, field: string, message: string): void {
  if (!cond) throw isoTpError('ISOTP_CONFIG', `isotp option ${field}: ${message}`, { field });
}

export function resolveIsoTpOptions(o: IsoTpOptions): ResolvedIsoTpOptions {
  const extendedIds = o.extendedIds ?? (o.txId > 0x7ff || o.rxId > 0x7ff);
  const maxId = extendedIds ? 0x1fffffff : 0x7ff;
  check(
    Number.isInteger(o.txId) && o.txId >= 0 && o.txId <= maxId,
    'txId',
    `must be a ${extendedIds ? 29 : 11}-bit id`,
  );
  check(
    Number.isInteger(o.rxId) && o.rxId >= 0 && o.rxId <= maxId,
    'rxId',
    `must be a ${extendedIds ? 29 : 11}-bit id`,
  );
  const addressing = o.addressing ?? ISOTP_DEFAULTS.addressing;
  check(['normal', 'extended', 'mixed'].includes(addressing), 'addressing', 'must be normal, extended or mixed');
  const txAddress = o.txAddress;
  const rxAddress = o.rxAddress ?? (addressing === 'mixed' ? txAddress : undefined);
  if (addressing !== 'normal') {
    check(
      txAddress !== undefined && txAddress >= 0 && txAddress <= 0xff,
      'txAddress',
      `a byte is required for ${addressing} addressing`,
    );
    check(
      rxAddress !== undefined && rxAddress >= 0 && rxAddress <= 0xff,
      'rxAddress',
      `a byte is required for ${addressing} addressing`,
    );
  }
  const txDataLength = o.txDataLength ?? ISOTP_DEFAULTS.txDataLength;
  check(
    (CAN_FD_LENGTHS as readonly number[]).includes(txDataLength) && txDataLength >= 8,
    'txDataLength',
    'must be 8, 12, 16, 20, 24, 32, 48 or 64',
  );
  const padding = o.padding ?? ISOTP_DEFAULTS.padding;
  check(
    padding === false || (Number.isInteger(padding) && padding >= 0 && padding <= 0xff),
    'padding',
    'must be a byte or false',
  );
  const blockSize = o.blockSize ?? ISOTP_DEFAULTS.blockSize;
  check(Number.isInteger(blockSize) && blockSize >= 0 && blockSize <= 0xff, 'blockSize', 'must be 0..255');
  const stMinUs = o.stMinUs ?? ISOTP_DEFAULTS.stMinUs;
  check(stMinUs >= 0 && stMinUs <= 127_000, 'stMinUs', 'must be 0..127000 µs');
  const maxMessageSize = o.maxMessageSize ?? ISOTP_DEFAULTS.maxMessageSize;
  check(maxMessageSize >= 1 && maxMessageSize <= 0xffffffff, 'maxMessageSize', 'must be 1..2^32-1');
  const maxWaitFrames = o.maxWaitFrames ?? ISOTP_DEFAULTS.maxWaitFrames;
  check(maxWaitFrames >= 0, 'maxWaitFrames', 'must be ≥ 0');
  const t = { ...ISOTP_DEFAULTS.timeouts, ...o.timeouts };
  for (const k of ['nAsMs', 'nBsMs', 'nCrMs'] as const) check(t[k] > 0, `timeouts.${k}`, 'must be > 0 ms');
  return {
    txId: o.txId,
    rxId: o.rxId,
    extendedIds,
    addressing,
    txAddress,
    rxAddress,
    txDataLength,
    brs: o.brs ?? ISOTP_DEFAULTS.brs,
    padding,
    blockSize,
    stMinUs,
    maxMessageSize,
    maxWaitFrames,
    txStMinOverrideUs: o.txStMinOverrideUs,
    timeouts: t,
  };
}
