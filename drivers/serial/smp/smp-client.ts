import type { Logger } from 'pino';
import { BusError, isBusError, throwIfAborted } from '../../shared/errors.js';
import type { ImageSource } from '../../shared/image-source.js';
import type { SerialLink } from '../link.js';
import { decodeBody, encodeBody, type SmpBody } from './cbor-body.js';
import { DEFAULT_MAX_FRAME_SIZE, encodeConsoleFrames } from './console-framing.js';
import { SmpConsoleReassembler } from './console-reassembler.js';
import { ChunkReader } from './chunk-reader.js';
import { decodeImageStates, type ImageSlotState } from './image-management.js';
import { buildUploadRequest, fitChunkLength, nextUploadStep, sha256OfSource, type UploadPlan } from './image-upload.js';
import { throwIfSmpError } from './smp-errors.js';
import {
  decodeSmpPacket,
  encodeSmpPacket,
  ImageCmd,
  OsCmd,
  SmpGroup,
  SmpOp,
  type SmpOpValue,
  type SmpVersion,
} from './smp-header.js';
import { childLog } from '../../shared/child-log.js';
import {
  DEFAULT_BUFFER_SIZE,
  MAX_REQUESTS_IN_FLIGHT,
  requestLimitForBuffer,
  smallerRequestLimit,
} from './buffer-size.js';

/** Options of {@link SmpClient}. */
export interface SmpClientOptions {
  /**
   * Largest SMP request (8-byte header + CBOR) the device accepts, bytes. Default 252: a
   * 256-byte SMP buffer (Zephyr's UART MTU default, reference/bus-protocols.md §2.2) less the
   * serial packet's length and CRC (§7; `buffer-size.ts`). Upload chunks are sized so each
   * request fits. {@link SmpClient.setMtu} changes it, e.g. from {@link SmpClient.mcumgrParams}.
   */
  mtu?: number;
  /** Console frame limit incl. marker and newline, bytes. Default 127 (MCUmgr). */
  maxFrameSize?: number;
  /** SMP header `Ver`: 0 legacy, 1 SMP v2. Default 1; v1 error bodies are understood either way. */
  version?: SmpVersion;
  timeouts?: {
    /** Wait for one response, ms. Default 2500 (no standard value; "a few seconds", §2.2 Retries). */
    responseMs?: number;
  };
  attempts?: {
    /** Sends of one request before `SMP_TIMEOUT` (new seq each time; uploads resend the same offset). Default 3. */
    request?: number;
  };
  log?: Logger;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Overrides `timeouts.responseMs` for this request. */
  timeoutMs?: number;
  /** Overrides `attempts.request` for this request. */
  attempts?: number;
}

export interface UploadOptions {
  /** Image number (`image`). Default: left out (device assumes 0). */
  image?: number;
  upgrade?: boolean;
  /** SHA-256 of the whole image, when already known; else computed by streaming the source. */
  sha?: Uint8Array;
  /**
   * The MTU is a guess (the device did not report its buffer): when an upload request goes
   * unanswered (`SMP_TIMEOUT`) or is refused with MGMT_ERR_EMSGSIZE, send the same offset again
   * in a request sized for the next smaller common buffer (`buffer-size.ts`), down to 128 bytes,
   * before giving up. The smaller MTU stays for the rest of the client's life. Default false.
   */
  shrinkOnTimeout?: boolean;
  /** Called after the MTU shrank, with the new MTU (to carry it over to a reconnected client). */
  onMtuShrunk?: (mtu: number) => void;
  /**
   * Upload requests kept in flight once the first one was answered (1-{@link MAX_REQUESTS_IN_FLIGHT}),
   * e.g. `requestsInFlightForBuffers(bufCount)` from {@link SmpClient.mcumgrParams}. More than 1 keeps
   * the line busy while the device works on the previous chunk; responses still come in order. When a
   * response says the device wants another offset (a lost chunk, a restart), the rest of the window is
   * answered and ignored, then the upload goes on from the device's offset; after a lost chunk with one
   * request fewer in flight. When a response does not come within the timeout, the upload goes on one
   * request at a time. Ignored with `shrinkOnTimeout`
   * (a device that did not report its buffers). Default 1.
   */
  requestsInFlight?: number;
  signal?: AbortSignal;
  onProgress?: (p: { bytesDone: number; bytesTotal: number }) => void;
}

export interface UploadResult {
  bytesTotal: number;
  /** Image bytes actually sent in this call (less than the total after a resume). */
  bytesSent: number;
  /** Offset the device told us to continue from on the first response (0 = fresh upload). */
  resumedFrom: number;
  /** Times the device went back to an earlier offset (e.g. `off: 0` after it lost its state). */
  restarts: number;
  requests: number;
  /** The device's final `match` (undefined when it does not check). */
  match: boolean | undefined;
  /** The MTU the upload ended with (smaller than at the start after `shrinkOnTimeout` stepped down). */
  mtu: number;
  /** Requests in flight the upload ended with (1 after a pipelined request went unanswered). */
  requestsInFlight: number;
}

/** One upload request sent and not yet answered. */
interface InFlight {
  seq: number;
  off: number;
  len: number;
}

/**
 * MCUmgr SMP client over the serial console transport on any {@link SerialLink}.
 * One request is in flight at a time (image uploads: see `UploadOptions.requestsInFlight`): the
 * expected response (same group, id, seq, op + 1) is awaited after the write; responses to earlier
 * sequence numbers are dropped and logged.
 * Errors: BusError `SMP_RC` (details `rc`, `name`, `group`, `rsn`), `SMP_TIMEOUT`, `SMP_BAD_*`,
 * `SMP_UPLOAD_*`, the link's `SERIAL_*`, and CancelledError when a `signal` fires.
 */
export class SmpClient {
  private limit: number;
  private readonly maxFrameSize: number;
  private readonly version: SmpVersion;
  private readonly responseMs: number;
  private readonly attempts: number;
  private readonly log: Logger | undefined;
  private readonly rx: SmpConsoleReassembler;
  private seq = 0;
  private queue: Promise<unknown> = Promise.resolve();
  /** Packets reassembled from a read but not looked at yet (several responses can arrive in one read). */
  private readonly unread: Uint8Array[] = [];

  constructor(
    private readonly link: SerialLink,
    options: SmpClientOptions = {},
  ) {
    this.limit = checkMtu(options.mtu ?? requestLimitForBuffer(DEFAULT_BUFFER_SIZE));
    this.maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    this.version = options.version ?? 1;
    this.responseMs = options.timeouts?.responseMs ?? 2500;
    this.attempts = options.attempts?.request ?? 3;
    this.log = options.log && childLog(options.log, { component: 'serial.smp', port: link.path });
    this.rx = new SmpConsoleReassembler({
      maxPacketSize: 0xffff,
      maxFrameSize: 4096,
      onDiscard: (d) => this.log?.debug(d, 'smp rx discarded bytes'),
    });
  }

  /** Largest request sent, bytes (header + CBOR). */
  get mtu(): number {
    return this.limit;
  }

  /** Sets the largest request, bytes (64-65535), e.g. `requestLimitForBuffer(bufSize)` from {@link mcumgrParams}. */
  setMtu(mtu: number): void {
    this.limit = checkMtu(mtu);
  }

  /** Statistics of the receive side (packets, discards). */
  get rxStats(): Readonly<SmpConsoleReassembler['stats']> {
    return this.rx.stats;
  }

  /** Group 0 command 0: the device echoes `text`. */
  async echo(text: string, opts: RequestOptions = {}): Promise<string> {
    const rsp = await this.request(SmpOp.Write, SmpGroup.Os, OsCmd.Echo, { d: text }, opts);
    return typeof rsp.r === 'string' ? rsp.r : '';
  }

  /** Group 0 command 7 (OS/application info, `uname`-like). `SMP_RC` ENOTSUP where unsupported. */
  async osInfo(format?: string, opts: RequestOptions = {}): Promise<string> {
    const rsp = await this.request(SmpOp.Read, SmpGroup.Os, OsCmd.Info, { format }, opts);
    return typeof rsp.output === 'string' ? rsp.output : '';
  }

  /**
   * Group 0 command 6: the device's SMP buffer size and count. A request may be at most
   * `requestLimitForBuffer(bufSize)` bytes on the serial transport (`buffer-size.ts`).
   * @throws BusError `SMP_BAD_RESPONSE` when `buf_size` is missing or not a positive integer.
   */
  async mcumgrParams(opts: RequestOptions = {}): Promise<{ bufSize: number; bufCount: number }> {
    const rsp = await this.request(SmpOp.Read, SmpGroup.Os, OsCmd.McumgrParams, {}, opts);
    const bufSize = Number(rsp.buf_size);
    if (!Number.isInteger(bufSize) || bufSize <= 0)
      throw new BusError('SMP_BAD_RESPONSE', `mcumgr params response has buf_size=${String(rsp.buf_size)}`, {
        keys: Object.keys(rsp),
      });
    return { bufSize, bufCount: Number(rsp.buf_count ?? 0) };
  }

  /** Group 0 command 5: the device answers, then resets. */
  async reset(opts: RequestOptions & { force?: boolean } = {}): Promise<void> {
    await this.request(SmpOp.Write, SmpGroup.Os, OsCmd.Reset, opts.force ? { force: 1 } : {}, opts);
  }

  /** Group 1 command 0, read: state of every image slot. */
  async imageStateRead(opts: RequestOptions = {}): Promise<ImageSlotState[]> {
    return decodeImageStates(await this.request(SmpOp.Read, SmpGroup.Image, ImageCmd.State, {}, opts));
  }

  /**
   * Group 1 command 0, write: `confirm: false` marks the image with `hash` for test (MCUboot
   * swaps on the next reset and reverts unless confirmed); `confirm: true` makes it permanent
   * (`hash` optional: the running image).
   */
  async imageStateWrite(
    state: { hash?: Uint8Array; confirm: boolean },
    opts: RequestOptions = {},
  ): Promise<ImageSlotState[]> {
    return decodeImageStates(
      await this.request(
        SmpOp.Write,
        SmpGroup.Image,
        ImageCmd.State,
        { hash: state.hash, confirm: state.confirm },
        opts,
      ),
    );
  }

  /** Group 1 command 5: erases a slot (default 1). Synchronous on the device: give it time. */
  async imageErase(slot?: number, opts: RequestOptions = {}): Promise<void> {
    await this.request(SmpOp.Write, SmpGroup.Image, ImageCmd.Erase, { slot }, opts);
  }

  /**
   * Group 1 command 1: uploads `source` to the secondary slot, chunked to the MTU, each next
   * offset taken from the device's `off`. A device that kept an earlier partial upload with the
   * same SHA-256 answers the first request with its offset and the upload continues there.
   * Stops at a chunk boundary when `signal` fires (the image stays unconfirmed).
   */
  async imageUpload(source: ImageSource, opts: UploadOptions = {}): Promise<UploadResult> {
    const plan: UploadPlan = {
      size: source.size,
      sha: opts.sha ?? (await sha256OfSource(source, opts.signal)),
      image: opts.image,
      upgrade: opts.upgrade,
    };
    const result: UploadResult = {
      bytesTotal: plan.size,
      bytesSent: 0,
      resumedFrom: 0,
      restarts: 0,
      requests: 0,
      match: undefined,
      mtu: this.limit,
      requestsInFlight: 1,
    };
    const reader = new ChunkReader(source);
    let window = opts.shrinkOnTimeout ? 1 : checkWindow(opts.requestsInFlight ?? 1);
    let off = 0;
    let stalls = 0;
    for (;;) {
      // The first request goes alone: its answer says where the device stands (resume, restart).
      if (window > 1 && result.requests > 0) {
        result.requestsInFlight = window;
        const w = await this.uploadWindow(plan, reader, off, window, result, opts);
        if (w.kind === 'done') return result;
        off = w.off;
        window = 1;
        result.requestsInFlight = 1;
      }
      throwIfAborted(opts.signal);
      const len = fitChunkLength(plan, off, this.limit);
      const data = await reader.read(off, len);
      let rsp: SmpBody;
      try {
        rsp = await this.request(SmpOp.Write, SmpGroup.Image, ImageCmd.Upload, buildUploadRequest(plan, off, data), {
          signal: opts.signal,
        });
      } catch (e) {
        const smaller = opts.shrinkOnTimeout && tooLargeForDevice(e) ? smallerRequestLimit(this.limit) : undefined;
        if (smaller === undefined) throw e;
        this.log?.warn(
          { off, mtu: this.limit, next: smaller, reason: (e as BusError).code },
          'upload request unanswered; trying smaller requests (the device did not report its buffer size)',
        );
        this.limit = smaller;
        result.mtu = smaller;
        opts.onMtuShrunk?.(smaller);
        continue;
      }
      result.requests++;
      result.bytesSent += data.length;
      const next = nextUploadStep(plan, off, data.length, rsp);
      if (next.kind === 'done') {
        result.match = next.match;
        opts.onProgress?.({ bytesDone: plan.size, bytesTotal: plan.size });
        this.log?.info({ ...result }, 'image upload complete');
        return result;
      }
      if (result.requests === 1 && next.resumed) {
        result.resumedFrom = next.off;
        this.log?.info({ off: next.off, size: plan.size }, 'device continues an earlier upload of this image');
      }
      if (next.restarted) {
        result.restarts++;
        this.log?.warn({ sentOff: off, deviceOff: next.off }, 'device went back to an earlier offset');
      }
      stalls = next.off === off ? stalls + 1 : 0;
      if (stalls >= this.attempts) {
        throw new BusError(
          'SMP_UPLOAD_STALLED',
          `device kept answering off=${off} (${stalls} times) without taking data`,
          { off, size: plan.size },
        );
      }
      off = next.off;
      opts.onProgress?.({ bytesDone: off, bytesTotal: plan.size });
    }
  }

  /**
   * The upload from `from` on with up to `requestsInFlight` requests in flight, run exclusively (no other
   * request interleaves). Returns `done` (result filled in) or `fallback` with the offset the device
   * last asked for, when a response did not come in time or the device kept going back to the same
   * offset: the caller goes on one request at a time, whose retries and stall detection then apply.
   */
  private uploadWindow(
    plan: UploadPlan,
    reader: ChunkReader,
    from: number,
    requestsInFlight: number,
    result: UploadResult,
    opts: UploadOptions,
  ): Promise<{ kind: 'done' } | { kind: 'fallback'; off: number }> {
    const run = this.queue.then(async (): Promise<{ kind: 'done' } | { kind: 'fallback'; off: number }> => {
      const inFlight: InFlight[] = [];
      let window = requestsInFlight;
      let sendOff = from;
      /** The offset the device last asked for. */
      let deviceOff = from;
      /** After the device asked for an unexpected offset: the rest of the window is answered and ignored. */
      let draining = false;
      let lastDrainOff = -1;
      let stalls = 0;
      for (;;) {
        throwIfAborted(opts.signal);
        if (draining && inFlight.length === 0) {
          draining = false;
          sendOff = deviceOff;
        }
        while (!draining && inFlight.length < window && sendOff < plan.size) {
          const len = fitChunkLength(plan, sendOff, this.limit);
          const data = await reader.read(sendOff, len);
          const seq = await this.send(
            SmpOp.Write,
            SmpGroup.Image,
            ImageCmd.Upload,
            encodeBody(buildUploadRequest(plan, sendOff, data)),
            opts.signal,
          );
          inFlight.push({ seq, off: sendOff, len });
          result.bytesSent += len;
          sendOff += len;
        }
        const got = await this.awaitResponse(
          SmpOp.Write + 1,
          SmpGroup.Image,
          ImageCmd.Upload,
          inFlight.map((e) => e.seq),
          this.responseMs,
          opts.signal,
        );
        if (!got) {
          this.log?.info(
            { off: inFlight[0]?.off, inFlight: inFlight.length, timeoutMs: this.responseMs },
            'pipelined upload request unanswered; going on one request at a time',
          );
          return { kind: 'fallback', off: deviceOff };
        }
        // Responses come in request order: the ones before this seq were lost.
        const i = inFlight.findIndex((e) => e.seq === got.seq);
        const sent = inFlight[i]!;
        inFlight.splice(0, i + 1);
        throwIfSmpError(got.body, { group: SmpGroup.Image, id: ImageCmd.Upload });
        result.requests++;
        const next = nextUploadStep(plan, sent.off, sent.len, got.body);
        if (next.kind === 'done') {
          result.match = next.match;
          opts.onProgress?.({ bytesDone: plan.size, bytesTotal: plan.size });
          this.log?.info({ ...result }, 'image upload complete');
          return { kind: 'done' };
        }
        deviceOff = next.off;
        if (draining) continue;
        if (next.off === sent.off + sent.len) {
          opts.onProgress?.({ bytesDone: next.off, bytesTotal: plan.size });
          continue;
        }
        // The device wants another offset: it restarted (0), resumed further, or lost a chunk before this one.
        if (next.restarted && next.off === 0) {
          result.restarts++;
          this.log?.warn({ sentOff: sent.off, deviceOff: next.off }, 'device went back to an earlier offset');
        } else if (next.off < sent.off + sent.len) {
          // Lost in flight (e.g. no free buffer): fewer at once; at 1 the caller's retries take over.
          window--;
          result.requestsInFlight = window;
          this.log?.info(
            { sentOff: sent.off, deviceOff: next.off, requestsInFlight: window },
            'device lost an upload request in flight; sending fewer at once',
          );
          if (window === 1) return { kind: 'fallback', off: next.off };
        }
        stalls = next.off === lastDrainOff ? stalls + 1 : 0;
        lastDrainOff = next.off;
        if (stalls >= this.attempts) return { kind: 'fallback', off: next.off };
        draining = true;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Sends one request and returns the response body (errors in it thrown as `SMP_RC`).
   * On no response within the timeout the request is sent again with a new sequence number,
   * `attempts` times in all, then `SMP_TIMEOUT` (details `group`, `id`, `attempts`, `timeoutMs`).
   */
  request(op: SmpOpValue, group: number, id: number, body: SmpBody, opts: RequestOptions = {}): Promise<SmpBody> {
    const run = this.queue.then(() => this.exchange(op, group, id, body, opts));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async exchange(
    op: SmpOpValue,
    group: number,
    id: number,
    body: SmpBody,
    opts: RequestOptions,
  ): Promise<SmpBody> {
    const timeoutMs = opts.timeoutMs ?? this.responseMs;
    const attempts = opts.attempts ?? this.attempts;
    const data = encodeBody(body);
    for (let attempt = 1; attempt <= attempts; attempt++) {
      throwIfAborted(opts.signal);
      const seq = await this.send(op, group, id, data, opts.signal, attempt);
      const rsp = (await this.awaitResponse(op + 1, group, id, [seq], timeoutMs, opts.signal))?.body;
      if (rsp) {
        throwIfSmpError(rsp, { group, id });
        return rsp;
      }
      // Expected now and then (a device busy erasing, a dropped frame): debug until the last attempt fails.
      this.log?.debug({ group, id, seq, attempt, attempts, timeoutMs }, 'no SMP response; retrying');
    }
    throw new BusError(
      'SMP_TIMEOUT',
      `no response to SMP group ${group} command ${id} after ${attempts} attempts of ${timeoutMs} ms`,
      { group, id, attempts, timeoutMs, path: this.link.path },
    );
  }

  /** Writes one request with the next sequence number and returns that number. */
  private async send(
    op: SmpOpValue,
    group: number,
    id: number,
    data: Uint8Array,
    signal?: AbortSignal,
    attempt = 1,
  ): Promise<number> {
    const seq = this.seq;
    this.seq = (this.seq + 1) & 0xff;
    const packet = encodeSmpPacket({ op, version: this.version, flags: 0, group, seq, id }, data);
    if (packet.length > this.limit) {
      throw new BusError(
        'SMP_MSG_TOO_LARGE',
        `SMP request of ${packet.length} bytes exceeds the MTU of ${this.limit}`,
        {
          length: packet.length,
          mtu: this.limit,
          group,
          id,
        },
      );
    }
    if (this.log?.isLevelEnabled('debug'))
      this.log.debug({ op, group, id, seq, len: data.length, attempt }, 'smp request');
    await this.link.write(encodeConsoleFrames(packet, this.maxFrameSize), signal);
    return seq;
  }

  /**
   * The response (op, group, id) to one of the requests numbered `seqs`, or undefined when
   * `timeoutMs` passed without one. Other packets are dropped (logged at debug).
   */
  private async awaitResponse(
    op: number,
    group: number,
    id: number,
    seqs: readonly number[],
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ seq: number; body: SmpBody } | undefined> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      for (let packet = this.unread.shift(); packet; packet = this.unread.shift()) {
        let decoded: ReturnType<typeof decodeSmpPacket>;
        try {
          decoded = decodeSmpPacket(packet);
        } catch (e) {
          if (!isBusError(e, 'SMP_BAD_PACKET')) throw e;
          this.log?.warn({ err: e }, 'dropped malformed SMP packet');
          continue;
        }
        const { header, data } = decoded;
        if (header.op === op && header.group === group && header.id === id && seqs.includes(header.seq))
          return { seq: header.seq, body: decodeBody(data) };
        this.log?.debug(
          {
            got: { op: header.op, group: header.group, id: header.id, seq: header.seq },
            want: { op, group, id, seqs },
          },
          'dropped SMP packet that answers another request',
        );
      }
      const left = Math.ceil(deadline - performance.now());
      if (left <= 0) return undefined;
      let chunk: Uint8Array;
      try {
        chunk = await this.link.read(4096, left, signal);
      } catch (e) {
        if (isBusError(e, 'SERIAL_TIMEOUT')) return undefined;
        throw e;
      }
      this.unread.push(...this.rx.feed(chunk));
    }
  }
}

function checkWindow(n: number): number {
  if (!(Number.isInteger(n) && n >= 1 && n <= MAX_REQUESTS_IN_FLIGHT))
    throw new RangeError(`SMP requestsInFlight ${n} out of range [1, ${MAX_REQUESTS_IN_FLIGHT}]`);
  return n;
}

function checkMtu(mtu: number): number {
  if (!(Number.isInteger(mtu) && mtu >= 64 && mtu <= 0xffff))
    throw new RangeError(`SMP mtu ${mtu} out of range [64, 65535]`);
  return mtu;
}

/** No answer at all, or the device's own "message too large": what an oversized request looks like. */
function tooLargeForDevice(e: unknown): boolean {
  return isBusError(e, 'SMP_TIMEOUT') || (isBusError(e, 'SMP_RC') && e.details.name === 'MGMT_ERR_EMSGSIZE');
}
