/** MQTT.js 4.3.8's TLS stream builder (`lib/connect/tls.js`, CommonJS, no typings of its own). */
declare module 'mqtt/lib/connect/tls.js' {
  import type { TLSSocket } from 'node:tls';
  import type { IClientOptions, MqttClient } from 'mqtt';
  export default function buildBuilder(client: MqttClient, opts: IClientOptions): TLSSocket;
}
