/**
 * The SDK's own MQTT transport (`azure-iot-device-mqtt` `Mqtt`) with a {@link TwinSizeGuard}
 * between the TLS socket and MQTT.js's packet parser, so an oversize twin message is dropped as it
 * arrives instead of being buffered and parsed (issue 13 item 4).
 *
 * Nothing of the SDK is changed; it is only assembled differently, through the hooks it has:
 * - `new Mqtt(authenticationProvider, mqttBase)` takes the `MqttBase` to use;
 * - `new MqttBase(mqttProvider)` takes the module whose `connect(uri, options)` makes the MQTT.js
 *   client (it calls it with `mqtts://<host[:port]>` and its own options, `_connectClient`);
 * - MQTT.js's `new MqttClient(streamBuilder, options)` takes the function that opens the
 *   connection; ours calls MQTT.js's own TLS stream builder (`mqtt/lib/connect/tls.js`, the one
 *   `mqtt.connect` uses for `mqtts`), so TLS options and error handling stay exactly as they were.
 * MQTT.js reads its stream only through `stream.pipe(parser)` (`_setupStream` in `lib/client.js`):
 * the socket's `pipe` is pointed through the guard, and everything else (writes, end, destroy,
 * `close` and `error`) stays on the TLS socket itself. `azure-iot-mqtt-base` and `mqtt` are direct
 * dependencies pinned to the versions `azure-iot-device-mqtt` resolves, so one copy is installed.
 */
import type { Writable } from 'node:stream';
import { Mqtt } from 'azure-iot-device-mqtt';
import { MqttBase } from 'azure-iot-mqtt-base';
import { MqttClient, type IClientOptions } from 'mqtt';
import tlsStreamBuilder from 'mqtt/lib/connect/tls.js';
import { TwinSizeGuard, type OversizeTwinMessage } from './twin-size-guard.js';

type AuthenticationProvider = ConstructorParameters<typeof Mqtt>[0];

export interface GuardedMqttOptions {
  /** Largest twin payload passed to the SDK, bytes. */
  limitBytes: number;
  onOversize?: (m: OversizeTwinMessage) => void;
}

/** `mqtts://host:port` → MQTT.js stream-builder options (what `mqtt.connect` derives from the URL). */
function urlOptions(uri: string): { protocol: 'mqtts'; host: string; hostname: string; port: number } {
  const u = new URL(uri);
  if (u.protocol !== 'mqtts:') throw new Error(`guarded MQTT transport: unsupported URL ${uri} (mqtts only)`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  return { protocol: 'mqtts', host, hostname: host, port: u.port ? Number(u.port) : 8883 };
}

/** The `mqttProvider` for `MqttBase`: `connect()` as MQTT.js's, with the guard on the incoming bytes. */
export function guardedMqttProvider(o: GuardedMqttOptions): {
  connect(uri: string, options: IClientOptions): MqttClient;
} {
  return {
    connect(uri, options) {
      const opts: IClientOptions = { ...options, ...urlOptions(uri) };
      const client = new MqttClient((c) => {
        // A fresh copy each time: the TLS builder writes into its options.
        const socket = tlsStreamBuilder(c, { ...opts });
        const guard = new TwinSizeGuard(o);
        const pipe = socket.pipe.bind(socket);
        socket.pipe = <T extends NodeJS.WritableStream>(dest: T, pipeOptions?: { end?: boolean }): T => {
          pipe(guard);
          return guard.pipe(dest as unknown as Writable, pipeOptions) as unknown as T;
        };
        return socket;
      }, opts);
      // As `mqtt.connect` does: errors are handled through the SDK's own listeners.
      client.on('error', () => {});
      return client;
    },
  };
}

/**
 * A transport constructor for `Client.fromConnectionString(cs, transport)`: the SDK's `Mqtt` on an
 * `MqttBase` whose connections pass through a {@link TwinSizeGuard}.
 */
export function guardedMqttTransport(o: GuardedMqttOptions): typeof Mqtt {
  const provider = guardedMqttProvider(o);
  return class GuardedMqtt extends Mqtt {
    constructor(authenticationProvider: AuthenticationProvider) {
      super(authenticationProvider, new MqttBase(provider));
    }
  };
}
