import { generate } from 'selfsigned';

/**
 * Test PKI for the IoT Hub emulator: an EC P-256 CA and a server certificate it signs, with SANs
 * for `localhost`, 127.0.0.1 and ::1 (the SDK checks the SAN against `HostName`, and sends no SNI
 * for an IP; `reference/iothub-emulator.md`, "Pointing the SDK at the emulator"). The agent trusts
 * `caCert` through `hub.caFile` or `NODE_EXTRA_CA_CERTS`.
 */
export interface TestPki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
}

const DAY = 24 * 3600 * 1000;

export async function createTestPki(hosts: string[] = ['localhost']): Promise<TestPki> {
  const notBeforeDate = new Date(Date.now() - DAY);
  const notAfterDate = new Date(Date.now() + 365 * DAY);
  const ca = await generate([{ name: 'commonName', value: 'sensor-proxy test IoT Hub CA' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const server = await generate([{ name: 'commonName', value: hosts[0] ?? 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...hosts.map((h) => ({ type: 2 as const, value: h })),
          { type: 7 as const, ip: '127.0.0.1' },
          { type: 7 as const, ip: '::1' },
        ],
      },
    ],
  });
  return { caCert: ca.cert, caKey: ca.private, serverCert: server.cert, serverKey: server.private };
}
