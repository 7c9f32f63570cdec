import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { spawnAgent, startHubRig, type HubRig } from '../../hw-fixtures/hub/hub-rig.js';
import { writeSampleUpdate } from '../../hw-fixtures/hub/sample-update.js';
import { AGENT_RESTART_EXIT_CODE } from '../../src/workflow/system-restart.js';

/**
 * Plays the service manager: starts `sensor-proxy agent` again after it exits when `restartOn`
 * says so (systemd's `Restart=on-failure` restarts on a non-zero exit; a reboot starts it anyway).
 */
class Supervisor {
  readonly exits: Array<{ code: number | null; signal: NodeJS.Signals | null }> = [];
  starts = 0;
  private child: ChildProcess | undefined;
  private stopping = false;

  constructor(
    private readonly config: string,
    private readonly restartOn: (code: number | null) => boolean,
  ) {}

  start(): void {
    this.starts++;
    const child = spawnAgent(this.config);
    this.child = child;
    child.on('exit', (code, signal) => {
      this.exits.push({ code, signal });
      if (!this.stopping && this.restartOn(code)) this.start();
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const c = this.child;
    if (c && c.exitCode === null && c.signalCode === null) {
      c.kill('SIGTERM');
      await once(c, 'exit');
    }
  }
}

const states = (rig: HubRig, id: string) =>
  rig
    .agentReports()
    .filter((a) => a.workflow?.id === id)
    .map((a) => a.state);

describe('hub agent: reboot and agent-restart requests are carried out', { timeout: 120_000 }, () => {
  let rig: HubRig;
  let sup: Supervisor | undefined;
  beforeEach(async () => {
    rig = await startHubRig();
  });
  afterEach(async () => {
    await sup?.stop();
    sup = undefined;
    await rig?.stop();
  });

  it('705 from the host step: the reboot command runs, the agent comes back, resumes and reports success', async () => {
    const update = await writeSampleUpdate(rig.dir, { hostArguments: '--restart-to-apply' });
    const reboots = join(rig.dir, 'reboots.log');
    // The stub "reboots" by recording the call and stopping the agent that ran it, as systemd would.
    const stub = join(rig.dir, 'fake-reboot.sh');
    await writeFile(stub, `#!/bin/sh\necho "reboot $*" >> "${reboots}"\nkill -TERM $PPID\n`, { mode: 0o755 });
    const config = await rig.writeConfig({ rebootCommand: [stub, '--now'] });
    sup = new Supervisor(config, () => true);
    sup.start();
    await rig.hub.waitFor(() => rig.hub.device(rig.deviceId).client !== undefined, 20_000, 'agent connected');
    await rig.deploy({ importManifest: update.parent, workflowId: 'wf-reboot' });
    const end = await rig.waitForReport(
      (a) => a.workflow?.id === 'wf-reboot' && a.state === 0,
      60_000,
      'terminal report after the reboot',
    );
    assert.equal(end.installedUpdateId, JSON.stringify({ provider: 'sp-test', name: 'hub-parent', version: '1.0' }));
    assert.equal(end.lastInstallResult.resultCode, 700);
    assert.deepEqual(states(rig, 'wf-reboot'), [6, 0], 'no Failed, no second 6 across the reboot');
    assert.equal(await readFile(reboots, 'utf8'), 'reboot --now\n', 'the reboot command ran once');
    assert.equal(sup.starts, 2, 'the agent was started again once');
    const log = await readFile(rig.scriptLog, 'utf8');
    const hostInstalls = log
      .split('\n')
      .filter((l) => l.includes('--action-install') && !l.includes('--firmware-file'));
    assert.equal(hostInstalls.length, 1, 'the host step is not installed again after the reboot');
    assert.ok(log.includes('--firmware-file'), 'the camera step, held by the immediate reboot, ran after it');
  });

  it(`707 (agent restart): the agent exits with ${AGENT_RESTART_EXIT_CODE}, is restarted on failure, and reports success`, async () => {
    const update = await writeSampleUpdate(rig.dir, { hostArguments: '--restart-agent-to-apply' });
    const config = await rig.writeConfig();
    sup = new Supervisor(config, (code) => code !== 0); // Restart=on-failure
    sup.start();
    await rig.hub.waitFor(() => rig.hub.device(rig.deviceId).client !== undefined, 20_000, 'agent connected');
    await rig.deploy({ importManifest: update.parent, workflowId: 'wf-restart' });
    const end = await rig.waitForReport(
      (a) => a.workflow?.id === 'wf-restart' && a.state === 0,
      60_000,
      'terminal report after the restart',
    );
    assert.equal(end.installedUpdateId, JSON.stringify({ provider: 'sp-test', name: 'hub-parent', version: '1.0' }));
    assert.deepEqual(states(rig, 'wf-restart'), [6, 0]);
    assert.deepEqual(sup.exits[0], { code: AGENT_RESTART_EXIT_CODE, signal: null });
    assert.equal(sup.starts, 2);
  });

  it('a reboot command that fails ends the deployment: Failed then Idle without installedUpdateId', async () => {
    const update = await writeSampleUpdate(rig.dir, { hostArguments: '--restart-to-apply' });
    const config = await rig.writeConfig({ rebootCommand: ['sh', '-c', 'echo "reboot: not permitted" >&2; exit 1'] });
    sup = new Supervisor(config, () => false);
    sup.start();
    await rig.hub.waitFor(() => rig.hub.device(rig.deviceId).client !== undefined, 20_000, 'agent connected');
    await rig.deploy({ importManifest: update.parent, workflowId: 'wf-noreboot' });
    const end = await rig.waitForReport((a) => a.workflow?.id === 'wf-noreboot' && a.state === 0, 30_000);
    assert.deepEqual(states(rig, 'wf-noreboot'), [6, 255, 0]);
    assert.equal('installedUpdateId' in end, false);
    assert.equal(end.lastInstallResult.resultCode, 0);
    assert.equal(end.lastInstallResult.extendedResultCodes, '32000105');
    assert.match(end.lastInstallResult.resultDetails, /reboot.*not permitted/);
    assert.equal(sup.exits.length, 0, 'the agent keeps running');
  });
});
