import type { Logger } from 'pino';
import { BusError, isBusError } from '../../shared/errors.js';
import { sleep, systemClock, type Clock } from '../clock.js';
import { negativeResponse, udsError } from './errors.js';
import { nrcName, Nrc } from './nrc.js';
import {
  DiagnosticSessionControl,
  decodeDiagnosticSessionControl,
  encodeDiagnosticSessionControl,
  type SessionTiming,
} from './services/diagnostic-session-control.js';
import { EcuReset, decodeEcuReset, encodeEcuReset } from './services/ecu-reset.js';
import {
  ReadDataByIdentifier,
  decodeReadDataByIdentifier,
  encodeReadDataByIdentifier,
} from './services/read-data-by-identifier.js';
import {
  RequestDownload,
  decodeRequestDownload,
  encodeRequestDownload,
  type RequestDownloadParams,
} from './services/request-download.js';
import {
  RequestTransferExit,
  decodeRequestTransferExit,
  encodeRequestTransferExit,
} from './services/request-transfer-exit.js';
import { RoutineControl, decodeRoutineControl, encodeRoutineControl } from './services/routine-control.js';
import {
  SecurityAccess,
  decodeRequestSeed,
  decodeSendKey,
  encodeRequestSeed,
  encodeSendKey,
  type SecurityKeyFunction,
} from './services/security-access.js';
import { NEGATIVE_RESPONSE_SID, POSITIVE_OFFSET, type UdsService } from './services/service.js';
import { TesterPresent, decodeTesterPresent, encodeTesterPresent } from './services/tester-present.js';
import { TransferData, decodeTransferData, encodeTransferData } from './services/transfer-data.js';

/** What the client needs from the transport: an {@link IsoTpChannel} satisfies it. */
export interface UdsTransport {
  send(payload: Uint8Array, signal?: AbortSignal): Promise<void>;
  receive(timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array>;
  discard(): void;
  /**
   * Optional: sends `payload` and returns the next message, `timeoutMs` counted from the end of the
   * request, in one step (KernelIsoTpChannel: no wait for "tx done"). Without it: send, then receive.
   */
  exchange?(payload: Uint8Array, timeoutMs: number, signal?: AbortSignal): Promise<Uint8Array>;
}

export interface UdsClientOptions {
  /** Physical request/response channel (e.g. 0x7E0 → ECU, 0x7E8 → tester). */
  transport: UdsTransport;
  /** Functional request channel (e.g. 0x7DF, single frames only); responses come on `transport`. */
  functional?: UdsTransport;
  timeouts?: {
    /** P2client in ms until the first response. Default 1000 (udsoncan `p2_timeout`). */
    p2Ms?: number;
    /** P2*client in ms after each NRC 0x78. Default 5000 (ISO 14229-1 P2*server_max 5000 ms). */
    p2StarMs?: number;
    /** Added to server-reported P2/P2* when adopted (network, scheduling). Default 100 ms. */
    marginMs?: number;
  };
  /** Adopt P2/P2* from DiagnosticSessionControl responses (udsoncan `use_server_timing`). Default true. */
  useServerTiming?: boolean;
  /** NRC 0x78 accepted per request before UDS_TIMEOUT_OVERALL (servers may repeat it forever). Default 100. */
  maxResponsePending?: number;
  /** Attempts per request when the response is lost (P2 timeout, ISO-TP reception error). Default 3. */
  requestAttempts?: number;
  /** NRC 0x21 busyRepeatRequest: resends after `busyRetryDelayMs` (default 100), at most `busyRetries` (default 5). */
  busyRetries?: number;
  busyRetryDelayMs?: number;
  clock?: Clock;
  log?: Logger;
}

/** Where the P2/P2* in force came from (style anchors §9: record whether a timing came from config or device). */
export interface UdsTiming {
  p2Ms: number;
  p2StarMs: number;
  source: 'config' | 'server';
}

interface RequestOptions {
  signal?: AbortSignal | undefined;
  functional?: boolean;
  /** Resend on a lost response (default true). */
  retry?: boolean;
  /** P2 for this request only (e.g. short polls after a reset), ms. */
  p2Ms?: number;
}

/** ISO-TP reception errors that mean "the response was lost": safe to ask again. */
const LOST_RESPONSE = new Set([
  'ISOTP_RX_TIMEOUT',
  'ISOTP_WRONG_SN',
  'ISOTP_TIMEOUT_CR',
  'ISOTP_RX_INTERRUPTED',
  'ISOTP_TIMEOUT_BS',
]);

/** Late answers remembered at most (three attempts per request leave two; older ones are forgotten). */
const MAX_OWED = 8;

/**
 * True when the `n` bytes after the SID of `resp` equal `ref[at]…ref[at + n - 1]`, the first of them
 * compared without bit 7 when `subFunction` (suppressPosRspMsgIndicationBit, reference §1.3).
 */
function echoes(resp: Uint8Array, ref: Uint8Array, at: number, n: number, subFunction: boolean): boolean {
  if (resp.length < 1 + n || ref.length < at + n) return false;
  for (let i = 0; i < n; i++) {
    const mask = i === 0 && subFunction ? 0x7f : 0xff;
    if ((resp[1 + i]! & mask) !== (ref[at + i]! & mask)) return false;
  }
  return true;
}

/**
 * UDS (ISO 14229-1) client over ISO-TP (style anchors §3, udsoncan `client.py`): one method per
 * service returning typed results; {@link UdsClient.request} owns P2/P2*, NRC 0x78 and 0x21 and says
 * which timer expired. Every method honours `signal` (CancelledError) and throws coded BusErrors:
 * `UDS_NEGATIVE_RESPONSE` (details.nrc/nrcName), `UDS_TIMEOUT_P2`, `UDS_TIMEOUT_P2_STAR`, `UDS_TIMEOUT_OVERALL`,
 * `UDS_UNEXPECTED_RESPONSE`, `UDS_INVALID_RESPONSE`, or ISO-TP/CAN codes from the transport.
 */
export class UdsClient {
  private readonly opts: UdsClientOptions;
  private readonly clock: Clock;
  private readonly config: UdsTiming;
  private current: UdsTiming;
  /** Positive answers the server may still send to requests that were resent or given up (see `owe`). */
  private readonly owed: { sid: number; echo: Uint8Array; subFunction: boolean }[] = [];

  constructor(options: UdsClientOptions) {
    this.opts = options;
    this.clock = options.clock ?? systemClock;
    this.config = {
      p2Ms: options.timeouts?.p2Ms ?? 1000,
      p2StarMs: options.timeouts?.p2StarMs ?? 5000,
      source: 'config',
    };
    this.current = { ...this.config };
  }

  /** The P2/P2* now in force. */
  get timing(): UdsTiming {
    return { ...this.current };
  }

  /**
   * Sends `request` and returns the positive response (SID + 0x40 first). Waits P2, then P2* after
   * each NRC 0x78; resends on NRC 0x21 and on a lost response (see options). With `functional`, the
   * request goes on the functional channel; the first response on the physical one is returned.
   */
  async request(service: UdsService, request: Uint8Array, o: RequestOptions = {}): Promise<Uint8Array> {
    const attempts = o.retry === false ? 1 : (this.opts.requestAttempts ?? 3);
    let busy = 0;
    let lostSends = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        const resp = await this.once(service, request, o);
        this.owe(service, request, lostSends);
        return resp;
      } catch (e) {
        if (
          isBusError(e, 'UDS_NEGATIVE_RESPONSE') &&
          e.details['nrc'] === Nrc.busyRepeatRequest &&
          busy < (this.opts.busyRetries ?? 5)
        ) {
          busy++;
          attempt--;
          await sleep(this.clock, (this.opts.busyRetryDelayMs ?? 100) * 1000, o.signal);
          continue;
        }
        const lost = isBusError(e) && (e.code === 'UDS_TIMEOUT_P2' || LOST_RESPONSE.has(e.code));
        if (lost) lostSends++;
        if (!lost || attempt >= attempts) {
          this.owe(service, request, lostSends);
          throw e;
        }
        // An expected retry (issue 12 item 5): debug; only giving up reaches the caller, who logs it.
        this.opts.log?.debug(
          { service: service.name, attempt, code: (e as BusError).code },
          'UDS response lost; sending the request again',
        );
      }
    }
  }

  /**
   * Remembers that `sends` sends of `request` went unanswered: the server may still answer them, after
   * the request was resent (and answered) or given up. Such a late positive answer is then recognised
   * by its echo (e.g. the block sequence counter of `76 <BSC>`) and dropped instead of being taken for
   * the answer to a later request.
   */
  private owe(service: UdsService, request: Uint8Array, sends: number): void {
    for (let i = 0; i < sends; i++) {
      this.owed.push({
        sid: service.sid + POSITIVE_OFFSET,
        echo: request.slice(1, 1 + service.echoLength),
        subFunction: service.hasSubFunction,
      });
      if (this.owed.length > MAX_OWED) this.owed.shift();
    }
  }

  /** Drops `resp` when it is a late answer still owed to an earlier request (see {@link owe}). */
  private dropOwed(resp: Uint8Array): boolean {
    for (let i = 0; i < this.owed.length; i++) {
      const a = this.owed[i]!;
      if (resp[0] === a.sid && echoes(resp, a.echo, 0, a.echo.length, a.subFunction)) {
        this.owed.splice(i, 1);
        return true;
      }
    }
    return false;
  }

  private async once(service: UdsService, request: Uint8Array, o: RequestOptions): Promise<Uint8Array> {
    const phys = this.opts.transport;
    const tx = o.functional ? this.opts.functional : phys;
    if (!tx)
      throw udsError('UDS_INVALID_REQUEST', 'functional request without a functional channel', {
        service: service.name,
      });
    const log = this.opts.log;
    if (log?.isLevelEnabled('debug'))
      log.debug(
        { service: service.name, sid: service.sid, len: request.length, functional: o.functional === true },
        'UDS request',
      );
    phys.discard();
    let waitMs = o.p2Ms ?? this.current.p2Ms;
    // The first answer: in one step where the transport can (issue 16), else send then receive.
    let first: Promise<Uint8Array> | undefined;
    if (tx === phys && phys.exchange) first = phys.exchange(request, waitMs, o.signal);
    else await tx.send(request, o.signal);
    let until = this.clock.now() + waitMs * 1000;
    let pending = 0;
    for (;;) {
      let resp: Uint8Array;
      try {
        const next = first ?? phys.receive(Math.max(0, until - this.clock.now()) / 1000, o.signal);
        first = undefined;
        resp = await next;
      } catch (e) {
        if (!isBusError(e, 'ISOTP_RX_TIMEOUT')) throw e;
        throw pending === 0
          ? udsError(
              'UDS_TIMEOUT_P2',
              `${service.name}: no response within P2 ${waitMs} ms (${this.current.source})`,
              { service: service.name, timeoutMs: waitMs },
              e,
            )
          : udsError(
              'UDS_TIMEOUT_P2_STAR',
              `${service.name}: no final response within P2* ${waitMs} ms after ${pending} × NRC 0x78`,
              { service: service.name, timeoutMs: waitMs, pending },
              e,
            );
      }
      if (resp.length >= 3 && resp[0] === NEGATIVE_RESPONSE_SID) {
        if (resp[1] !== service.sid) {
          this.opts.log?.warn({ service: service.name, sid: resp[1] }, 'negative response for another service ignored');
          continue;
        }
        const nrc = resp[2]!;
        if (nrc === Nrc.requestCorrectlyReceivedResponsePending) {
          if (++pending > (this.opts.maxResponsePending ?? 100)) {
            throw udsError(
              'UDS_TIMEOUT_OVERALL',
              `${service.name}: more than ${this.opts.maxResponsePending ?? 100} × NRC 0x78 (maxResponsePending)`,
              { service: service.name, pending },
            );
          }
          waitMs = this.current.p2StarMs;
          until = this.clock.now() + waitMs * 1000;
          continue;
        }
        this.opts.log?.debug({ service: service.name, nrc, nrcName: nrcName(nrc) }, 'UDS negative response');
        throw negativeResponse(service.name, service.sid, nrc);
      }
      const positive = service.sid + POSITIVE_OFFSET;
      const mine = resp[0] === positive && echoes(resp, request, 1, service.echoLength, service.hasSubFunction);
      if (!mine && this.owed.length > 0 && this.dropOwed(resp)) {
        this.opts.log?.debug(
          { service: service.name, sid: resp[0], echo: Buffer.from(resp.subarray(1, 4)).toString('hex') },
          'stale UDS response to an earlier (resent) request dropped',
        );
        continue;
      }
      if (resp.length === 0 || resp[0] !== positive) {
        throw udsError(
          'UDS_UNEXPECTED_RESPONSE',
          `${service.name}: response SID 0x${(resp[0] ?? 0).toString(16)}, expected 0x${positive.toString(16)}`,
          {
            service: service.name,
            sid: resp[0],
          },
        );
      }
      return resp;
    }
  }

  /** 0x10. Adopts the server's P2/P2* (+ margin) when `useServerTiming` (default). */
  async diagnosticSessionControl(session: number, o: RequestOptions = {}): Promise<SessionTiming> {
    const resp = await this.request(DiagnosticSessionControl, encodeDiagnosticSessionControl(session), o);
    const t = decodeDiagnosticSessionControl(resp, session);
    if ((this.opts.useServerTiming ?? true) && t.p2ServerMs !== undefined && t.p2StarServerMs !== undefined) {
      const margin = this.opts.timeouts?.marginMs ?? 100;
      this.current = { p2Ms: t.p2ServerMs + margin, p2StarMs: t.p2StarServerMs + margin, source: 'server' };
    }
    return t;
  }

  /** 0x11. Returns the powerDownTime when given. With `suppressResponse` nothing is awaited. */
  async ecuReset(
    type: number,
    o: RequestOptions & { suppressResponse?: boolean } = {},
  ): Promise<{ powerDownTimeS: number | undefined }> {
    if (o.suppressResponse) {
      await (o.functional ? this.opts.functional! : this.opts.transport).send(encodeEcuReset(type, true), o.signal);
      this.current = { ...this.config };
      return { powerDownTimeS: undefined };
    }
    const r = decodeEcuReset(await this.request(EcuReset, encodeEcuReset(type), { ...o, retry: false }), type);
    // After a reset the server is back in its default session with default timing.
    this.current = { ...this.config };
    return r;
  }

  /** 0x22 for one DID: the data record. */
  async readDataByIdentifier(did: number, o: RequestOptions = {}): Promise<Uint8Array> {
    return decodeReadDataByIdentifier(
      await this.request(ReadDataByIdentifier, encodeReadDataByIdentifier(did), o),
      did,
    );
  }

  /**
   * 0x27 seed/key at odd `level`: requests the seed, and unless it is all zero (already unlocked)
   * sends `keyFn(seed, level)`. Throws UDS_KEY_FUNCTION when the key function fails.
   * Returns whether a key was sent.
   */
  async securityAccess(
    level: number,
    keyFn: SecurityKeyFunction,
    o: RequestOptions = {},
  ): Promise<{ unlockedAlready: boolean }> {
    const seed = decodeRequestSeed(await this.request(SecurityAccess, encodeRequestSeed(level), o), level);
    if (seed.every((b) => b === 0)) return { unlockedAlready: true };
    let key: Uint8Array;
    try {
      key = await keyFn(seed, level);
    } catch (e) {
      throw udsError(
        'UDS_KEY_FUNCTION',
        `security key function failed for level 0x${level.toString(16)}`,
        { level },
        e,
      );
    }
    if (!(key instanceof Uint8Array) || key.length === 0)
      throw udsError('UDS_KEY_FUNCTION', 'security key function returned no key', { level });
    decodeSendKey(await this.request(SecurityAccess, encodeSendKey(level, key), { ...o, retry: false }), level);
    return { unlockedAlready: false };
  }

  /** 0x31: returns the status record. */
  async routineControl(
    type: number,
    routineId: number,
    optionRecord?: Uint8Array,
    o: RequestOptions = {},
  ): Promise<Uint8Array> {
    return decodeRoutineControl(
      await this.request(RoutineControl, encodeRoutineControl(type, routineId, optionRecord), o),
      type,
      routineId,
    );
  }

  /** 0x34: returns maxNumberOfBlockLength (whole TransferData request incl. SID + BSC). */
  async requestDownload(
    params: RequestDownloadParams,
    o: RequestOptions = {},
  ): Promise<{ maxNumberOfBlockLength: number }> {
    return decodeRequestDownload(await this.request(RequestDownload, encodeRequestDownload(params), o));
  }

  /**
   * 0x36 with block counter `bsc`; checks the echoed counter. A resend after a lost response keeps the
   * counter (the server answers a repeat without rewriting). `requestBuffer`: the request is written
   * into it when large enough (2 + data bytes); the caller reuses it for the next block only once this
   * call has settled (the transport has finished with the request by then).
   */
  async transferData(
    bsc: number,
    data: Uint8Array,
    o: RequestOptions & { requestBuffer?: Uint8Array } = {},
  ): Promise<Uint8Array> {
    return decodeTransferData(await this.request(TransferData, encodeTransferData(bsc, data, o.requestBuffer), o), bsc);
  }

  /** 0x37. */
  async requestTransferExit(params?: Uint8Array, o: RequestOptions = {}): Promise<Uint8Array> {
    return decodeRequestTransferExit(await this.request(RequestTransferExit, encodeRequestTransferExit(params), o));
  }

  /** 0x3E. With `suppressResponse` (3E 80) nothing is awaited. */
  async testerPresent(o: RequestOptions & { suppressResponse?: boolean } = {}): Promise<void> {
    if (o.suppressResponse) {
      await (o.functional ? this.opts.functional! : this.opts.transport).send(encodeTesterPresent(true), o.signal);
      return;
    }
    decodeTesterPresent(await this.request(TesterPresent, encodeTesterPresent(false), o));
  }
}
