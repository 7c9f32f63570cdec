import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAgent, startHubRig, type HubRig, type InProcessAgent } from '../../hw-fixtures/hub/hub-rig.js';
import { writeSampleUpdate, type SampleUpdate } from '../../hw-fixtures/hub/sample-update.js';

type Obj = Record<string, any>;

/**
 * The real azure-iot-device SDK against the emulator: deploy, succeed, report exactly the ADU
 * shapes (reference/adu-agent.md §6.3-6.4, §4.4); deploy the same update again: all skipped.
 */
describe('hub agent: deploy and redeploy', { timeout: 60_000 }, () => {
  let rig: HubRig;
  let agent: InProcessAgent;
  let update: SampleUpdate;
  before(async () => {
    rig = await startHubRig();
    update = await writeSampleUpdate(join(rig.dir));
    agent = await startAgent(rig);
  });
  after(async () => {
    await agent?.stop();
    await rig?.stop();
  });

  it('announces the ADU model and sends the startup message', async () => {
    assert.equal(rig.hub.device(rig.deviceId).modelId, 'dtmi:azure:iot:deviceUpdateModel;3');
    await rig.hub.waitFor(() => rig.hub.twin(rig.deviceId).reportedPatches.length > 0, 10_000, 'startup message');
    const first = rig.hub.twin(rig.deviceId).reportedPatches[0]!.patch as Obj;
    assert.deepEqual(first, {
      deviceUpdate: {
        __t: 'c',
        agent: {
          deviceProperties: {
            manufacturer: 'sp-test',
            model: 'gateway',
            interfaceId: null,
            contractModelId: 'dtmi:azure:iot:deviceUpdateContractModel;3',
            aduVer: 'DU;sensor-proxy/0.1.0',
          },
          compatPropertyNames: 'manufacturer,model',
        },
      },
    });
  });

  it('acknowledges the deployment, reports 6 then Idle with installedUpdateId and step results', async () => {
    const built = await rig.deploy({ importManifest: update.parent, workflowId: 'wf-first' });
    const done = await rig.waitForReport(
      (a) => a.state === 0 && a.workflow?.id === 'wf-first',
      20_000,
      'Idle for wf-first',
    );
    const reports = rig.agentReports().filter((a) => a.workflow?.id === 'wf-first');
    assert.deepEqual(
      reports.map((a) => a.state),
      [6, 0],
    );
    assert.deepEqual(reports[0], {
      state: 6,
      workflow: { action: 3, id: 'wf-first' },
      lastInstallResult: { resultCode: 1, extendedResultCodes: '00000000', resultDetails: '', stepResults: null },
    });
    assert.deepEqual(done, {
      state: 0,
      workflow: { action: 3, id: 'wf-first' },
      installedUpdateId: JSON.stringify({ provider: 'sp-test', name: 'hub-parent', version: '1.0' }),
      lastInstallResult: {
        resultCode: 700,
        extendedResultCodes: '00000000',
        resultDetails: '',
        stepResults: {
          step_0: { resultCode: 700, extendedResultCodes: '00000000', resultDetails: '' },
          step_1: { resultCode: 700, extendedResultCodes: '00000000', resultDetails: '' },
        },
      },
    });
    // The PnP ACK: the desired value with the large fields nulled, ac 200, av = desired $version.
    const ack = rig.acks().find((s) => s.value?.workflow?.id === 'wf-first')!;
    assert.equal(ack.ac, 200);
    assert.equal(ack.ad, '');
    assert.equal(ack.av, rig.hub.twin(rig.deviceId).desiredVersion);
    assert.equal(ack.value.updateManifestSignature, null);
    assert.equal(ack.value.fileUrls, null);
    assert.equal(ack.value.updateManifest, built.updateManifest);
    // Both cameras were flashed: their firmware file now holds the new version.
    const installs = (await import('node:fs/promises')).readFile(rig.scriptLog, 'utf8');
    const lines = (await installs)
      .split('\n')
      .filter((l) => l.includes('--action-install') && l.includes('--firmware-file'));
    assert.deepEqual(lines.map((l) => /--component-name\t([^\t]+)/.exec(l)?.[1]).sort(), [
      'front-camera',
      'rear-camera',
    ]);
  });

  it('a second deployment of the same update skips every step (installedCriteria)', async () => {
    await rig.deploy({ importManifest: update.parent, workflowId: 'wf-again' });
    const done = await rig.waitForReport(
      (a) => a.state === 0 && a.workflow?.id === 'wf-again',
      20_000,
      'Idle for wf-again',
    );
    assert.equal(done.installedUpdateId, JSON.stringify({ provider: 'sp-test', name: 'hub-parent', version: '1.0' }));
    assert.deepEqual(done.lastInstallResult.stepResults, {
      step_0: { resultCode: 603, extendedResultCodes: '00000000', resultDetails: '' },
      step_1: { resultCode: 603, extendedResultCodes: '00000000', resultDetails: '' },
    });
    const installsAfter = agent.events.filter((e) => e.type === 'step.started');
    assert.equal(installsAfter.length, 3, 'only the first deployment started steps (host + 2 cameras)');
  });

  it('a re-delivered twin for a finished workflow reports nothing new (no flip back to 6)', async () => {
    await agent.agent.idle(); // every report acknowledged by the hub before the drop
    const before = rig.agentReports().length;
    rig.hub.dropConnections('reset');
    // The agent rebuilds its client and re-GETs the twin, which still holds wf-again.
    await rig.hub.waitFor(() => rig.hub.device(rig.deviceId).twinGets >= 2, 10_000, 'twin GET after reconnect');
    // A later deployment is processed after the re-delivered one, so its end bounds the check.
    await rig.deploy({ importManifest: update.parent, workflowId: 'wf-third' });
    await rig.waitForReport((a) => a.state === 0 && a.workflow?.id === 'wf-third', 20_000, 'Idle for wf-third');
    const newer = rig.agentReports().slice(before);
    assert.deepEqual(
      newer.map((a) => `${a.workflow.id}:${a.state}`),
      ['wf-third:6', 'wf-third:0'],
    );
  });

  it('after a graceful close by the hub the agent reconnects, re-reads the twin and takes new deployments', async () => {
    const connects = rig.hub.device(rig.deviceId).connects;
    const gets = rig.hub.device(rig.deviceId).twinGets;
    rig.hub.dropConnections('close');
    await rig.hub.waitFor(() => rig.hub.device(rig.deviceId).twinGets > gets, 20_000, 'twin GET after the close');
    assert.ok(rig.hub.device(rig.deviceId).connects > connects);
    await rig.deploy({ importManifest: update.parent, workflowId: 'wf-after-close' });
    const done = await rig.waitForReport(
      (a) => a.state === 0 && a.workflow?.id === 'wf-after-close',
      20_000,
      'Idle for wf-after-close',
    );
    assert.ok(done.installedUpdateId);
  });
});
