import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoPath } from '../../hw-fixtures/repo-root.js';
import { copyScript, writeImportManifest } from '../../hw-fixtures/updates/import-manifest-builder.js';
import { SCRIPT } from '../../hw-fixtures/updates/seed-updates.js';
import { collect, resultLine, runCli, startCli } from '../helpers/cli.js';

/** Three host steps; the second one "flashes" for minutes when SLEEPY_MARKER is set (sleepy-installscript.sh). */
async function threeStepUpdate(root: string): Promise<string> {
  const dir = join(root, 'update');
  await mkdir(dir, { recursive: true });
  await copyScript(SCRIPT(), dir, 'component-installscript.sh');
  await copyScript(repoPath('hw-fixtures', 'scripts', 'sleepy-installscript.sh'), dir, 'sleepy-installscript.sh');
  const step = (i: number, script: string) => ({
    description: `step ${i}`,
    handler: 'microsoft/script:1',
    files: ['component-installscript.sh', 'sleepy-installscript.sh'],
    handlerProperties: { scriptFileName: script, arguments: '', installedCriteria: `crash-test-step-${i}` },
  });
  return writeImportManifest(dir, 'three.importmanifest.json', {
    updateId: { provider: 'test', name: 'three-steps', version: '1.0' },
    compatibility: [{ manufacturer: 'test', model: 'gateway' }],
    steps: [
      step(0, 'component-installscript.sh'),
      step(1, 'sleepy-installscript.sh'),
      step(2, 'component-installscript.sh'),
    ],
  });
}

async function waitFor(path: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > end) throw new Error(`${path} did not appear within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `flash --json` of the three-step update and returns once step 1's slow flash is running. */
async function startFlashInSlowStep(prefix: string) {
  const root = await mkdtemp(join(tmpdir(), prefix));
  const manifest = await threeStepUpdate(root);
  const log = join(root, 'script.log');
  const marker = join(root, 'sleepy.pid');
  const env = {
    SENSOR_PROXY_STATE_DIR: join(root, 'state'),
    SENSOR_PROXY_HOST_STATE: join(root, 'host'),
    SENSOR_PROXY_SCRIPT_LOG: log,
    SLEEPY_MARKER: marker,
  };
  const cli = startCli(['flash', manifest, '--json'], env);
  const done = collect(cli);
  await waitFor(marker, 60_000);
  return { root, manifest, log, marker, env, cli, done };
}

const installsOf = async (log: string) =>
  (await readFile(log, 'utf8'))
    .split('\n')
    .filter((l) => l.includes('--action-install'))
    .map((l) => l.split(/\s/).at(-1));

describe('flash: crash and cancel in the middle of a multi-step update', () => {
  it('a process killed mid-update is completed by a re-run without re-installing finished steps', async () => {
    const { root, manifest, log, marker, env, cli, done } = await startFlashInSlowStep('sp-crash-');
    cli.kill('SIGKILL'); // power cut: no cleanup, no final report
    const killed = await done;
    assert.equal(killed.signal, 'SIGKILL');
    process.kill(Number((await readFile(marker, 'utf8')).trim()), 'SIGKILL'); // the orphaned "flash"
    const state = JSON.parse(
      await readFile(join(root, 'state', 'workflows', `${resultWorkflowId(killed.events)}.json`), 'utf8'),
    );
    assert.equal(state.status, 'running');
    assert.deepEqual(Object.keys(state.steps), ['0@host']);

    // Re-run, this time the flash of step 1 completes: step 0 is not installed again.
    const { SLEEPY_MARKER: _unused, ...quick } = env;
    const rerun = await runCli(['flash', manifest, '--json'], quick);
    assert.equal(rerun.code, 0, rerun.stderr);
    const r = resultLine(rerun);
    assert.equal(r.resumed, true);
    assert.deepEqual(
      Object.values(r.lastInstallResult.stepResults).map((s: any) => s.resultCode),
      [603, 700, 700],
    );
    // install calls over both runs: step 0 once, step 1 twice (interrupted, then complete), step 2 once.
    assert.deepEqual(await installsOf(log), [
      'crash-test-step-0',
      'crash-test-step-1',
      'crash-test-step-1',
      'crash-test-step-2',
    ]);
  });

  it('Ctrl-C cancels the running script (its process group is killed) and reports cancelled', async () => {
    const { log, marker, cli, done } = await startFlashInSlowStep('sp-cancel-');
    cli.kill('SIGINT');
    const run = await done;
    assert.equal(run.code, 1, run.stderr);
    const r = resultLine(run);
    assert.equal(r.cancelled, true);
    assert.equal(r.lastInstallResult.resultCode, -1);
    assert.equal(r.lastInstallResult.stepResults.step_1.resultCode, -1);
    const pid = Number((await readFile(marker, 'utf8')).trim());
    assert.throws(() => process.kill(pid, 0), /ESRCH/, 'the sleeping flash process is gone');
    assert.deepEqual(await installsOf(log), ['crash-test-step-0', 'crash-test-step-1'], 'step 2 never ran');
  });
});

function resultWorkflowId(events: Array<Record<string, unknown>>): string {
  const started = events.find((e) => e.type === 'update.started') as { workflowId: string } | undefined;
  if (!started) throw new Error('no update.started event');
  return started.workflowId;
}
