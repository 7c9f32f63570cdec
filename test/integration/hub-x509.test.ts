import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generate } from 'selfsigned';
import { startAgent, startHubRig, type HubRig, type InProcessAgent } from '../../hw-fixtures/hub/hub-rig.js';

/** X.509 device identity (`x509=true` + hub.x509 cert/key), thumbprint-checked by the emulator. */
describe('hub agent: X.509 device identity', { timeout: 60_000 }, () => {
  let rig: HubRig;
  let agent: InProcessAgent | undefined;
  const id = `gw-x509-${process.pid}`;
  before(async () => {
    rig = await startHubRig();
  });
  after(async () => {
    await agent?.stop();
    await rig?.stop();
  });

  it('connects with a self-signed device certificate and sends its startup message', async () => {
    const cert = await generate([{ name: 'commonName', value: id }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
    });
    const certFile = join(rig.dir, 'device.pem');
    const keyFile = join(rig.dir, 'device.key');
    await writeFile(certFile, cert.cert);
    await writeFile(keyFile, cert.private);
    const cs = rig.hub.addX509Device(id, cert.cert);
    agent = await startAgent(rig, { extra: { hub: { connectionString: cs, x509: { certFile, keyFile } } } });
    await rig.hub.waitFor(() => rig.hub.twin(id).reportedPatches.length > 0, 10_000, 'startup message');
    assert.equal(rig.hub.device(id).modelId, 'dtmi:azure:iot:deviceUpdateModel;3');
    assert.ok((rig.hub.twin(id).reported.deviceUpdate as Record<string, any>).agent.deviceProperties);
  });

  it('a certificate the hub does not know is refused (the agent keeps retrying, nothing is reported)', async () => {
    const other = `${id}-b`;
    const registered = await generate([{ name: 'commonName', value: other }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
    });
    const presented = await generate([{ name: 'commonName', value: other }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
    });
    await writeFile(join(rig.dir, 'b.pem'), presented.cert);
    await writeFile(join(rig.dir, 'b.key'), presented.private);
    const cs = rig.hub.addX509Device(other, registered.cert);
    const { SdkTwinLink } = await import('../../src/hub/twin-link.js');
    const { pino } = await import('pino');
    const link = new SdkTwinLink({
      hub: {
        connectionString: cs,
        x509: { certFile: join(rig.dir, 'b.pem'), keyFile: join(rig.dir, 'b.key') },
        caFile: rig.caFile,
        twinTimeoutMs: 2000,
        reconnectMaxDelayMs: 100,
      },
      log: pino({ level: 'silent' }),
    });
    const ac = new AbortController();
    const started = link.start({ onDesired: () => undefined, onReconnected: () => undefined }, ac.signal);
    await rig.hub.waitFor(() => rig.hub.device(other).refused >= 2, 10_000, 'two refused CONNECTs (the agent retries)');
    assert.equal(rig.hub.device(other).connects, 0);
    ac.abort();
    await started;
    await link.close();
  });
});
