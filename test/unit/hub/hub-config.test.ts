import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGatewayConfig } from '../../../src/config/gateway-config.js';
import { hubConfigProblems, redactConnectionString, resolveHubConfig } from '../../../src/hub/hub-config.js';
import { isSensorProxyError } from '../../../src/model/errors.js';

describe('gateway config: hub section', () => {
  it('fills defaults: production root keys, sensor-proxy/gateway, downloads, twin deadline', () => {
    const c = resolveHubConfig(
      { connectionString: 'HostName=h;DeviceId=d;SharedAccessKey=k', caFile: 'ca.pem' },
      '/etc/sp',
    );
    assert.equal(c.manufacturer, 'sensor-proxy');
    assert.equal(c.model, 'gateway');
    assert.equal(c.compatPropertyNames, 'manufacturer,model');
    assert.deepEqual(
      c.rootKeys.map((k) => k.kid),
      ['ADU.200702.R', 'ADU.200703.R'],
    );
    assert.deepEqual(c.download, { attempts: 5, retryDelayMs: 500, idleTimeoutMs: 60000 });
    assert.equal(c.twinTimeoutMs, 30000);
    assert.equal(c.reconnectMaxDelayMs, 10000);
    assert.equal(c.caFile, '/etc/sp/ca.pem');
  });

  it('lists every problem with its path', () => {
    assert.deepEqual(
      hubConfigProblems({ model: 3, rootKeys: [{ kid: 'x' }], download: { attempts: 0, speed: 1 }, typo: true }).sort(),
      [
        '$.hub.download.attempts: must be a number >= 1',
        '$.hub.download.speed: unknown key',
        '$.hub.model: must be a non-empty string',
        '$.hub.rootKeys[0]: must be {"kid", "n", "e"} strings (n/e base64url)',
        '$.hub.typo: unknown key (known: connectionString, connectionStringFile, x509, caFile, manufacturer, model, additionalDeviceProperties, compatPropertyNames, rootKeys, download, twinTimeoutMs, reconnectMaxDelayMs)',
        '$.hub: needs connectionString or connectionStringFile',
      ],
    );
  });

  it('parseGatewayConfig rejects a bad hub section with CONFIG_INVALID', () => {
    assert.throws(
      () => parseGatewayConfig({ hub: { connectionString: '' } }, '/x/gw.json'),
      (e) => isSensorProxyError(e, 'CONFIG_INVALID') && /\$\.hub\.connectionString/.test(e.message),
    );
    assert.ok(
      parseGatewayConfig({ hub: { connectionString: 'HostName=h;DeviceId=d;SharedAccessKey=k' } }, '/x/gw.json').hub,
    );
  });

  it('never logs the key', () => {
    assert.equal(
      redactConnectionString('HostName=h;DeviceId=d;SharedAccessKey=c2VjcmV0'),
      'HostName=h;DeviceId=d;SharedAccessKey=HIDDEN',
    );
  });
});
