import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { cancelDeployment } from '../../hw-fixtures/hub/deploy.js';
import {
  spawnAgent,
  startAgent,
  startHubRig,
  type HubRig,
  type InProcessAgent,
} from '../../hw-fixtures/hub/hub-rig.js';
import { writeSampleUpdate, type SampleUpdate } from '../../hw-fixtures/hub/sample-update.js';

/** Polls for the pid the sleepy install script writes when its (endless) install starts. */
async function sleepyPid(marker: string, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(marker, 'utf8').catch(() => '');
    if (/^\d+\s*$/.test(text)) return Number(text);
    if (Date.now() > deadline) throw new Error(`no sleepy install started within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('hub agent: cancel and restart mid-deployment', { timeout: 90_000 }, () => {
  let rig: HubRig;
  let update: SampleUpdate;
  let agent: InProcessAgent | undefined;
  let marker: string;
  beforeEach(async () => {
    rig = await startHubRig();
    update = await writeSampleUpdate(rig.dir, { sleepy: true });
    marker = join(rig.dir, 'sleepy.pid');
  });
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    const pid = Number(await readFile(marker, 'utf8').catch(() => 'NaN'));
    if (Number.isInteger(pid) && alive(pid)) process.kill(pid, 'SIGKILL');
    await rig?.stop();
  });

  it('cancel during a component transfer stops it and reports Idle with resultCode -1', async () => {
    agent = await startAgent(rig, { extra: { scriptEnv: { SLEEPY_MARKER: marker } } });
    await rig.deploy({ importManifest: update.parent, workflowId: 'wf-cancel' });
    const pid = await sleepyPid(marker);
    assert.ok(alive(pid));
    cancelDeployment(rig.hub, rig.deviceId);
    const end = await rig.waitForReport((a) => a.workflow?.id === 'wf-cancel' && a.state === 0);
    assert.equal(end.lastInstallResult.resultCode, -1);
    assert.equal('installedUpdateId' in end, false);
    assert.deepEqual(
      rig
        .agentReports()
        .filter((a) => a.workflow?.id === 'wf-cancel')
        .map((a) => a.state),
      [6, 0],
    );
    assert.equal(alive(pid), false, 'the install process was stopped');
    // The cancel itself is acknowledged like any desired value.
    assert.ok(rig.acks().some((s) => s.value?.workflow?.action === 255 && s.ac === 200));
  });

  it('a cancel set while the connection is down is seen after the reconnect (twin re-GET) and reported', async () => {
    agent = await startAgent(rig, { extra: { scriptEnv: { SLEEPY_MARKER: marker } } });
    await rig.deploy({ importManifest: update.parent, workflowId: 'wf-drop' });
    const pid = await sleepyPid(marker);
    const gets = rig.hub.device(rig.deviceId).twinGets;
    rig.hub.dropConnections('reset');
    cancelDeployment(rig.hub, rig.deviceId); // pushed to nobody: the device is not connected
    const end = await rig.waitForReport(
      (a) => a.workflow?.id === 'wf-drop' && a.state === 0,
      30_000,
      'cancelled after reconnect',
    );
    assert.equal(end.lastInstallResult.resultCode, -1);
    assert.ok(rig.hub.device(rig.deviceId).twinGets > gets, 'the agent fetched the twin again');
    assert.equal(alive(pid), false);
  });

  it('agent killed mid-transfer and restarted: the deployment resumes and ends with a terminal report', async () => {
    const config = await rig.writeConfig();
    const first = spawnAgent(config, { SLEEPY_MARKER: marker });
    try {
      await rig.hub.waitFor(() => rig.hub.device(rig.deviceId).client !== undefined, 20_000, 'agent connected');
      await rig.deploy({ importManifest: update.parent, workflowId: 'wf-kill' });
      const pid = await sleepyPid(marker);
      first.kill('SIGKILL');
      await once(first, 'exit');
      process.kill(pid, 'SIGKILL');
    } finally {
      if (first.exitCode === null && first.signalCode === null) first.kill('SIGKILL');
    }
    assert.deepEqual(
      rig
        .agentReports()
        .filter((a) => a.workflow?.id === 'wf-kill')
        .map((a) => a.state),
      [6],
    );

    // Second life, without the sleepy switch: the interrupted install is redone and completes.
    const second = spawnAgent(config);
    try {
      const end = await rig.waitForReport(
        (a) => a.workflow?.id === 'wf-kill' && a.state === 0,
        30_000,
        'terminal report after restart',
      );
      assert.equal(end.installedUpdateId, JSON.stringify({ provider: 'sp-test', name: 'hub-parent', version: '1.0' }));
      assert.deepEqual(
        rig
          .agentReports()
          .filter((a) => a.workflow?.id === 'wf-kill')
          .map((a) => a.state),
        [6, 0],
        'no second 6 after the restart',
      );
      const log = await readFile(rig.scriptLog, 'utf8');
      const hostInstalls = log
        .split('\n')
        .filter((l) => l.includes('--action-install') && !l.includes('--firmware-file'));
      assert.equal(hostInstalls.length, 1, 'the host step finished before the kill is not installed again');
    } finally {
      second.kill('SIGTERM');
      await once(second, 'exit');
    }
  });
  it('agent stopped with SIGTERM (systemctl stop) mid-transfer: exits 0, reports nothing, the next start resumes', async () => {
    const config = await rig.writeConfig();
    const first = spawnAgent(config, { SLEEPY_MARKER: marker });
    let exit: [number | null, string | null];
    try {
      await rig.hub.waitFor(() => rig.hub.device(rig.deviceId).client !== undefined, 20_000, 'agent connected');
      await rig.deploy({ importManifest: update.parent, workflowId: 'wf-term' });
      const pid = await sleepyPid(marker);
      first.kill('SIGTERM');
      exit = (await once(first, 'exit')) as [number | null, string | null];
      assert.equal(alive(pid), false, 'the running install script was stopped with the agent');
    } finally {
      if (first.exitCode === null && first.signalCode === null) first.kill('SIGKILL');
    }
    assert.deepEqual(exit, [0, null], 'a clean stop, not a crash (systemd does not count it as a failure)');
    assert.deepEqual(
      rig
        .agentReports()
        .filter((a) => a.workflow?.id === 'wf-term')
        .map((a) => a.state),
      [6],
      'suspended: no failure or cancel report before the stop',
    );
    const second = spawnAgent(config);
    try {
      const end = await rig.waitForReport(
        (a) => a.workflow?.id === 'wf-term' && a.state === 0,
        30_000,
        'terminal report after restart',
      );
      assert.equal(end.installedUpdateId, JSON.stringify({ provider: 'sp-test', name: 'hub-parent', version: '1.0' }));
      assert.deepEqual(
        rig
          .agentReports()
          .filter((a) => a.workflow?.id === 'wf-term')
          .map((a) => a.state),
        [6, 0],
      );
    } finally {
      second.kill('SIGTERM');
      await once(second, 'exit');
    }
  });
});
