/**
 * doctor's hub checks against the local IoT Hub emulator (aedes over TLS, hw-fixtures/hub): the real
 * DNS lookup, TCP connect, TLS handshake with the configured CA and SAS authentication with the real
 * azure-iot-device client; then each way it goes wrong: an untrusted CA, a wrong key, a closed port.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startHubRig, type HubRig } from '../../hw-fixtures/hub/hub-rig.js';
import { runCli } from '../helpers/cli.js';

type Check = { id: string; status: string; detail: string; remedy?: string };

describe('doctor: IoT Hub checks against the TLS emulator', { timeout: 120_000 }, () => {
  let rig: HubRig;
  before(async () => {
    rig = await startHubRig();
  });
  after(async () => {
    await rig?.stop();
  });

  const doctor = async (hub: Record<string, unknown>, name: string) => {
    const path = join(rig.dir, `${name}.json`);
    await writeFile(path, JSON.stringify({ stateDir: rig.stateDir, hub }));
    const r = await runCli(['doctor', '--config', path, '--json']);
    const checks = r.events as Check[];
    const hubChecks = Object.fromEntries(checks.filter((c) => c.id.startsWith('hub.')).map((c) => [c.id, c]));
    return { ...r, hub: hubChecks };
  };
  const statuses = (h: Record<string, Check>) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, v.status]));

  it('passes DNS, TCP, TLS and authentication with the right CA and key', async () => {
    const r = await doctor({ connectionString: rig.hub.connectionString(rig.deviceId), caFile: rig.caFile }, 'good');
    assert.deepEqual(
      statuses(r.hub),
      { 'hub.dns': 'pass', 'hub.tcp': 'pass', 'hub.tls': 'pass', 'hub.auth': 'pass' },
      r.stdout,
    );
    assert.match(r.hub['hub.auth']!.detail, new RegExp(`device ${rig.deviceId} authenticated`));
  });

  it('fails TLS without the CA (system trust only), naming hub.caFile, and does not try to authenticate', async () => {
    const r = await doctor({ connectionString: rig.hub.connectionString(rig.deviceId) }, 'no-ca');
    assert.equal(r.code, 1);
    assert.equal(r.hub['hub.tls']!.status, 'fail');
    assert.match(r.hub['hub.tls']!.detail, /SELF_SIGNED|UNABLE_TO|CERT/);
    assert.match(r.hub['hub.tls']!.remedy!, /hub\.caFile/);
    assert.equal(r.hub['hub.auth']!.status, 'skip');
  });

  it('fails authentication with a wrong SharedAccessKey, naming the key', async () => {
    const cs = rig.hub
      .connectionString(rig.deviceId)
      .replace(/SharedAccessKey=[^;]+/, `SharedAccessKey=${Buffer.from('wrong key').toString('base64')}`);
    const r = await doctor({ connectionString: cs, caFile: rig.caFile }, 'bad-key');
    assert.equal(r.hub['hub.tls']!.status, 'pass');
    assert.equal(r.hub['hub.auth']!.status, 'fail', JSON.stringify(r.hub));
    assert.match(r.hub['hub.auth']!.remedy!, /SharedAccessKey/);
  });

  it('fails TCP on a closed port', async () => {
    const srv = createServer();
    await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((res) => srv.close(() => res()));
    const cs = rig.hub.connectionString(rig.deviceId).replace(/HostName=[^;]+/, `HostName=localhost:${port}`);
    const r = await doctor({ connectionString: cs, caFile: rig.caFile }, 'closed');
    assert.equal(r.hub['hub.dns']!.status, 'pass');
    assert.equal(r.hub['hub.tcp']!.status, 'fail');
    assert.match(r.hub['hub.tcp']!.detail, /ECONNREFUSED/);
  });
});
