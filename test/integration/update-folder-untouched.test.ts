import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoPath } from '../../hw-fixtures/repo-root.js';
import { writeImportManifest } from '../../hw-fixtures/updates/import-manifest-builder.js';
import { collect, runCli, startCli } from '../helpers/cli.js';

/**
 * Issue 13 item 3: `flash` must never modify the user's update folder. The scripts are stored
 * 0644, as a user unpacking an archive would have them; the script handler makes its own copy
 * executable. After success, failure, cancel and crash every file is byte- and mode-identical
 * and shares its inode with nothing (a hard link left in a work folder would let a later run
 * change the user's file).
 */
const script = (name: string) => repoPath('hw-fixtures', 'scripts', name);

async function updateFolder(root: string): Promise<{ dir: string; ok: string; failing: string; slow: string }> {
  const dir = join(root, 'update');
  await mkdir(dir, { recursive: true });
  for (const s of ['component-installscript.sh', 'sleepy-installscript.sh', 'fail-with-exit.sh']) {
    await copyFile(script(s), join(dir, s));
    await chmod(join(dir, s), 0o644);
  }
  const step = (i: number, name: string, args = '') => ({
    description: `step ${i}`,
    handler: 'microsoft/script:1',
    files: [name],
    handlerProperties: { scriptFileName: name, arguments: args, installedCriteria: `untouched-${i}` },
  });
  const manifest = (file: string, name: string, steps: ReturnType<typeof step>[]) =>
    writeImportManifest(dir, file, {
      updateId: { provider: 'test', name, version: '1.0' },
      compatibility: [{ manufacturer: 'test', model: 'gateway' }],
      steps,
    });
  return {
    dir,
    ok: await manifest('ok.importmanifest.json', 'ok', [step(0, 'component-installscript.sh')]),
    failing: await manifest('failing.importmanifest.json', 'failing', [
      step(0, 'component-installscript.sh'),
      step(1, 'fail-with-exit.sh', '--exit-code 3'),
    ]),
    slow: await manifest('slow.importmanifest.json', 'slow', [
      step(0, 'component-installscript.sh'),
      step(1, 'sleepy-installscript.sh'),
    ]),
  };
}

/** name -> sha256, mode, link count of every file in the folder. */
async function snapshot(dir: string): Promise<Record<string, { sha256: string; mode: string; nlink: number }>> {
  const out: Record<string, { sha256: string; mode: string; nlink: number }> = {};
  for (const name of (await readdir(dir)).sort()) {
    const st = await stat(join(dir, name));
    out[name] = {
      sha256: createHash('sha256')
        .update(await readFile(join(dir, name)))
        .digest('hex'),
      mode: (st.mode & 0o7777).toString(8),
      nlink: st.nlink,
    };
  }
  return out;
}

async function waitFor(path: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > end) throw new Error(`${path} did not appear within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function setup(prefix: string) {
  const root = await mkdtemp(join(tmpdir(), prefix));
  const u = await updateFolder(root);
  const before = await snapshot(u.dir);
  assert.equal(before['component-installscript.sh']!.mode, '644');
  const env = { SENSOR_PROXY_STATE_DIR: join(root, 'state'), SENSOR_PROXY_HOST_STATE: join(root, 'host') };
  return { root, u, before, env };
}

describe('flash never modifies the update folder', () => {
  it('after a successful run', async () => {
    const { u, before, env } = await setup('sp-untouched-ok-');
    const run = await runCli(['flash', u.ok, '--json'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await snapshot(u.dir), before);
  });

  it('after a failed run', async () => {
    const { u, before, env } = await setup('sp-untouched-fail-');
    const run = await runCli(['flash', u.failing, '--json'], env);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /flashing failed/);
    assert.deepEqual(await snapshot(u.dir), before);
  });

  for (const how of ['cancel', 'crash'] as const) {
    it(`after a ${how} in the middle of a step`, async () => {
      const { root, u, before, env } = await setup(`sp-untouched-${how}-`);
      const marker = join(root, 'sleepy.pid');
      const cli = startCli(['flash', u.slow, '--json'], { ...env, SLEEPY_MARKER: marker });
      const done = collect(cli);
      await waitFor(marker, 60_000);
      cli.kill(how === 'cancel' ? 'SIGINT' : 'SIGKILL');
      const run = await done;
      if (how === 'crash') {
        assert.equal(run.signal, 'SIGKILL');
        process.kill(Number((await readFile(marker, 'utf8')).trim()), 'SIGKILL'); // the orphaned "flash"
      } else assert.equal(run.code, 1, run.stderr);
      assert.deepEqual(await snapshot(u.dir), before);
    });
  }
});
