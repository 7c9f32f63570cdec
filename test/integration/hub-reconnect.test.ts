import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { startAgent, startHubRig, type HubRig, type InProcessAgent } from '../../hw-fixtures/hub/hub-rig.js';
import { writeSampleUpdate, type SampleUpdate } from '../../hw-fixtures/hub/sample-update.js';

async function waitForFile(path: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await readFile(path, 'utf8').catch(() => ''))) {
    if (Date.now() > deadline) throw new Error(`${path} not written within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * The hub (broker) restarts while a deployment runs: the agent must come back with exactly one
 * connection (no two clients of one device knocking each other off) and deliver the deployment's
 * reports as soon as the hub is reachable again, not after a dead request's timeout.
 */
describe('hub agent: the hub restarts mid-deployment', { timeout: 90_000 }, () => {
  let rig: HubRig;
  let update: SampleUpdate;
  let agent: InProcessAgent | undefined;
  beforeEach(async () => {
    rig = await startHubRig();
    update = await writeSampleUpdate(rig.dir, { sleepy: true });
  });
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    await rig?.stop();
  });

  it('one connection after the restart, no takeovers, and the final report arrives promptly', async () => {
    const marker = join(rig.dir, 'sleepy.pid');
    const gate = join(rig.dir, 'sleepy.gate');
    agent = await startAgent(rig, {
      // Production-like timings: the SDK's 10 s reconnect cap and a 30 s twin request deadline.
      extra: {
        scriptEnv: { SLEEPY_MARKER: marker, SLEEPY_GATE: gate },
        hub: { twinTimeoutMs: 30_000, reconnectMaxDelayMs: 10_000 },
      },
    });
    await rig.deploy({ importManifest: update.parent, workflowId: 'wf-restart' });
    await waitForFile(marker); // the first camera's install is running
    const device = rig.hub.device(rig.deviceId);
    const connectsBefore = device.connects;

    const restarting = rig.hub.restart(1500);
    // The install ends while the hub is away: its reports must wait for the hub to come back.
    await new Promise((r) => setTimeout(r, 300));
    await writeFile(gate, '');
    const backAt = await restarting;

    const end = await rig.waitForReport(
      (a) => a.workflow?.id === 'wf-restart' && a.state === 0,
      40_000,
      'the final report after the hub restart',
    );
    const reportDelayMs = Date.now() - backAt;
    assert.ok(end.installedUpdateId, 'the deployment succeeded');
    // A quiet period after the report: a second client of the same device would show up here.
    await new Promise((r) => setTimeout(r, 3000));
    const connectsAfter = device.connects - connectsBefore;
    console.log(
      `# hub restart: ${connectsAfter} connect(s) after the restart, ${device.takeovers} takeover(s), ` +
        `final report ${reportDelayMs} ms after the hub listened again`,
    );
    assert.equal(device.takeovers, 0, 'never two live connections of one device');
    assert.equal(connectsAfter, 1, 'exactly one reconnect');
    // Bound generous enough for a loaded machine, far below a dead request's 30 s deadline.
    assert.ok(reportDelayMs < 10_000, `final report ${reportDelayMs} ms after the hub came back`);
  });
});
