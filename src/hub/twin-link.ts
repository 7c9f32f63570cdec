/**
 * {@link HubLink} on the real Azure IoT device SDK (`azure-iot-device` + `azure-iot-device-mqtt`,
 * MQTT over TLS). The SDK is used unchanged; this file only works around what it does not do
 * (`reference/iothub-emulator.md`, "Restarts and drops"):
 * - the first `open()` is never retried by the SDK → we retry with back-off until it works;
 * - after a reconnect it never re-subscribes the twin topics nor re-GETs the twin → the SDK's own
 *   reconnection is switched off (a retry policy that never retries) and on any `disconnect` we
 *   close the client and only then build a fresh one (new subscriptions + GET). The SDK reconnecting
 *   by itself while we built a second client gave two connections of one device knocking each other
 *   off; now there is exactly one connection at a time;
 * - twin requests have no timeout → every GET / PATCH gets a deadline, and a timed-out client is
 *   rebuilt; a PATCH in flight on a client that is dropped fails at once, to be re-sent on the next one.
 * Reconnect attempts back off exponentially with jitter (100 ms doubling up to `reconnectMaxDelayMs`);
 * while the hub is away the first attempts are logged one line each, then at most one a minute.
 * The transport is the SDK's `Mqtt` with a size guard on the incoming bytes (`guarded-mqtt.ts`): a
 * twin message over `INPUT_LIMITS.twinMessageBytes` is dropped before the SDK parses it.
 */
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { Client } from 'azure-iot-device';
import { delay, withDeadline } from '../../drivers/shared/deadline.js';
import { INPUT_LIMITS } from '../model/input-limits.js';
import type { Logger } from '../model/logger.js';
import { DEVICE_UPDATE_MODEL_ID } from './agent-reports.js';
import { guardedMqttTransport } from './guarded-mqtt.js';
import { boundedDesired } from './service-request.js';
import { redactConnectionString, type HubConfig } from './hub-config.js';
import { HubError } from './hub-error.js';
import type { HubLink, LinkSink } from './hub-link.js';
import { childLog } from '../../drivers/shared/child-log.js';
import { errorSummary, LogThrottle } from './log-throttle.js';

type SdkClient = InstanceType<typeof Client>;
type SdkTwin = Awaited<ReturnType<SdkClient['getTwin']>>;

/** An SDK retry policy that never retries: reconnection is this link's job alone (see above). */
const NEVER_RETRY = { shouldRetry: () => false, nextRetryTimeout: () => -1 };

/** Full-jitter-style back-off: a random delay in [base/2, base], so a fleet does not reconnect in step. */
export function jittered(baseMs: number, random: () => number = Math.random): number {
  return Math.round(baseMs / 2 + (random() * baseMs) / 2);
}

export interface SdkTwinLinkOptions {
  hub: Pick<
    HubConfig,
    'connectionString' | 'connectionStringFile' | 'x509' | 'caFile' | 'twinTimeoutMs' | 'reconnectMaxDelayMs'
  >;
  log: Logger;
  /** Model id announced in the MQTT username. Default `dtmi:azure:iot:deviceUpdateModel;3`. */
  modelId?: string;
  /** Appended to the SDK's product info (`DeviceClientType`). */
  productInfo?: string;
}

export class SdkTwinLink implements HubLink {
  private client: SdkClient | undefined;
  private twin: SdkTwin | undefined;
  private sink: LinkSink | undefined;
  private signal: AbortSignal | undefined;
  private rebuilding: Promise<void> | undefined;
  private closed = false;
  private generation = 0;
  /** Aborted when the current client is dropped: fails its in-flight twin requests at once. */
  private clientGone = new AbortController();
  private readonly attemptLog = new LogThrottle();
  private readonly log: Logger;
  private readonly transport: ReturnType<typeof guardedMqttTransport>;

  constructor(private readonly o: SdkTwinLinkOptions) {
    this.log = childLog(o.log, { component: 'hub.link' });
    this.transport = guardedMqttTransport({
      limitBytes: INPUT_LIMITS.twinMessageBytes,
      onOversize: (m) =>
        this.log.error(
          {
            topic: m.topic.replace(/\?.*$/, ''),
            bytes: m.bytes,
            limitBytes: INPUT_LIMITS.twinMessageBytes,
            desiredVersion: m.facts.version,
            workflowId: typeof m.facts.workflow?.id === 'string' ? m.facts.workflow.id : undefined,
          },
          'twin message over the size limit dropped unread; only the workflow id is kept',
        ),
    });
  }

  async start(sink: LinkSink, signal: AbortSignal): Promise<void> {
    this.sink = sink;
    this.signal = signal;
    signal.addEventListener('abort', () => void this.close(), { once: true });
    await this.connectWithRetry(true);
  }

  async reportPatch(patch: Record<string, unknown>): Promise<void> {
    const twin = this.twin;
    if (!twin) throw new HubError('HUB_TWIN_TIMEOUT', 'not connected to IoT Hub');
    // The SDK types the reported-properties object loosely (any); this is the callback API it has.
    const reported = twin.properties.reported as {
      update(patch: unknown, done: (err?: Error) => void): void;
    };
    const update = promisify(reported.update.bind(reported)) as (p: unknown) => Promise<void>;
    const gone = this.clientGone.signal;
    try {
      await withDeadline(update(patch), this.o.hub.twinTimeoutMs, () => this.timeout('reported PATCH'), gone);
    } catch (e) {
      if (gone.aborted) throw new HubError('HUB_TWIN_TIMEOUT', 'reported PATCH: the connection to IoT Hub was lost');
      throw e;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.dropClient();
  }

  private timeout(what: string): HubError {
    // An unanswered twin request stays pending forever in the SDK: start over on a fresh client.
    void this.rebuild(`${what} timed out`);
    return new HubError('HUB_TWIN_TIMEOUT', `${what}: no answer from IoT Hub within ${this.o.hub.twinTimeoutMs} ms`);
  }

  private async connectionString(): Promise<string> {
    if (this.o.hub.connectionString) return this.o.hub.connectionString;
    return (await readFile(this.o.hub.connectionStringFile!, 'utf8')).split('\n')[0]!.trim();
  }

  /** Opens a client and GETs the twin; retries with jittered back-off (100 ms doubling to `reconnectMaxDelayMs`) until it works or the link closes. */
  private async connectWithRetry(first: boolean): Promise<void> {
    let backoff = 100;
    for (let attempt = 1; ; attempt++) {
      if (this.closed || this.signal?.aborted) return;
      try {
        await this.connectOnce(attempt);
        if (attempt > 1) this.log.info({ attempts: attempt }, 'connected to IoT Hub again');
        this.attemptLog.reset();
        if (!first) this.sink?.onReconnected();
        return;
      } catch (e) {
        const wait = jittered(backoff);
        const { log, suppressed } = this.attemptLog.next();
        if (log)
          this.log.warn(
            { ...errorSummary(e), attempt, retryInMs: wait, ...(suppressed > 0 && { attemptsNotLogged: suppressed }) },
            'IoT Hub connection failed; retrying',
          );
        await this.dropClient();
        try {
          await delay(wait, this.signal);
        } catch {
          return;
        }
        backoff = Math.min(backoff * 2, this.o.hub.reconnectMaxDelayMs);
      }
    }
  }

  private async connectOnce(attempt: number): Promise<void> {
    const cs = await this.connectionString();
    const gen = ++this.generation;
    const client = Client.fromConnectionString(cs, this.transport);
    this.client = client;
    const options: Record<string, unknown> = { modelId: this.o.modelId ?? DEVICE_UPDATE_MODEL_ID };
    if (this.o.productInfo) options.productInfo = this.o.productInfo;
    if (this.o.hub.caFile) options.ca = await readFile(this.o.hub.caFile, 'utf8');
    if (this.o.hub.x509) {
      options.cert = await readFile(this.o.hub.x509.certFile, 'utf8');
      options.key = await readFile(this.o.hub.x509.keyFile, 'utf8');
    }
    client.setRetryPolicy(NEVER_RETRY);
    await client.setOptions(options);
    // Transport errors also end in `disconnect`, which is logged with its cause there.
    client.on('error', (err: Error) => this.log.debug(errorSummary(err), 'IoT Hub client error'));
    let opened = false;
    client.on('disconnect', (why?: { transportObj?: unknown }) => {
      if (gen === this.generation)
        void this.rebuild(why?.transportObj ? `disconnected: ${errorSummary(why.transportObj).error}` : 'disconnected');
    });
    client.on('connect', () => {
      // The SDK reconnected by itself (it does so to renew a SAS token): it re-subscribes nothing
      // twin-related, so start over on a fresh client.
      if (opened && gen === this.generation) void this.rebuild('SDK reconnected');
    });
    // One line per outage, not per attempt: the failures are logged (throttled) by the caller.
    if (attempt === 1) this.log.info({ connectionString: redactConnectionString(cs) }, 'connecting to IoT Hub');
    await withDeadline(
      client.open(),
      this.o.hub.twinTimeoutMs,
      () => new HubError('HUB_TWIN_TIMEOUT', 'connect: no CONNACK'),
      this.signal,
    );
    opened = true;
    const twin = await withDeadline(
      client.getTwin(),
      this.o.hub.twinTimeoutMs,
      () => new HubError('HUB_TWIN_TIMEOUT', 'twin GET: no answer'),
      this.signal,
    );
    this.twin = twin;
    this.log.info('connected; twin received');
    // Fires at once with the whole desired document, then with each patch fragment.
    twin.on('properties.desired', (live: Record<string, unknown>) => {
      if (gen !== this.generation) return;
      // The first call passes the SDK's live merged object, which later patches mutate: copy it,
      // unless it is over the size limit (then only what is needed to refuse the deployment).
      const { desired, oversize } = boundedDesired(live);
      if (oversize)
        this.log.error(
          { limitBytes: INPUT_LIMITS.twinDesiredBytes },
          'desired properties over the size limit; only the workflow id is kept',
        );
      const version = typeof desired.$version === 'number' ? desired.$version : 0;
      this.sink?.onDesired(desired, version);
    });
  }

  private rebuild(reason: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.rebuilding ??= (async () => {
      this.log.warn({ reason }, 'IoT Hub connection lost; reconnecting');
      await this.dropClient();
      await this.connectWithRetry(false);
    })().finally(() => {
      this.rebuilding = undefined;
    });
    return this.rebuilding;
  }

  private async dropClient(): Promise<void> {
    const client = this.client;
    this.generation++;
    this.clientGone.abort();
    this.clientGone = new AbortController();
    this.client = undefined;
    this.twin = undefined;
    if (!client) return;
    client.removeAllListeners();
    // Keep an 'error' listener: a late socket error must not crash the process.
    client.on('error', (err: Error) => this.log.debug({ err }, 'error on a discarded IoT Hub client'));
    try {
      await withDeadline(client.close(), 5000, () => new Error('close timed out'));
    } catch (e) {
      this.log.debug({ err: e }, 'closing the old IoT Hub client failed');
    }
  }
}
