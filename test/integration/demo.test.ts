import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spawn } from 'node:child_process';
import { repoPath } from '../../hw-fixtures/repo-root.js';
import { collect, runCli } from '../helpers/cli.js';
import { pinoLines } from '../helpers/log-lines.js';

/** `make demo` must keep working on a fresh machine: run it and check what it prints. */
describe('make demo (dist/hw-fixtures/demo/main.js)', () => {
  it('deploys through the local IoT Hub to a sensor on every bus, then skips them all as installed, and exits 0', async () => {
    // Debug logs on: the happy path of every protocol must log no WARN and no line with a repeated key.
    const run = await collect(
      spawn(process.execPath, [repoPath('dist', 'hw-fixtures', 'demo', 'main.js')], {
        env: { ...process.env, CI: 'true', SENSOR_PROXY_LOG_LEVEL: 'debug' },
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
    // The end of a flash shows its phases (plain progress lines), e.g. SMP test/reset/confirm, DFU detach/reset.
    // Steps 1.0-4.0 of the demo update are SMP, YMODEM, UDS and DFU (the order of hw-fixtures/demo/demo-rig.ts).
    for (const [step, phases] of [
      ['1.0', 'connect transfer test reset verify confirm'],
      ['2.0', 'connect bootloader transfer reset verify'],
      ['3.0', 'connect session security erase transfer check reset verify'],
      ['4.0', 'connect detach reenumerate transfer reset reenumerate confirm'],
    ] as const) {
      const seen = [
        ...run.stderr.matchAll(new RegExp(`^step ${step.replace('.', '\\.')} \\[[^\\]]+\\]: ([a-z]+)$`, 'gm')),
      ];
      assert.equal(seen.map((m) => m[1]).join(' '), phases, `phases of step ${step}`);
    }
    const logs = pinoLines(run.stderr);
    for (const handler of ['microsoft/script:1', 'sensor-proxy/smp:1', 'sensor-proxy/ymodem:1', 'sensor-proxy/uds:1'])
      assert.ok(
        logs.some((l) => l.obj.handler === handler && l.obj.level === 20),
        `debug lines of ${handler} were captured`,
      );
    assert.deepEqual(
      logs.filter((l) => (l.obj.level as number) >= 40).map((l) => l.text),
      [],
      'no WARN or ERROR on the happy path',
    );
    assert.deepEqual(
      logs.filter((l) => l.duplicateKeys.length > 0).map((l) => `${l.duplicateKeys.join(',')}: ${l.text}`),
      [],
      'no repeated JSON key',
    );
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
