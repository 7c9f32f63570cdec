/**
 * {@link HubLink} on the real Azure IoT device SDK (`azure-iot-device` + `azure-iot-device-mqtt`,
 * MQTT over TLS). The SDK is used unchanged; this file only works around what it does not do
 * (`reference/iothub-emulator.md`, "Restarts and drops"):
 * - the first `open()` is never retried by the SDK → we retry with back-off until it works;
 * - after a reconnect it never re-subscribes the twin topics nor re-GETs the twin → on any
 *   reconnect or `disconnect` we drop the client and build a fresh one (new subscriptions + GET);
 * - twin requests have no timeout → every GET / PATCH gets a deadline, and a timed-out client is rebuilt.
 */
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { Client } from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import { delay, withDeadline } from '../../drivers/shared/deadline.js';
import type { Logger } from '../model/logger.js';
import { DEVICE_UPDATE_MODEL_ID } from './agent-reports.js';
import { redactConnectionString, type HubConfig } from './hub-config.js';
import { HubError } from './hub-error.js';
import type { HubLink, LinkSink } from './hub-link.js';
import { childLog } from '../../drivers/shared/child-log.js';

type SdkClient = InstanceType<typeof Client>;
type SdkTwin = Awaited<ReturnType<SdkClient['getTwin']>>;

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
  private readonly log: Logger;

  constructor(private readonly o: SdkTwinLinkOptions) {
    this.log = childLog(o.log, { component: 'hub.link' });
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
    const update = promisify(twin.properties.reported.update.bind(twin.properties.reported)) as (
      p: unknown,
    ) => Promise<void>;
    await withDeadline(update(patch), this.o.hub.twinTimeoutMs, () => this.timeout('reported PATCH'));
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

  /** Opens a client and GETs the twin; retries with back-off (100 ms doubling to `reconnectMaxDelayMs`) until it works or the link closes. */
  private async connectWithRetry(first: boolean): Promise<void> {
    let backoff = 100;
    for (;;) {
      if (this.closed || this.signal?.aborted) return;
      try {
        await this.connectOnce();
        if (!first) this.sink?.onReconnected();
        return;
      } catch (e) {
        this.log.warn({ err: e, retryInMs: backoff }, 'IoT Hub connection failed; retrying');
        await this.dropClient();
        try {
          await delay(backoff, this.signal);
        } catch {
          return;
        }
        backoff = Math.min(backoff * 2, this.o.hub.reconnectMaxDelayMs);
      }
    }
  }

  private async connectOnce(): Promise<void> {
    const cs = await this.connectionString();
    const gen = ++this.generation;
    const client = Client.fromConnectionString(cs, Mqtt);
    this.client = client;
    const options: Record<string, unknown> = { modelId: this.o.modelId ?? DEVICE_UPDATE_MODEL_ID };
    if (this.o.productInfo) options.productInfo = this.o.productInfo;
    if (this.o.hub.caFile) options.ca = await readFile(this.o.hub.caFile, 'utf8');
    if (this.o.hub.x509) {
      options.cert = await readFile(this.o.hub.x509.certFile, 'utf8');
      options.key = await readFile(this.o.hub.x509.keyFile, 'utf8');
    }
    await client.setOptions(options);
    client.on('error', (err: Error) => this.log.warn({ err }, 'IoT Hub client error'));
    let opened = false;
    client.on('disconnect', () => {
      if (gen === this.generation) void this.rebuild('disconnected');
    });
    client.on('connect', () => {
      // A reconnect by the SDK itself: it re-subscribes nothing twin-related, so start over.
      if (opened && gen === this.generation) void this.rebuild('SDK reconnected');
    });
    this.log.info({ connectionString: redactConnectionString(cs) }, 'connecting to IoT Hub');
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
      // The first call passes the SDK's live merged object, which later patches mutate: copy it.
      const desired = structuredClone(live);
      const version = typeof desired.$version === 'number' ? desired.$version : 0;
      this.sink?.onDesired(desired, version);
    });
  }

  private rebuild(reason: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.rebuilding ??= (async () => {
      this.log.warn({ reason }, 'rebuilding the IoT Hub client');
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
