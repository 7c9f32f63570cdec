import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { repoPath } from '../../hw-fixtures/repo-root.js';
import { collect } from '../helpers/cli.js';
import { spawn } from 'node:child_process';

const run = promisify(execFile);

/**
 * Issue 11 (npm package hygiene): `npm pack` ships only what runs, and the packed package works with
 * production dependencies only (no aedes, selfsigned, pino-pretty). Dependencies come from the npm
 * cache filled by `npm ci` (--prefer-offline); socketcan's addon is copied from the checkout, as the
 * Debian package build does, instead of being compiled again.
 */
describe('npm pack: the packed package with production dependencies only', () => {
  let dir: string;
  let tarball: string;
  let main: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sp-npm-pack-'));
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: repoPath(),
    });
    const [info] = JSON.parse(stdout) as Array<{ filename: string; size: number; files: Array<{ path: string }> }>;
    tarball = join(dir, info!.filename);
    process.stdout.write(`# npm pack: ${info!.size} bytes packed, ${info!.files.length} files\n`);
    const app = join(dir, 'app');
    await mkdir(app);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
    await run(
      'npm',
      ['install', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', tarball],
      { cwd: app },
    );
    const addon = repoPath('node_modules', 'socketcan', 'build');
    if (existsSync(addon)) await cp(addon, join(app, 'node_modules', 'socketcan', 'build'), { recursive: true });
    main = join(app, 'node_modules', 'sensor-proxy', 'dist', 'src', 'cli', 'main.js');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('ships no tests, fixtures or source maps and stays under 300 KB', async () => {
    const { stdout } = await run('tar', ['tzf', tarball]);
    const files = stdout.trim().split('\n');
    assert.ok(files.includes('package/dist/src/cli/main.js'), 'the CLI is in the package');
    const stray = files.filter((f) => /\/(test|hw-fixtures)\/|\.map$|\.ts$/.test(f));
    assert.deepEqual(stray, [], 'no tests, hw-fixtures, sources or maps');
    const { size } = await import('node:fs/promises').then((fs) => fs.stat(tarball));
    assert.ok(size < 300 * 1024, `packed size ${size} bytes must stay under 300 KB`);
  });

  it('installs without the test hub, certificate generation and pretty printer', async () => {
    const installed = await readdir(join(dir, 'app', 'node_modules'));
    for (const dev of ['aedes', 'selfsigned', 'pino-pretty', 'typescript', 'tsx'])
      assert.ok(!installed.includes(dev), `${dev} must not be a production dependency`);
  });

  it('runs --help and list', async () => {
    const help = await collect(spawn(process.execPath, [main, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /sensor-proxy list/);
    const inv = join(dir, 'inventory.json');
    await writeFile(
      inv,
      JSON.stringify({ components: [{ id: 'c1', name: 'n', group: 'g', manufacturer: 'm', model: 'x' }] }),
    );
    const list = await collect(
      spawn(process.execPath, [main, 'list', '--inventory', inv, '--json', '-v'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, SENSOR_PROXY_STATE_DIR: join(dir, 'state') },
      }),
    );
    assert.equal(list.code, 0, list.stderr);
    assert.equal((JSON.parse(list.stdout) as { components: unknown[] }).components.length, 1);
  });

  it('the agent starts (loads the IoT Hub SDK) and stops cleanly on SIGTERM', async () => {
    const cfg = join(dir, 'agent.json');
    // A hub that refuses connections at once: the agent keeps retrying until it is stopped.
    await writeFile(
      cfg,
      JSON.stringify({
        stateDir: join(dir, 'agent-state'),
        hub: { connectionString: 'HostName=127.0.0.1;DeviceId=d1;SharedAccessKey=c2VjcmV0' },
      }),
    );
    const child = spawn(process.execPath, [main, 'agent', '--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 60_000;
    while (!/"msg":"[^"]*connect/i.test(stderr) && child.exitCode === null && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    assert.equal(child.exitCode, null, `agent exited early:\n${stderr}`);
    child.kill('SIGTERM');
    const end = await collect(child, 60_000);
    assert.equal(end.code, 0, stderr);
    assert.doesNotMatch(stderr, /ERR_MODULE_NOT_FOUND|Cannot find (module|package)/);
  });
});
