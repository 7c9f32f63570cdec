import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAgent, startHubRig, type HubRig, type InProcessAgent } from '../../hw-fixtures/hub/hub-rig.js';
import { writeSampleUpdate, type SampleUpdate } from '../../hw-fixtures/hub/sample-update.js';

/**
 * Issue 13 item 4, twin side, with the real SDK against the emulator: a desired PATCH of several
 * MB (a hostile or broken hub; IoT Hub itself caps desired properties at 32 KB) is dropped by the
 * MQTT twin guard before the SDK parses it. The deployment it names ends in a terminal
 * MANIFEST_TOO_LARGE report that gives the dropped size (only the guard knows it: the SDK-side
 * `boundedDesired` reports "more than 1 MiB"), and the agent stays connected and deploys the next one.
 */
describe('hub agent: oversize desired PATCH', { timeout: 90_000 }, () => {
  let rig: HubRig;
  let agent: InProcessAgent;
  let update: SampleUpdate;
  const MANIFEST_BYTES = 6 * 1024 * 1024;
  before(async () => {
    rig = await startHubRig();
    update = await writeSampleUpdate(join(rig.dir));
    agent = await startAgent(rig);
    await rig.hub.waitFor(() => rig.hub.twin(rig.deviceId).reportedPatches.length > 0, 10_000, 'startup message');
  });
  after(async () => {
    await agent?.stop();
    await rig?.stop();
  });

  it('ends in Failed then Idle with MANIFEST_TOO_LARGE naming the size, ACKed with the manifest nulled', async () => {
    let bytes = 0;
    const version = await rig.hub.pushRawDesired(rig.deviceId, (v) => {
      const body = Buffer.from(
        JSON.stringify({
          deviceUpdate: {
            __t: 'c',
            service: {
              workflow: { action: 3, id: 'wf-huge', retryTimestamp: 't1' },
              updateManifest: 'x'.repeat(MANIFEST_BYTES),
              updateManifestSignature: 'sig',
              fileUrls: {},
            },
          },
          $version: v,
        }),
      );
      bytes = body.length;
      return body;
    });
    const idle = await rig.waitForReport((a) => a.workflow?.id === 'wf-huge' && a.state === 0, 20_000, 'Idle wf-huge');
    const reports = rig.agentReports().filter((a) => a.workflow?.id === 'wf-huge');
    assert.deepEqual(
      reports.map((a) => a.state),
      [6, 255, 0],
    );
    assert.deepEqual(idle.workflow, { action: 3, id: 'wf-huge', retryTimestamp: 't1' });
    assert.equal(idle.lastInstallResult.resultCode, 0);
    assert.equal(idle.installedUpdateId, undefined);
    // `bytes` in the message comes from the guard's count of what it dropped.
    assert.match(
      idle.lastInstallResult.resultDetails,
      new RegExp(`MANIFEST_TOO_LARGE.*desired property is 6 MiB; the limit is 1 MiB`),
    );
    assert.ok(bytes > MANIFEST_BYTES);
    const ack = rig.acks().find((s) => s.value?.workflow?.id === 'wf-huge')!;
    assert.equal(ack.av, version);
    assert.equal(ack.ac, 200);
    assert.equal(ack.value.updateManifest, null);
    assert.equal(JSON.stringify(ack).length < 1000, true, 'the ACK is small');
  });

  it('stays on its one connection and deploys the next update', async () => {
    const device = rig.hub.device(rig.deviceId);
    const connects = device.connects;
    await rig.deploy({ importManifest: update.parent, workflowId: 'wf-after' });
    const done = await rig.waitForReport(
      (a) => a.workflow?.id === 'wf-after' && a.state === 0,
      30_000,
      'Idle wf-after',
    );
    assert.equal(done.lastInstallResult.resultCode, 700);
    assert.ok(done.installedUpdateId);
    assert.equal(device.connects, connects, 'no reconnect');
    assert.equal(device.connects, 1);
    assert.equal(device.takeovers, 0);
  });
});

/**
 * The same on the twin GET answer: a hub that stored an oversize desired document hands it out
 * whole on every (re)connect. The agent's first GET is cut down by the guard (the report names the
 * size of the whole answer, which only the guard knows), the SDK's `getTwin` completes, and a
 * reconnect does not report the finished deployment again.
 */
describe('hub agent: oversize twin GET answer', { timeout: 90_000 }, () => {
  let rig: HubRig;
  let agent: InProcessAgent | undefined;
  before(async () => {
    rig = await startHubRig();
  });
  after(async () => {
    await agent?.stop();
    await rig?.stop();
  });

  it('ends the stored deployment in MANIFEST_TOO_LARGE from the GET answer, once across reconnects', async () => {
    rig.hub.setDesired(rig.deviceId, {
      deviceUpdate: {
        __t: 'c',
        service: {
          workflow: { action: 3, id: 'wf-get' },
          updateManifest: 'y'.repeat(3 * 1024 * 1024),
          updateManifestSignature: 'sig',
          fileUrls: {},
        },
      },
    });
    const answerBytes = Buffer.byteLength(JSON.stringify(rig.hub.twin(rig.deviceId).document()));
    agent = await startAgent(rig);
    const idle = await rig.waitForReport((a) => a.workflow?.id === 'wf-get' && a.state === 0, 20_000, 'Idle wf-get');
    assert.match(idle.lastInstallResult.resultDetails, /MANIFEST_TOO_LARGE.*desired property is 3 MiB/);
    assert.ok(answerBytes > 3 * 1024 * 1024);
    const device = rig.hub.device(rig.deviceId);
    assert.equal(device.twinGets, 1);
    const runsBefore = rig.agentReports().filter((a) => a.workflow?.id === 'wf-get' && a.state === 6).length;
    rig.hub.dropConnections('reset');
    await rig.hub.waitFor(() => device.twinGets >= 2, 20_000, 'second GET after the reset');
    await new Promise((r) => setTimeout(r, 1000));
    const states = rig
      .agentReports()
      .filter((a) => a.workflow?.id === 'wf-get')
      .map((a) => a.state);
    assert.equal(runsBefore, 1);
    // A report whose answer the reset cut off may be sent again (at least once); the deployment is not run again.
    assert.deepEqual(
      states.filter((st) => st === 6),
      [6],
      `wf-get is not started again after the reconnect (states ${states.join(',')})`,
    );
    assert.equal(states.at(-1), 0);
  });
});
