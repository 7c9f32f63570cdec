import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeCameraInventory, writeSeedUpdates } from '../../hw-fixtures/updates/seed-updates.js';
import { resultLine, runCli } from '../helpers/cli.js';

/** One sandbox per test: state dir, host state, script log, seed updates. */
async function sandbox() {
  const root = await mkdtemp(join(tmpdir(), 'sp-seeds-'));
  const seeds = await writeSeedUpdates(join(root, 'updates'));
  const inventory = await writeCameraInventory(root);
  const log = join(root, 'script.log');
  const env = {
    SENSOR_PROXY_STATE_DIR: join(root, 'state'),
    SENSOR_PROXY_HOST_STATE: join(root, 'host'),
    SENSOR_PROXY_SCRIPT_LOG: log,
  };
  const scriptLog = async () =>
    (await readFile(log, 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t'));
  return { root, seeds, inventory, env, scriptLog };
}

const actions = (lines: string[][], action: string) => lines.filter((l) => l.includes(`--action-${action}`));

describe('flash: the seed examples through microsoft/script:1 with real shell scripts', () => {
  it('one inline step: installs on the host, reports 700 and the ADU argv', async () => {
    const s = await sandbox();
    const run = await runCli(['flash', s.seeds.oneInline, '--json'], s.env);
    assert.equal(run.code, 0, run.stderr);
    const r = resultLine(run);
    assert.equal(r.succeeded, true);
    assert.equal(r.lastInstallResult.resultCode, 700);
    assert.equal(r.lastInstallResult.stepResults.step_0.resultCode, 700);
    assert.equal(
      r.installedUpdateId,
      JSON.stringify({ provider: 'du-device', name: 'msoe-one-inline', version: '1.0' }),
    );
    const install = actions(await s.scriptLog(), 'install');
    assert.equal(install.length, 1);
    const argv = install[0]!;
    // <script> --action-install --firmware-file F --work-folder WF --result-file WF/action_install_aduc_result.json --installed-criteria IC
    assert.deepEqual(argv.slice(0, 4), [
      'apt-installscript.sh',
      '--action-install',
      '--firmware-file',
      'apt-manifest-1.0.json',
    ]);
    const wf = argv[argv.indexOf('--work-folder') + 1]!;
    assert.equal(argv[argv.indexOf('--result-file') + 1], join(wf, 'action_install_aduc_result.json'));
    assert.equal(argv.at(-2), '--installed-criteria');
    assert.equal(argv.at(-1), 'apt-update-test-1.0');
  });

  it('two inline steps run in order, and a re-run skips both via installedCriteria (603)', async () => {
    const s = await sandbox();
    const first = await runCli(['flash', s.seeds.twoInline, '--json'], s.env);
    assert.equal(first.code, 0, first.stderr);
    const criteria = actions(await s.scriptLog(), 'install').map((a) => a.at(-1));
    assert.deepEqual(criteria, ['apt-update-test-2.2', 'apt-update-test-tree-2.2']);
    const starts = first.events.filter((e) => e.type === 'step.started').map((e) => e.step);
    assert.deepEqual(starts, ['0', '1']);

    const second = await runCli(['flash', s.seeds.twoInline, '--json'], s.env);
    assert.equal(second.code, 0, second.stderr);
    const r = resultLine(second);
    assert.equal(r.lastInstallResult.resultCode, 700);
    assert.equal(r.lastInstallResult.stepResults.step_0.resultCode, 603);
    assert.equal(r.lastInstallResult.stepResults.step_1.resultCode, 603);
    assert.equal(actions(await s.scriptLog(), 'install').length, 2, 'no install ran the second time');
    assert.equal(second.events.filter((e) => e.type === 'step.skipped' && e.reason === 'installed').length, 2);
  });

  it('parent with a reference step: the child fails at its second step (missing script), its third step never runs', async () => {
    const s = await sandbox();
    const run = await runCli(['flash', s.seeds.parentWithReference, '--inventory', s.inventory, '--json'], s.env);
    assert.equal(run.code, 1, run.stderr);
    const r = resultLine(run);
    assert.equal(r.succeeded, false);
    assert.equal(r.lastInstallResult.resultCode, 0);
    assert.equal(r.lastInstallResult.stepResults.step_0.resultCode, 0);
    assert.notEqual(r.lastInstallResult.extendedResultCodes, '00000000');
    assert.match(r.lastInstallResult.extendedResultCodes, /^305/, 'a script handler ERC (facility 3, component 5)');
    assert.match(r.lastInstallResult.resultDetails, /missing-contoso-camera-installscript\.sh/);
    const sel = run.events.find((e) => e.type === 'components.selected') as { componentIds: string[] };
    assert.deepEqual(sel.componentIds, ['contoso-camera-serial-00000', 'contoso-camera-serial-00001']);
    const log = await s.scriptLog();
    // As in the ADU steps handler, every step is downloaded before any installs: the missing script
    // fails the Download phase at step 0.1, so no camera is touched and the post-install step never runs.
    assert.equal(actions(log, 'install').length, 0);
    assert.equal(log.filter((l) => l.includes('--post-install-sim-success')).length, 0);
    assert.equal(actions(log, 'download').length, 1, 'only step 0.0 was downloaded before the failure');
    const failed = (r.components as Array<{ step: string; componentId: string; outcome: string }>).find(
      (c) => c.outcome === 'failed',
    );
    assert.deepEqual([failed?.step, failed?.componentId], ['0.1', 'contoso-camera-serial-00000']);
  });

  it('parent with a reference step and no enumerator: a clear error, never a success (issue 13 item 1)', async () => {
    const s = await sandbox();
    const run = await runCli(['flash', s.seeds.parentWithReference, '--json'], s.env);
    assert.notEqual(run.code, 0, run.stdout);
    assert.doesNotMatch(run.stdout, /"succeeded":true|installedUpdateId/);
    assert.match(run.stdout, /ENUM_NOT_CONFIGURED/);
    assert.match(
      run.stdout,
      /no component enumerator is configured; reference step 0 targets components .*configure one or pass --inventory/,
    );
    assert.equal(actions(await s.scriptLog(), 'install').length, 0, 'nothing was installed');
    // The same with a config that lists no enumerators.
    const config = join(s.root, 'gateway.json');
    await writeFile(config, JSON.stringify({ enumerators: [] }));
    const human = await runCli(['flash', s.seeds.parentWithReference, '--config', config], s.env);
    assert.notEqual(human.code, 0);
    assert.match(human.stderr, /no component enumerator is configured; reference step 0 targets components/);
    assert.match(human.stderr, /referenceStepsOnHost/);
  });

  it('component placeholders reach the script: name, group and the path property', async () => {
    const s = await sandbox();
    await runCli(['flash', s.seeds.parentWithReference, '--inventory', s.inventory, '--json'], s.env);
    const pre = actions(await s.scriptLog(), 'is-installed')[0]!;
    const at = (flag: string) => pre[pre.indexOf(flag) + 1];
    assert.equal(at('--component-name'), 'front-camera');
    assert.equal(at('--component-group'), 'cameras');
    assert.equal(pre[pre.indexOf('--component-prop') + 1], 'path');
    assert.equal(pre[pre.indexOf('--component-prop') + 2], join(s.root, 'devices', 'contoso-camera-serial-00000'));
  });

  it('dry run resolves everything and installs nothing', async () => {
    const s = await sandbox();
    const run = await runCli(['flash', s.seeds.twoInline, '--dry-run', '--json'], s.env);
    assert.equal(run.code, 0, run.stderr);
    const plan = run.events.find((e) => e.type === 'plan') as { entries: Array<{ step: string; action: string }> };
    assert.deepEqual(
      plan.entries.map((e) => [e.step, e.action]),
      [
        ['0', 'install'],
        ['1', 'install'],
      ],
    );
    assert.equal(actions(await s.scriptLog(), 'install').length, 0);
    assert.equal(resultLine(run).dryRun, true);
  });

  it('human output: a result table on stdout and a plain progress log on stderr outside a TTY', async () => {
    const s = await sandbox();
    const run = await runCli(['flash', s.seeds.twoInline], s.env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /step_0\s+700/);
    assert.match(run.stdout, /SUCCEEDED/);
    assert.match(run.stderr, /step 1 \[host\] microsoft\/script:1: started/);
  });
});
