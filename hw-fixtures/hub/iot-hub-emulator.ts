/**
 * A local IoT Hub for the unchanged `azure-iot-device` SDK: MQTT 3.1.1 over TLS on loopback
 * (aedes + a generated test CA), SAS tokens or X.509 thumbprints checked, twin GET / reported PATCH / desired pushes,
 * device-to-cloud messages recorded. Protocol facts: `reference/iothub-emulator.md` (topics table,
 * "How the SDK treats answers", "Restarts and drops").
 *
 * Twin traffic is published straight to the requesting client (never through broker routing) and
 * desired pushes go to the device's live connection whatever its subscriptions, since the SDK
 * never re-subscribes twin topics after a reconnect. Fault switches: drop every device connection
 * gracefully (`dropConnections('close')`) or with a TCP reset (`'reset'`).
 */
import { createHmac, randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { createTestPki, type TestPki } from './test-pki.js';
import { DeviceTwin, mergePatch, type JsonObject } from './twin-store.js';

export interface D2cMessage {
  deviceId: string;
  topic: string;
  properties: Record<string, string>;
  body: Buffer;
}

export interface EmulatorOptions {
  /** Listen address. Default 127.0.0.1. */
  host?: string;
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Host name written into connection strings (must be covered by the server cert). Default `localhost`. */
  hostName?: string;
  pki?: TestPki;
}

interface Device {
  id: string;
  /** SAS: base64 device key. */
  key: string;
  /** X.509 (thumbprint auth): SHA-256 fingerprint of the device certificate, `AA:BB:…`. */
  thumbprint?: string;
  twin: DeviceTwin;
  client: Client | undefined;
  /** Model id from the last CONNECT username (`model-id=`). */
  modelId: string | undefined;
  connects: number;
  /** Wall-clock times (ms) of the accepted CONNECTs, in order. */
  connectTimes: number[];
  /**
   * CONNECTs accepted while another connection of this device was still live (the broker then
   * closes the older one: two clients of one device knocking each other off).
   */
  takeovers: number;
  /** Twin GET requests answered. */
  twinGets: number;
  /** CONNECTs refused (bad token, unknown certificate). */
  refused: number;
}

/** A registered device that has not connected yet, authenticated by a SAS key or a certificate thumbprint. */
function newDevice(id: string, auth: Pick<Device, 'key' | 'thumbprint'>): Device {
  return {
    id,
    ...auth,
    twin: new DeviceTwin(),
    client: undefined,
    modelId: undefined,
    connects: 0,
    connectTimes: [],
    takeovers: 0,
    twinGets: 0,
    refused: 0,
  };
}

type Waiter = { pred: () => boolean; resolve: () => void };

export class IotHubEmulator {
  readonly devices = new Map<string, Device>();
  readonly d2c: D2cMessage[] = [];
  private readonly sockets = new Set<Socket>();
  private waiters: Waiter[] = [];
  port = 0;

  private constructor(
    private readonly broker: Aedes,
    private readonly server: Server,
    readonly pki: TestPki,
    readonly hostName: string,
    private readonly listenHost: string,
  ) {}

  /** Generates (or takes) the PKI, starts aedes behind a TLS listener, resolves once listening. */
  static async start(o: EmulatorOptions = {}): Promise<IotHubEmulator> {
    const pki = o.pki ?? (await createTestPki([o.hostName ?? 'localhost']));
    const broker = await Aedes.createBroker();
    // requestCert without rejectUnauthorized: SAS and X.509 devices share the listener (fact sheet, "X.509").
    const server = createServer(
      { key: pki.serverKey, cert: pki.serverCert, requestCert: true, rejectUnauthorized: false },
      (s) => broker.handle(s),
    );
    const hub = new IotHubEmulator(broker, server, pki, o.hostName ?? 'localhost', o.host ?? '127.0.0.1');
    hub.install();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? 0, hub.listenHost, () => resolve());
    });
    const addr = server.address();
    hub.port = typeof addr === 'object' && addr ? addr.port : 0;
    return hub;
  }

  /** Registers a device with a fresh random key; returns its connection string (`HostName=<host>:<port>`). */
  addDevice(id: string): string {
    this.devices.set(id, newDevice(id, { key: randomBytes(32).toString('base64') }));
    return this.connectionString(id);
  }

  /** Registers a device authenticated by its (self-signed) certificate's SHA-256 thumbprint; returns its `x509=true` connection string. */
  addX509Device(id: string, certPem: string): string {
    this.devices.set(id, newDevice(id, { key: '', thumbprint: new X509Certificate(certPem).fingerprint256 }));
    return this.connectionString(id);
  }

  connectionString(id: string): string {
    const d = this.device(id);
    const auth = d.thumbprint ? 'x509=true' : `SharedAccessKey=${d.key}`;
    return `HostName=${this.hostName}:${this.port};DeviceId=${id};${auth}`;
  }

  device(id: string): Device {
    const d = this.devices.get(id);
    if (!d) throw new Error(`no device ${id} on the emulator`);
    return d;
  }

  twin(id: string): DeviceTwin {
    return this.device(id).twin;
  }

  /**
   * Patches the desired document and pushes the patch to the device when connected. Keys listed in
   * `replace` (dotted paths) are deleted first, so the new value replaces rather than merges
   * (the Device Update service rewrites `deviceUpdate.service` as a whole).
   */
  setDesired(id: string, patch: JsonObject, replace: string[] = []): number {
    const twin = this.twin(id);
    for (const path of replace) {
      const parts = path.split('.');
      let node: JsonObject | undefined = twin.desired;
      for (const p of parts.slice(0, -1))
        node = node && typeof node[p] === 'object' && node[p] !== null ? (node[p] as JsonObject) : undefined;
      if (node) delete node[parts[parts.length - 1]!];
    }
    const pushed = twin.patchDesired(patch);
    const client = this.device(id).client;
    if (client?.connected)
      this.send(
        client,
        `$iothub/twin/PATCH/properties/desired/?$version=${twin.desiredVersion}`,
        JSON.stringify(pushed),
      );
    this.notify();
    return twin.desiredVersion;
  }

  /**
   * A hostile or broken hub: pushes `body` as it is (any bytes, any size) on the desired PATCH
   * topic of the device's live connection, under the next desired `$version`, without storing it
   * in the twin (a later GET does not return it). `body` may be made from the version. Resolves once
   * aedes has written it to the socket.
   * @returns the `$version` in the topic.
   */
  async pushRawDesired(id: string, body: Buffer | ((version: number) => Buffer)): Promise<number> {
    const twin = this.twin(id);
    const client = this.device(id).client;
    if (!client?.connected) throw new Error(`emulator: device ${id} is not connected`);
    const version = ++twin.desiredVersion;
    await new Promise<void>((resolve, reject) =>
      client.publish(
        {
          cmd: 'publish',
          topic: `$iothub/twin/PATCH/properties/desired/?$version=${version}`,
          payload: typeof body === 'function' ? body(version) : body,
          qos: 0,
          retain: false,
          dup: false,
        },
        (err) => (err ? reject(err) : resolve()),
      ),
    );
    return version;
  }

  /** Resolves when `pred` holds (checked after every twin change and D2C message), rejects after `timeoutMs`. */
  waitFor(pred: () => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        pred,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`emulator: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Fault switch: ends every device connection, gracefully (FIN/close_notify) or with a TCP reset. */
  dropConnections(how: 'close' | 'reset'): void {
    for (const s of this.sockets) {
      if (how === 'reset') s.resetAndDestroy();
      else s.end();
    }
  }

  /**
   * Fault switch: the hub goes away and comes back, as a broker process that is restarted: the
   * listener closes (new connections are refused), every connection ends with a FIN and no MQTT
   * DISCONNECT, and after `downMs` the hub listens on the same port again, keeping devices, twins
   * and counters. Resolves once it listens again, with the time (ms) it did.
   */
  async restart(downMs: number): Promise<number> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
    await new Promise((r) => setTimeout(r, downMs));
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, this.listenHost, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return Date.now();
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.broker.close(() => resolve()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private notify(): void {
    for (const w of this.waiters.filter((x) => x.pred())) {
      this.waiters = this.waiters.filter((x) => x !== w);
      w.resolve();
    }
  }

  private send(client: Client, topic: string, body: string): void {
    client.publish({ cmd: 'publish', topic, payload: Buffer.from(body), qos: 0, retain: false, dup: false }, (err) => {
      if (err) client.emit('error', err);
    });
  }

  private install(): void {
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.broker.authenticate = (client, username, password, done) =>
      this.authenticate(client, username, password, done);
    this.broker.authorizePublish = (client, packet, cb) => {
      if (packet.topic.startsWith('$SYS/')) return cb(new Error('$SYS/ topics are reserved'));
      if (client) this.onDevicePublish(client, packet.topic, Buffer.from(packet.payload as Buffer));
      cb(null);
    };
    this.broker.on('clientDisconnect', (client) => {
      const d = this.devices.get(client.id);
      if (d?.client === client) d.client = undefined;
    });
  }

  /** CONNECT: username `<host>/<id>/?api-version=…&model-id=…`, password a SAS token for `<host>/devices/<id>`. */
  private authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (e: AuthenticateError | null, ok: boolean | null) => void,
  ): void {
    const refuse = (why: string) => {
      const known = this.devices.get(client.id);
      if (known) known.refused++;
      this.notify();
      const e = new Error(`not authorized: ${why}`) as AuthenticateError;
      e.returnCode = 5;
      done(e, false);
    };
    const d = this.devices.get(client.id);
    if (!d) return refuse('unknown device');
    const q = (username ?? '').indexOf('/?');
    const [host, id] = (username ?? '').slice(0, q < 0 ? undefined : q).split('/');
    if (id !== d.id || host !== `${this.hostName}:${this.port}`) return refuse('bad username');
    if (d.thumbprint) {
      const peer = (client.conn as TLSSocket).getPeerCertificate?.();
      if (!peer?.fingerprint256 || peer.fingerprint256 !== d.thumbprint)
        return refuse('client certificate does not match the registered thumbprint');
    } else if (!password || !checkSas(password.toString('utf8'), `${host}/devices/${d.id}`, d.key))
      return refuse('bad SAS token');
    d.modelId = new URLSearchParams((username ?? '').slice(q + 2)).get('model-id') ?? undefined;
    if (d.client && !d.client.closed) d.takeovers++;
    d.client = client;
    d.connects++;
    d.connectTimes.push(Date.now());
    done(null, true);
  }

  private onDevicePublish(client: Client, topic: string, body: Buffer): void {
    const d = this.devices.get(client.id);
    if (!d) return;
    const rid = /[?&]\$rid=([^&]+)/.exec(topic)?.[1] ?? '';
    if (topic.startsWith('$iothub/twin/GET/')) {
      d.twinGets++;
      this.notify();
      this.send(client, `$iothub/twin/res/200/?$rid=${rid}`, JSON.stringify(d.twin.document()));
    } else if (topic.startsWith('$iothub/twin/PATCH/properties/reported/')) {
      let patch: JsonObject;
      try {
        patch = JSON.parse(body.toString('utf8')) as JsonObject;
      } catch {
        // The SDK fails a request only on a JSON body with errorCode.
        this.send(
          client,
          `$iothub/twin/res/400/?$rid=${rid}`,
          JSON.stringify({ errorCode: 400, message: 'reported patch is not JSON' }),
        );
        return;
      }
      const v = d.twin.patchReported(patch);
      this.send(client, `$iothub/twin/res/204/?$rid=${rid}&$version=${v}`, '');
      this.notify();
    } else if (topic.startsWith(`devices/${d.id}/messages/events/`)) {
      const props = Object.fromEntries(new URLSearchParams(topic.slice(`devices/${d.id}/messages/events/`.length)));
      this.d2c.push({ deviceId: d.id, topic, properties: props, body });
      this.notify();
    }
  }
}

/** `SharedAccessSignature sr=<url-encoded resource>&sig=<url-encoded base64>&se=<unix s>`: HMAC-SHA256 keyed by the decoded key over `sr\nse`. */
export function checkSas(token: string, resource: string, key: string): boolean {
  if (!token.startsWith('SharedAccessSignature ')) return false;
  const fields = new Map<string, string>();
  for (const kv of token.slice('SharedAccessSignature '.length).split('&')) {
    const i = kv.indexOf('=');
    fields.set(kv.slice(0, i), kv.slice(i + 1));
  }
  const sr = fields.get('sr');
  const sig = fields.get('sig');
  const se = fields.get('se');
  if (!sr || !sig || !se) return false;
  if (decodeURIComponent(sr) !== resource || Number(se) * 1000 < Date.now()) return false;
  const expected = createHmac('sha256', Buffer.from(key, 'base64')).update(`${sr}\n${se}`).digest();
  const given = Buffer.from(decodeURIComponent(sig), 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export { mergePatch };
