import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spawn } from 'node:child_process';
import { repoPath } from '../../hw-fixtures/repo-root.js';
import { collect, runCli } from '../helpers/cli.js';

/** `make demo` must keep working on a fresh machine: run it and check what it prints. */
describe('make demo (dist/hw-fixtures/demo/main.js)', () => {
  it('deploys through the local IoT Hub to a sensor on every bus, then skips them all as installed, and exits 0', async () => {
    const run = await collect(
      spawn(process.execPath, [repoPath('dist', 'hw-fixtures', 'demo', 'main.js')], {
        env: { ...process.env, CI: 'true' },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /demo finished: both deployments succeeded/);
    // The listing shows components from every enumerator.
    for (const group of ['cameras', 'env-sensors', 'displays', 'ecus', 'usb-sensors'])
      assert.match(run.stdout, new RegExp(`\\s${group}\\s`));
    // Every bus handler really ran in the first deployment (progress is on stderr).
    for (const handler of [
      'microsoft/script:1',
      'sensor-proxy/smp:1',
      'sensor-proxy/ymodem:1',
      'sensor-proxy/uds:1',
      'sensor-proxy/dfu:1',
    ]) {
      assert.match(run.stderr, new RegExp(`${handler.replace('/', '\\/')}: started`), handler);
    }
    const reports = run.stdout.split('reported deviceUpdate.agent').slice(1);
    assert.equal(reports.length, 2);
    assert.match(reports[0]!, /installedUpdateId \{"provider":"contoso","name":"demo-gateway","version":"1.1"\}/);
    for (let i = 0; i <= 5; i++) {
      assert.match(reports[0]!, new RegExp(`step_${i}: 700 ApplySuccess`));
      assert.match(reports[1]!, new RegExp(`step_${i}: 603 InstallSkippedUpdateAlreadyInstalled`));
    }
  });

  it('is not a command of the product CLI', async () => {
    const run = await runCli(['demo']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unknown command "demo"/);
  });
});
