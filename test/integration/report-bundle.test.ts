/**
 * `sensor-proxy report` after a real flash (issue 12 item 4): two MCUboot sensors on socat pty pairs
 * are flashed in parallel by the CLI, then `report` writes the bundle. GNU tar unpacks it; the
 * bundle holds the version, the config without its secrets, the `list` output, the deployment with
 * its per-step × component results and timeline, the log file, and a report.html that headless
 * Chromium opens offline without a console message.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromiumSkip, openInChromium } from '../../hw-fixtures/browser/headless-chromium.js';
import { ptyRigSkip } from '../../hw-fixtures/serial/rig-availability.js';
import { startSmpFleet, type SmpFleet } from '../../hw-fixtures/updates/smp-fleet.js';
import type { DeploymentRecord } from '../../src/report/deployments.js';
import { runCli, resultLine } from '../helpers/cli.js';

const KEY = 'ZmxlZXQtc2VjcmV0LWtleS1mb3ItdGhlLXRlc3Q=';
const TOKEN = 'tok-3f9a-never-in-a-bundle';

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) out.push(join(e.parentPath, e.name).slice(dir.length + 1));
  return out.sort();
}

describe('sensor-proxy report after a flash on real ptys', { skip: ptyRigSkip(), timeout: 300_000 }, () => {
  let fleet: SmpFleet;
  let work: string;
  let root: string;
  before(async () => {
    fleet = await startSmpFleet({
      sensors: 2,
      config: {
        hub: { connectionString: `HostName=gw.example.net;DeviceId=gw-7;SharedAccessKey=${KEY}` },
        handlers: {
          'sensor-proxy/smp:1': { responseTimeoutMs: 2000, pollIntervalMs: 50 },
          'microsoft/script:1': { env: { SITE: 'plant-7', API_TOKEN: TOKEN } },
        },
      },
    });
    work = await mkdtemp(join(tmpdir(), 'report-bundle-'));
    const flash = await runCli(['flash', fleet.manifest, '--config', fleet.configPath, '--json']);
    assert.equal(flash.code, 0, flash.stderr);
    assert.equal(resultLine(flash).succeeded, true);
    const out = join(work, 'bundle.tar.gz');
    const rep = await runCli(['report', '--config', fleet.configPath, '--out', out]);
    assert.equal(rep.code, 0, rep.stderr);
    assert.equal(rep.stdout.trim(), out, 'prints where the bundle is');
    execFileSync('tar', ['xzf', out, '-C', work]);
    const [top] = (await readdir(work)).filter((n) => n.startsWith('sensor-proxy-report-'));
    assert.ok(top, 'one top folder');
    root = join(work, top);
  });
  after(async () => {
    await fleet?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('holds version, config, list, the deployment, logs and report.html', async () => {
    const files = await filesUnder(root);
    for (const f of [
      'README.txt',
      'version.txt',
      'config/gateway.json',
      'config/effective.json',
      'list.txt',
      'list.json',
      'logs/sensor-proxy.log',
      'logs/journal.txt',
      'report.html',
    ])
      assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    assert.match(await readFile(join(root, 'version.txt'), 'utf8'), new RegExp(`^sensor-proxy ${pkg.version}\\n`));
    const list = JSON.parse(await readFile(join(root, 'list.json'), 'utf8')) as {
      components: { name: string; version: string }[];
    };
    assert.deepEqual(list.components.map((c) => [c.name, c.version]).sort(), [
      ['sensor-0', '2.0.0'],
      ['sensor-1', '2.0.0'],
    ]);
    assert.match(await readFile(join(root, 'list.txt'), 'utf8'), /sensor-1\s+fleet\s+contoso\s+env-s1\s+2\.0\.0/);
    // the flash's info logs are in the log file although the terminal showed warnings only
    assert.match(await readFile(join(root, 'logs/sensor-proxy.log'), 'utf8'), /"msg":"smp is-installed"/);
  });

  it('no secret of the config is anywhere in the bundle', async () => {
    for (const f of await filesUnder(root)) {
      const text = await readFile(join(root, f), 'utf8');
      assert.ok(!text.includes(KEY), `SharedAccessKey in ${f}`);
      assert.ok(!text.includes(TOKEN), `API_TOKEN in ${f}`);
    }
    const cfg = JSON.parse(await readFile(join(root, 'config/gateway.json'), 'utf8')) as any;
    assert.equal(cfg.hub.connectionString, '[REDACTED]');
    assert.equal(cfg.handlers['microsoft/script:1'].env.SITE, 'plant-7');
    assert.equal(cfg.enumerators[0].rules.length, 2, 'the rest of the config is there');
  });

  it('the deployment has its per-step × component results and a timeline of each component', async () => {
    const deps = (await readdir(join(root, 'deployments'))).filter((n) => n.endsWith('.json'));
    assert.equal(deps.length, 1);
    const d = JSON.parse(await readFile(join(root, 'deployments', deps[0]!), 'utf8')) as DeploymentRecord;
    assert.equal(d.state?.status, 'succeeded');
    const ports = fleet.rigs.map((r) => r.port).sort();
    assert.deepEqual(Object.keys(d.state!.steps).sort(), ports.map((p) => `0.0@${p}`).sort());
    for (const rec of Object.values(d.state!.steps)) assert.equal(rec.result.resultCode, 700);
    const run = d.timeline!.runs.at(-1)!;
    assert.equal(run.succeeded, true);
    assert.deepEqual(run.rows.map((r) => r.componentId).sort(), ports);
    const image = (await readFile(join(fleet.dir, 'fleet-2.0.0.img'))).length;
    for (const row of run.rows) {
      assert.equal(row.outcome, 'installed');
      // the handler's step.phase events, in order, with times inside the step
      assert.deepEqual(
        row.phases.map(([, p]) => p),
        ['connect', 'transfer', 'test', 'reset', 'verify', 'confirm'],
      );
      for (const [t] of row.phases) assert.ok(t >= row.start && t <= row.end!, 'phase inside the step');
      assert.ok(row.samples.length >= 3, 'progress over time');
      assert.equal(row.samples.at(-1)![1], image, 'the whole image');
      assert.ok(row.end! >= row.samples.at(-1)![0]);
    }
  });

  it('report.html is self-contained and shows one timeline row per component', async () => {
    const html = await readFile(join(root, 'report.html'), 'utf8');
    assert.doesNotMatch(html, /https?:\/\//, 'no external URL');
    assert.doesNotMatch(html, /<link|<script[^>]*src=|<img[^>]*src=/, 'nothing loaded from elsewhere');
    assert.match(html, /<svg /);
    for (const r of fleet.rigs) assert.match(html, new RegExp(`${r.port}  step 0\\.0`));
    assert.match(html, /700 ApplySuccess/);
  });

  it(
    'report.html opens in headless Chromium: a real screenshot, no console message',
    { skip: chromiumSkip() },
    async () => {
      const shot = await openInChromium(join(root, 'report.html'));
      assert.deepEqual(shot.console, [], shot.console.join('\n'));
      assert.deepEqual(shot.png.subarray(0, 8), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), 'a PNG');
      assert.ok(shot.png.length > 20_000, `a page with content, not a blank one (${shot.png.length} bytes)`);
    },
  );

  it('the console check sees an error when a page has one (control)', { skip: chromiumSkip() }, async () => {
    const bad = join(work, 'bad.html');
    await writeFile(bad, '<!DOCTYPE html><p>x</p><script>console.error("control-marker"); missingFn();</script>');
    const shot = await openInChromium(bad);
    assert.ok(
      shot.console.some((l) => l.includes('control-marker')),
      shot.console.join('\n'),
    );
    assert.ok(shot.console.some((l) => /missingFn is not defined/.test(l)));
  });
});
