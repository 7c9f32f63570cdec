import type { SerialLink, SerialLinkOptions } from '../../../drivers/serial/link.js';
import { openSerialLink } from '../../../drivers/serial/serialport-link.js';
import { SmpClient } from '../../../drivers/serial/smp/smp-client.js';
import { delay } from '../../../drivers/shared/deadline.js';
import {
  DEFAULT_BUFFER_SIZE,
  requestLimitForBuffer,
  requestsInFlightForBuffers,
} from '../../../drivers/serial/smp/buffer-size.js';
import { BusError, isBusError, throwIfAborted } from '../../../drivers/shared/errors.js';
import type { Logger } from '../../model/logger.js';
import type { SmpHandlerConfig, SmpStepSettings } from './smp-config.js';

/** Opens a serial link; the handler's seam for tests and other backends. */
export type OpenLink = (options: SerialLinkOptions & { log?: Logger }) => Promise<SerialLink>;

/** Link errors after which reopening the port may help (the device re-enumerated or rebooted). */
const REOPENABLE = new Set(['SERIAL_DISCONNECTED', 'SERIAL_CLOSED', 'SERIAL_IO', 'SERIAL_OPEN_FAILED', 'SMP_TIMEOUT']);

export function isReconnectable(e: unknown): boolean {
  return isBusError(e) && REOPENABLE.has(e.code);
}

/** Answers to `mcumgr params` that mean "this device does not say": fall back to a guess. */
const PARAMS_UNANSWERED = new Set(['SMP_TIMEOUT', 'SMP_RC', 'SMP_BAD_RESPONSE']);

/**
 * One device session of the handler: the port opened on demand, an {@link SmpClient} on it,
 * the request size learned from the device, and "wait until the device answers again" after a
 * reset or a lost link.
 */
export class SmpConnection {
  private link: SerialLink | undefined;
  private smp: SmpClient | undefined;
  /** Largest request, bytes; carried over to the client of every reopen. */
  private requestLimit: number;
  private bufferKnown = false;
  private bufCount: number | undefined;

  constructor(
    private readonly step: SmpStepSettings,
    private readonly cfg: SmpHandlerConfig,
    private readonly log: Logger,
    private readonly openLink: OpenLink = openSerialLink,
  ) {
    this.requestLimit = requestLimitForBuffer(step.mtu ?? DEFAULT_BUFFER_SIZE);
  }

  /** True until the device reported its buffer: upload requests then shrink after timeouts. */
  get requestSizeIsGuess(): boolean {
    return !this.bufferKnown;
  }

  /**
   * Upload requests to keep in flight: `floor(buf_count / 2)` for a device that reported its
   * buffers, capped by `maxRequestsInFlight`; 1 while its buffers are unknown.
   */
  get requestsInFlight(): number {
    return Math.min(this.cfg.maxRequestsInFlight, requestsInFlightForBuffers(this.bufCount));
  }

  /** The client stepped its request size down (see `UploadOptions.shrinkOnTimeout`). */
  noteRequestLimit(mtu: number): void {
    this.requestLimit = mtu;
  }

  /**
   * Asks the device's SMP buffer (`mcumgr params`, group 0 command 6; one attempt) and sizes
   * requests to it: at most `min(buf_size, step.mtu)` − 4 bytes (reference/bus-protocols.md §7).
   * A device that does not answer, or answers with an error, keeps the guess
   * (`step.mtu` or 256) and {@link requestSizeIsGuess} stays true.
   * @throws BusError `SMP_MTU_TOO_SMALL` for a reported buffer below 68 bytes; link errors; CancelledError.
   */
  async sizeRequests(signal: AbortSignal): Promise<void> {
    const c = await this.client();
    let params: { bufSize: number; bufCount: number };
    try {
      params = await c.mcumgrParams({ signal, attempts: 1 });
    } catch (e) {
      if (!isBusError(e) || !PARAMS_UNANSWERED.has(e.code)) throw e;
      this.log.info(
        { reason: e.code, mtu: this.requestLimit },
        'device does not report its SMP buffer (mcumgr params); requests will get smaller if they go unanswered',
      );
      return;
    }
    const buffer = Math.min(params.bufSize, this.step.mtu ?? Number.MAX_SAFE_INTEGER);
    const limit = requestLimitForBuffer(buffer);
    if (limit < 64)
      throw new BusError('SMP_MTU_TOO_SMALL', `an SMP buffer of ${buffer} bytes leaves no room for requests`, {
        bufSize: params.bufSize,
        mtu: this.step.mtu,
      });
    this.requestLimit = limit;
    this.bufferKnown = true;
    this.bufCount = params.bufCount;
    c.setMtu(limit);
    this.log.info(
      {
        bufSize: params.bufSize,
        bufCount: params.bufCount,
        requestLimit: limit,
        requestsInFlight: this.requestsInFlight,
      },
      'device SMP buffer',
    );
  }

  /** The client, opening the port first if needed. Throws `SERIAL_OPEN_FAILED`. */
  async client(): Promise<SmpClient> {
    if (this.smp) return this.smp;
    this.link = await this.openLink({
      path: this.step.port,
      baudRate: this.step.baudRate,
      assertControlLinesOnOpen: this.step.assertControlLines,
      log: this.log,
    });
    this.smp = new SmpClient(this.link, {
      mtu: this.requestLimit,
      timeouts: { responseMs: this.cfg.responseTimeoutMs },
      attempts: { request: this.cfg.requestAttempts },
      log: this.log,
    });
    return this.smp;
  }

  async close(): Promise<void> {
    const link = this.link;
    this.link = undefined;
    this.smp = undefined;
    await link?.close();
  }

  /**
   * Polls until the device answers an echo, reopening the port when it vanished (USB CDC-ACM
   * devices re-enumerate on reset). Throws BusError `SMP_DEVICE_NOT_BACK` (details `timeoutMs`,
   * `lastError`) after `timeoutMs`; CancelledError on `signal`.
   */
  async waitForDevice(timeoutMs: number, signal: AbortSignal): Promise<SmpClient> {
    const deadline = performance.now() + timeoutMs;
    let lastError = '';
    for (let tries = 1; ; tries++) {
      throwIfAborted(signal);
      const left = deadline - performance.now();
      if (left <= 0) break;
      try {
        const c = await this.client();
        await c.echo('sensor-proxy', {
          signal,
          attempts: 1,
          timeoutMs: Math.max(50, Math.min(this.cfg.responseTimeoutMs, left)),
        });
        this.log.debug({ tries }, 'device answers');
        return c;
      } catch (e) {
        if (!isReconnectable(e)) throw e;
        lastError = `${(e as BusError).code}: ${(e as BusError).message}`;
        if (!isBusError(e, 'SMP_TIMEOUT')) await this.close(); // the port is gone or never opened: reopen next time
      }
      await delay(Math.min(this.cfg.pollIntervalMs, Math.max(0, deadline - performance.now())), signal);
    }
    await this.close();
    throw new BusError('SMP_DEVICE_NOT_BACK', `device on ${this.step.port} did not answer within ${timeoutMs} ms`, {
      timeoutMs,
      lastError,
      path: this.step.port,
    });
  }
}
