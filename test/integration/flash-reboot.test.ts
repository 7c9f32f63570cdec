import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { copyScript, writeImportManifest } from '../../hw-fixtures/updates/import-manifest-builder.js';
import { SCRIPT } from '../../hw-fixtures/updates/seed-updates.js';
import { resultLine, runCli } from '../helpers/cli.js';

/** Two host steps; the first one's apply asks for an immediate reboot (705). */
async function rebootingUpdate(root: string) {
  const dir = join(root, 'update');
  await mkdir(dir, { recursive: true });
  await copyScript(SCRIPT(), dir, 'component-installscript.sh');
  const step = (i: number, args: string) => ({
    description: `step ${i}`,
    handler: 'microsoft/script:1',
    files: ['component-installscript.sh'],
    handlerProperties: { scriptFileName: 'component-installscript.sh', arguments: args, installedCriteria: `rb-${i}` },
  });
  const manifest = await writeImportManifest(dir, 'reboot.importmanifest.json', {
    updateId: { provider: 'test', name: 'reboot-steps', version: '1.0' },
    compatibility: [{ manufacturer: 'test', model: 'gateway' }],
    steps: [step(0, '--restart-to-apply'), step(1, '')],
  });
  const marker = join(root, 'reboots.log');
  const stub = join(root, 'fake-reboot.sh');
  await writeFile(stub, `#!/bin/sh\necho reboot >> "${marker}"\n`, { mode: 0o755 });
  const config = join(root, 'gateway.json');
  await writeFile(config, JSON.stringify({ stateDir: join(root, 'state'), rebootCommand: [stub] }));
  const env = { SENSOR_PROXY_HOST_STATE: join(root, 'host'), SENSOR_PROXY_SCRIPT_LOG: join(root, 'script.log') };
  return { manifest, marker, config, env };
}

describe('flash: reboot requests', { timeout: 120_000 }, () => {
  it('without --reboot: says a reboot is needed and does not reboot; the next run finishes the update', async () => {
    const root = await mkdtemp(join(tmpdir(), 'sp-flash-reboot-'));
    const u = await rebootingUpdate(root);
    const first = await runCli(['flash', u.manifest, '--config', u.config, '--json'], u.env);
    assert.equal(first.code, 1);
    const r = resultLine(first);
    assert.equal(r.suspended, 'restart-requested');
    assert.equal(r.lastInstallResult.resultCode, 705);
    assert.match(first.stderr, /REBOOT NEEDED.*--reboot/s);
    await assert.rejects(readFile(u.marker, 'utf8'), /ENOENT/, 'no reboot without --reboot');
    const second = await runCli(['flash', u.manifest, '--config', u.config, '--json'], u.env);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(resultLine(second).resumed, true);
  });

  it('with --reboot: runs the configured reboot command once, and the run after the "reboot" succeeds', async () => {
    const root = await mkdtemp(join(tmpdir(), 'sp-flash-reboot-'));
    const u = await rebootingUpdate(root);
    const first = await runCli(['flash', u.manifest, '--config', u.config, '--reboot'], u.env);
    assert.equal(first.code, 1);
    assert.match(first.stdout, /WAITING FOR A REBOOT/);
    assert.match(first.stderr, /rebooting; after the reboot, run the same flash command again/);
    assert.equal(await readFile(u.marker, 'utf8'), 'reboot\n');
    const second = await runCli(['flash', u.manifest, '--config', u.config, '--reboot', '--json'], u.env);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(resultLine(second).succeeded, true);
    assert.equal(await readFile(u.marker, 'utf8'), 'reboot\n', 'no second reboot');
  });
});
