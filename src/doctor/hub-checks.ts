import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect, rootCertificates } from 'node:tls';
import { resolveHubConfig, type HubConfig } from '../hub/hub-config.js';
import { fail, pass, skip, type CheckGroup, type CheckResult } from './check.js';

/** IoT Hub's MQTT over TLS port. */
const MQTT_TLS_PORT = 8883;
const TIMEOUT_MS = 10_000;

function withTimeout<T>(p: Promise<T>, what: string, ms = TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const code = (e: unknown) => (e as NodeJS.ErrnoException)?.code ?? (e as Error)?.message ?? String(e);

/** `hub.dns`, `hub.tcp`, `hub.tls`, `hub.auth`: each step of reaching IoT Hub, stopping at the first failure. */
export const hubChecks: CheckGroup = async ({ config }) => {
  if (!config?.hub) return [skip('hub', 'no "hub" section in the config')];
  let hub: HubConfig;
  let cs: string;
  try {
    hub = resolveHubConfig(config.hub, config.baseDir);
    cs = hub.connectionString ?? (await readFile(hub.connectionStringFile!, 'utf8')).split('\n')[0]!.trim();
  } catch (e) {
    return [skip('hub', `no usable connection string (see the secrets check): ${(e as Error).message}`)];
  }
  const hostField = /(?:^|;)HostName=([^;]+)/i.exec(cs)?.[1];
  if (!hostField)
    return [
      fail(
        'hub.dns',
        'the connection string has no HostName=',
        'copy the device connection string from the Azure portal (IoT Hub > Devices > <device>)',
      ),
    ];
  const [host, portText] = hostField.split(':') as [string, string | undefined];
  const port = portText ? Number(portText) : MQTT_TLS_PORT;
  const out: CheckResult[] = [];
  const notRun = (from: string[]) => from.map((id) => skip(id, 'not tried: an earlier hub check failed'));

  try {
    const addr = await withTimeout(lookup(host), `DNS lookup of ${host}`);
    out.push(pass('hub.dns', `${host} is ${addr.address}`));
  } catch (e) {
    out.push(
      fail(
        'hub.dns',
        `cannot resolve ${host}: ${code(e)}`,
        'check the network and /etc/resolv.conf (resolvectl status); the host name must be <hub>.azure-devices.net',
      ),
      ...notRun(['hub.tcp', 'hub.tls', 'hub.auth']),
    );
    return out;
  }
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        const s = tcpConnect({ host, port }, () => {
          s.destroy();
          resolve();
        });
        s.once('error', reject);
      }),
      `TCP connect to ${host}:${port}`,
    );
    out.push(pass('hub.tcp', `${host}:${port} accepts TCP connections`));
  } catch (e) {
    out.push(
      fail(
        'hub.tcp',
        `cannot connect to ${host}:${port}: ${code(e)}`,
        `open outbound TCP ${port} in the firewall/proxy (IoT Hub MQTT needs ${MQTT_TLS_PORT})`,
      ),
      ...notRun(['hub.tls', 'hub.auth']),
    );
    return out;
  }
  const ca = hub.caFile ? [...rootCertificates, await readFile(hub.caFile, 'utf8')] : undefined;
  try {
    const cert = await withTimeout(
      new Promise<string>((resolve, reject) => {
        const s = tlsConnect({ host, port, servername: host, ...(ca && { ca }) }, () => {
          const peer = s.getPeerCertificate();
          s.destroy();
          resolve(
            `${String(peer.subject?.CN ?? '?')} issued by ${String(peer.issuer?.CN ?? '?')}, valid to ${peer.valid_to}`,
          );
        });
        s.once('error', reject);
      }),
      `TLS handshake with ${host}:${port}`,
    );
    out.push(pass('hub.tls', `TLS handshake ok: ${cert}`));
  } catch (e) {
    const c = code(e);
    out.push(
      fail(
        'hub.tls',
        `TLS handshake with ${host}:${port} failed: ${c}`,
        c === 'CERT_NOT_YET_VALID'
          ? 'the clock is wrong (see the clock check): sudo timedatectl set-ntp true'
          : hub.caFile
            ? `the server certificate does not chain to the system CAs or ${hub.caFile}: fix "hub.caFile" in the config (or sudo update-ca-certificates)`
            : 'the server certificate does not chain to the system CAs: sudo apt-get install ca-certificates, or set "hub.caFile" in the config for a private CA',
      ),
      ...notRun(['hub.auth']),
    );
    return out;
  }
  try {
    const [{ Client }, { Mqtt }] = await Promise.all([import('azure-iot-device'), import('azure-iot-device-mqtt')]);
    const client = Client.fromConnectionString(cs, Mqtt);
    const options: Record<string, unknown> = {};
    if (hub.caFile) options.ca = await readFile(hub.caFile, 'utf8');
    if (hub.x509) {
      options.cert = await readFile(hub.x509.certFile, 'utf8');
      options.key = await readFile(hub.x509.keyFile, 'utf8');
    }
    await client.setOptions(options);
    try {
      await withTimeout(client.open(), 'MQTT CONNECT');
      out.push(pass('hub.auth', `device ${/DeviceId=([^;]+)/i.exec(cs)?.[1] ?? '?'} authenticated`));
    } finally {
      await client.close().catch(() => undefined); // closing a never-opened client may reject: nothing to close
    }
  } catch (e) {
    out.push(
      fail(
        'hub.auth',
        `IoT Hub refused the device: ${(e as Error).message}`,
        hub.x509
          ? 'the device certificate is not registered for this device id (thumbprint or CA) in IoT Hub; check hub.x509 in the config'
          : 'the SharedAccessKey or DeviceId is wrong or the device is disabled: copy the primary connection string again from the Azure portal into the secrets file',
      ),
    );
  }
  return out;
};
