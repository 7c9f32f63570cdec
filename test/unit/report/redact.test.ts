import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REDACTED, redactText, redactValue } from '../../../src/report/redact.js';

const KEY = 'c2VjcmV0LWtleS1ub3QtZm9yLXRpY2tldHM='; // what a SharedAccessKey looks like (base64)

describe('report: secrets redacted', () => {
  it('a device connection string keeps HostName and DeviceId, loses the SharedAccessKey', () => {
    const s = redactText(`HostName=gw7.azure-devices.net;DeviceId=gw-7;SharedAccessKey=${KEY}`);
    assert.equal(s, `HostName=gw7.azure-devices.net;DeviceId=gw-7;SharedAccessKey=${REDACTED}`);
  });

  it('SAS tokens, sig= in URLs, password= pairs and PEM private keys inside any text', () => {
    const text = [
      `Authorization: SharedAccessSignature sr=gw7.azure-devices.net%2Fdevices%2Fgw-7&sig=${KEY}&se=1796473414`,
      `https://blob.example/f.bin?sv=2021&sig=${encodeURIComponent(KEY)}&se=1`,
      'mount -o username=svc,password=hunter2 //nas/share',
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----',
      '-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----',
    ].join('\n');
    const out = redactText(text);
    for (const secret of [KEY, encodeURIComponent(KEY), 'hunter2', 'MIIEowIBAAKCAQEA'])
      assert.ok(!out.includes(secret), `${secret} left in:\n${out}`);
    assert.match(out, /-----BEGIN RSA PRIVATE KEY-----\[REDACTED\]-----END RSA PRIVATE KEY-----/);
    assert.match(out, /MIIBcert/, 'a certificate is public: kept');
    assert.match(out, /username=svc/, 'what is not a secret stays');
  });

  it('keys named like secrets lose their values at any depth; other values are kept', () => {
    const config = {
      stateDir: '/var/lib/sensor-proxy',
      hub: {
        connectionString: `HostName=h;DeviceId=d;SharedAccessKey=${KEY}`,
        x509: { certFile: '/etc/sensor-proxy/cert.pem', keyFile: '/etc/sensor-proxy/key.pem' },
        manufacturer: 'contoso',
      },
      handlers: {
        'microsoft/script:1': { env: { SITE: 'plant-7', API_TOKEN: 'tok-123', DB_PASSWORD: 'pw', clientSecret: 's' } },
      },
      enumerators: [{ type: 'serial', rules: [{ match: { path: '/dev/ttyUSB0' }, note: `SharedAccessKey=${KEY}` }] }],
      parallel: { enabled: true, maxPerCanInterface: 4 },
    };
    const r = redactValue(config) as typeof config;
    assert.ok(!JSON.stringify(r).includes(KEY));
    assert.equal(r.hub.connectionString, REDACTED);
    assert.equal(r.hub.x509.keyFile, REDACTED);
    assert.equal(r.hub.x509.certFile, '/etc/sensor-proxy/cert.pem');
    assert.equal(r.hub.manufacturer, 'contoso');
    const env = r.handlers['microsoft/script:1'].env;
    assert.deepEqual(env, { SITE: 'plant-7', API_TOKEN: REDACTED, DB_PASSWORD: REDACTED, clientSecret: REDACTED });
    assert.equal(r.enumerators[0]!.rules[0]!.note, `SharedAccessKey=${REDACTED}`);
    assert.deepEqual(r.parallel, config.parallel);
    assert.equal(r.stateDir, config.stateDir);
    assert.equal(config.hub.connectionString.includes(KEY), true, 'the input is not modified');
  });
});
