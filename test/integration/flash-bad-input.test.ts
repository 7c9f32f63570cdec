import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeCameraInventory, writeSeedUpdates } from '../../hw-fixtures/updates/seed-updates.js';
import { resultLine, runCli } from '../helpers/cli.js';

async function sandbox() {
  const root = await mkdtemp(join(tmpdir(), 'sp-bad-'));
  const seeds = await writeSeedUpdates(join(root, 'updates'));
  const log = join(root, 'script.log');
  const env = {
    SENSOR_PROXY_STATE_DIR: join(root, 'state'),
    SENSOR_PROXY_HOST_STATE: join(root, 'host'),
    SENSOR_PROXY_SCRIPT_LOG: log,
  };
  const scriptRuns = async () => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
  return { root, seeds, env, scriptRuns };
}

async function editJson(path: string, edit: (doc: any) => void): Promise<void> {
  const doc = JSON.parse(await readFile(path, 'utf8'));
  edit(doc);
  await writeFile(path, JSON.stringify(doc, null, 2));
}

/** Runs flash --json and checks the input-error contract: exit 2, error event, failed result, no script ran. */
async function expectInputError(
  s: Awaited<ReturnType<typeof sandbox>>,
  manifest: string,
  code: string,
  message: RegExp,
  extra: string[] = [],
) {
  const run = await runCli(['flash', manifest, '--json', ...extra], s.env);
  assert.equal(run.code, 2, run.stdout + run.stderr);
  const err = run.events.find((e) => e.type === 'error') as { code: string; message: string } | undefined;
  assert.equal(err?.code, code, run.stdout);
  assert.match(err!.message, message);
  const r = resultLine(run);
  assert.equal(r.succeeded, false);
  assert.equal(r.lastInstallResult.resultCode, 0);
  assert.equal(await s.scriptRuns(), 0, 'no handler was invoked');
  return run;
}

describe('flash: bad input is refused before any handler runs', () => {
  it('malformed JSON names the file, line and column', async () => {
    const s = await sandbox();
    await writeFile(s.seeds.oneInline, '{\n  "updateId": {\n    "provider": "x",\n  }\n}\n');
    await expectInputError(s, s.seeds.oneInline, 'MANIFEST_INVALID_JSON', /:4:3/);
    const human = await runCli(['flash', s.seeds.oneInline], s.env);
    assert.equal(human.code, 2);
    assert.match(human.stderr, /error \[MANIFEST_INVALID_JSON\]/);
  });

  it('a missing update file', async () => {
    const s = await sandbox();
    await rm(join(s.seeds.dir, 'apt-manifest-1.0.json'));
    const run = await expectInputError(s, s.seeds.oneInline, 'FILE_MISSING', /apt-manifest-1\.0\.json/);
    assert.match(JSON.stringify(run.events[0]), /--files/);
  });

  it('a hash mismatch (same size) and a size mismatch', async () => {
    const s = await sandbox();
    const f = join(s.seeds.dir, 'apt-manifest-1.0.json');
    const text = await readFile(f, 'utf8');
    await writeFile(f, text.replace('latest', 'LATEST'));
    await expectInputError(s, s.seeds.oneInline, 'FILE_HASH_MISMATCH', /apt-manifest-1\.0\.json/);
    await appendFile(f, 'x');
    await expectInputError(s, s.seeds.oneInline, 'FILE_SIZE_MISMATCH', /apt-manifest-1\.0\.json/);
  });

  it('an unknown handler names the known ones', async () => {
    const s = await sandbox();
    await editJson(s.seeds.oneInline, (d) => (d.instructions.steps[0].handler = 'contoso/teleport:1'));
    const run = await expectInputError(s, s.seeds.oneInline, 'HANDLER_UNKNOWN', /contoso\/teleport:1/);
    assert.match(JSON.stringify(run.events[0]), /microsoft\/script:1/);
  });

  it('a child update with a reference step', async () => {
    const s = await sandbox();
    await editJson(s.seeds.childCamera, (d) =>
      d.instructions.steps.push({
        type: 'reference',
        description: 'nested',
        updateId: { provider: 'a', name: 'b', version: '1.0' },
      }),
    );
    await expectInputError(s, s.seeds.parentWithReference, 'MANIFEST_INVALID', /reference/);
  });

  it('file names with a path separator or ..', async () => {
    for (const bad of ['../apt-manifest-1.0.json', 'sub/apt-manifest-1.0.json']) {
      const s = await sandbox();
      await editJson(s.seeds.oneInline, (d) => {
        d.files[1].filename = bad;
        d.instructions.steps[0].files[1] = bad;
      });
      await expectInputError(s, s.seeds.oneInline, 'MANIFEST_INVALID', /files\[1\]/);
    }
  });

  it('a compatibility that selects nothing is success 604, not an error', async () => {
    const s = await sandbox();
    const inventory = await writeCameraInventory(s.root);
    await editJson(s.seeds.childCamera, (d) => (d.compatibility = [{ group: 'thermometers' }]));
    const run = await runCli(['flash', s.seeds.parentWithReference, '--inventory', inventory, '--json'], s.env);
    assert.equal(run.code, 0, run.stderr);
    const r = resultLine(run);
    assert.equal(r.succeeded, true);
    assert.equal(r.lastInstallResult.stepResults.step_0.resultCode, 604);
    assert.equal(await s.scriptRuns(), 0);
  });

  // Issue 13 item 4: oversize input is refused by its size (sparse files: nothing to read but zeros).
  it('a 100 MB manifest is MANIFEST_TOO_LARGE naming the file and the 1 MiB limit', async () => {
    const s = await sandbox();
    await truncate(s.seeds.oneInline, 100 * 1024 * 1024);
    await expectInputError(s, s.seeds.oneInline, 'MANIFEST_TOO_LARGE', /is 100 MiB; the limit is 1 MiB/);
    const v = await runCli(['validate', s.seeds.oneInline], s.env);
    assert.equal(v.code, 1);
    assert.match(v.stderr, /error \[MANIFEST_TOO_LARGE\].*\nhint: /);
  });

  it('an oversize child import manifest is skipped, and the reason is in the not-found error', async () => {
    const s = await sandbox();
    await truncate(s.seeds.childCamera, 100 * 1024 * 1024);
    const run = await expectInputError(s, s.seeds.parentWithReference, 'MANIFEST_CHILD_NOT_FOUND', /not found/);
    assert.match(JSON.stringify(run.events[0]), /manifest is 100 MiB; the limit is 1 MiB/);
  });

  it('an oversize --inventory or --config is INPUT_TOO_LARGE', async () => {
    const s = await sandbox();
    const big = join(s.root, 'big.json');
    await writeFile(big, '{');
    await truncate(big, 30 * 1024 * 1024);
    // The inventory is read when a reference step targets components.
    await expectInputError(s, s.seeds.parentWithReference, 'INPUT_TOO_LARGE', /inventory file is 30 MiB/, [
      '--inventory',
      big,
    ]);
    const run = await runCli(['flash', s.seeds.oneInline, '--config', big, '--json'], s.env);
    assert.equal(run.code, 2);
    assert.match(run.stdout + run.stderr, /INPUT_TOO_LARGE.*gateway config is 30 MiB/);
  });

  it('usage errors exit 2 with the usage text', async () => {
    const run = await runCli(['flash']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /usage:/);
    const bad = await runCli(['flash', 'x.json', '--no-such-flag']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /no-such-flag/);
  });
});

describe('validate', () => {
  it('exits 0 for the seeds and 1 naming the JSON path for a violation', async () => {
    const s = await sandbox();
    const ok = await runCli(['validate', s.seeds.parentWithReference]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /contoso\/virtual-camera\/1\.2/);
    await editJson(s.seeds.twoInline, (d) => (d.instructions.steps[1].handler = 'no-version'));
    const bad = await runCli(['validate', s.seeds.twoInline]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /\$\.instructions\.steps\[1\]\.handler/);
  });
});

describe('list', () => {
  it('prints an ADU inventory as a table and as {"components":[...]}', async () => {
    const s = await sandbox();
    const inventory = await writeCameraInventory(s.root);
    const json = await runCli(['list', '--inventory', inventory, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout) as {
      components: Array<{ id: string; version?: string; properties: { status: string } }>;
    };
    assert.deepEqual(
      doc.components.map((c) => c.id),
      ['contoso-camera-serial-00000', 'contoso-camera-serial-00001', 'contoso-motor-serial-00000'],
    );
    assert.equal(doc.components[0]!.version, '1.0', 'Contoso semantics: firmware data file merged onto the component');
    assert.equal(doc.components[0]!.properties.status, 'ok');
    const table = await runCli(['list', '--inventory', inventory]);
    assert.match(table.stdout, /front-camera\s+cameras/);
    const missing = await runCli(['list', '--inventory', join(s.root, 'nope.json')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /ENUM_FAILED.*nope\.json/);
  });
});
