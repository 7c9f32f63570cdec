/**
 * Quick flash (`sensor-proxy flash <image> --protocol P --port ...`) end to end: the built CLI,
 * the real `serialport` on socat pty pairs, the SMP and YMODEM simulators, and lrzsz `rb` as an
 * independent YMODEM receiver. Bad input is refused with exit 2 before any byte reaches a port.
 */
import { execFileSync, spawn } from 'node:child_process';
import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSmpRig, type SmpRig } from '../../hw-fixtures/serial/smp-rig.js';
import { startYmodemRig, type YmodemRig } from '../../hw-fixtures/serial/ymodem-rig.js';
import { openPtyPair } from '../../hw-fixtures/serial/pty-pair.js';
import { buildTestImage } from '../../hw-fixtures/serial/test-image.js';
import { ptyRigSkip } from '../../hw-fixtures/serial/rig-availability.js';
import { resultLine, runCli } from '../helpers/cli.js';

const skip = ptyRigSkip();
const T = { timeout: 120_000 };

async function sandbox(handlers: Record<string, unknown>) {
  const dir = await mkdtemp(join(tmpdir(), 'sp-quick-'));
  const config = join(dir, 'gateway.json');
  await writeFile(config, JSON.stringify({ stateDir: join(dir, 'state'), enumerators: [], handlers }));
  return { dir, config };
}

const SMP_FAST = {
  'sensor-proxy/smp:1': { responseTimeoutMs: 1000, resetTimeoutSeconds: 10, pollIntervalMs: 50 },
};

describe('quick flash over SMP on real pty pairs', { skip }, () => {
  const rigs: SmpRig[] = [];
  let box: Awaited<ReturnType<typeof sandbox>>;
  const image = buildTestImage('1.4.2', 40_000, 3);
  let imagePath: string;
  before(async () => {
    for (let i = 0; i < 2; i++) rigs.push(await startSmpRig({ baudRate: 115200, flashUsPerByte: 1, bootTimeMs: 150 }));
    box = await sandbox(SMP_FAST);
    imagePath = join(box.dir, 'zephyr.signed.bin');
    await writeFile(imagePath, image);
  });
  after(async () => {
    await Promise.all(rigs.map((r) => r.close()));
    await rm(box.dir, { recursive: true, force: true });
  });

  it('--dry-run reads the versions and writes nothing', T, async () => {
    const run = await runCli(
      ['flash', imagePath, '--protocol', 'smp', '--port', rigs[0]!.port, '--dry-run', '--json', '--config', box.config],
      {},
    );
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const r = resultLine(run);
    assert.equal(r.dryRun, true);
    assert.equal(r.targets[0].versionBefore, '1.0.0');
    assert.equal(r.targets[0].would, 'flash');
    assert.deepEqual(rigs[0]!.sim.record.uploadOffsets, [], 'no upload');
    assert.equal(rigs[0]!.sim.runningVersion, '1.0.0');
  });

  it('two ports in one command flash in parallel; versions before and after; a second run skips both', T, async () => {
    const args = ['flash', imagePath, '-p', rigs[0]!.port, '--port', rigs[1]!.port, '--protocol', 'smp'];
    const run = await runCli([...args, '--json', '--config', box.config]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const intro = run.events[0]!;
    assert.equal(intro.type, 'quick-flash');
    assert.equal(intro.version, '1.4.2', 'installedCriteria from the MCUboot header');
    assert.match(String(intro.sha256), /^[0-9a-f]{64}$/);
    const r = resultLine(run);
    assert.equal(r.succeeded, true, JSON.stringify(r.lastInstallResult));
    assert.deepEqual(
      r.targets.map((t: any) => [t.target, t.versionBefore, t.versionAfter]),
      [
        [rigs[0]!.port, '1.0.0', '1.4.2'],
        [rigs[1]!.port, '1.0.0', '1.4.2'],
      ],
    );
    for (const rig of rigs) assert.equal(rig.sim.runningVersion, '1.4.2');
    const ids = r.targets.map((t: any) => t.componentId as string);
    const at = (type: string, id: string) => run.events.findIndex((e) => e.type === type && e.componentId === id);
    assert.ok(at('step.started', ids[1]) < at('step.finished', ids[0]), 'second started before the first finished');
    assert.ok(at('step.started', ids[0]) < at('step.finished', ids[1]), 'first started before the second finished');
    assert.ok(
      run.events.some((e) => e.type === 'step.phase' && e.phase === 'confirm'),
      'the same SMP handler path: test, reset, confirm',
    );

    const again = await runCli([...args, '--config', box.config]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /603/, 'already installed (603) on both');
    assert.match(again.stdout, /1\.4\.2\s+1\.4\.2/);
    assert.doesNotMatch(again.stderr, /"level":40|WARN/, 'a happy-path quick flash logs no warning');
  });

  it('--force flashes a rebuilt image of the version the sensor already runs', T, async () => {
    const uploadsBefore = rigs[0]!.sim.record.uploadOffsets.length;
    const rebuilt = join(box.dir, 'rebuilt.signed.bin');
    await writeFile(rebuilt, buildTestImage('1.4.2', 30_000, 9));
    const run = await runCli(
      ['flash', rebuilt, '--protocol', 'smp', '--port', rigs[0]!.port, '--force', '--json', '--config', box.config],
      {},
    );
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(resultLine(run).components[0].outcome, 'installed');
    assert.ok(rigs[0]!.sim.record.uploadOffsets.length > uploadsBefore, 'uploaded again');
  });
});

describe('quick flash: bad input on real ports is refused, nothing written', { skip }, () => {
  let rig: SmpRig;
  let box: Awaited<ReturnType<typeof sandbox>>;
  before(async () => {
    rig = await startSmpRig({ baudRate: 0 });
    box = await sandbox(SMP_FAST);
  });
  after(async () => {
    await rig.close();
    await rm(box.dir, { recursive: true, force: true });
  });

  async function refused(args: string[], code: string, message: RegExp) {
    const requestsBefore = rig.sim.record.requests.length;
    const run = await runCli(['flash', ...args, '--json', '--config', box.config]);
    assert.equal(run.code, 2, run.stdout + run.stderr);
    const err = run.events.find((e) => e.type === 'error') as { code: string; message: string } | undefined;
    assert.equal(err?.code, code, run.stdout);
    assert.match(err!.message, message);
    assert.equal(resultLine(run).succeeded, false);
    assert.equal(rig.sim.record.requests.length, requestsBefore, 'the sensor got no request');
    return run;
  }

  it(
    'a port that does not exist, a raw image for smp, a protocol that does not fit, the same sensor twice',
    T,
    async () => {
      const good = join(box.dir, 'good.bin');
      await writeFile(good, buildTestImage('2.0.0', 2000, 1));
      const raw = join(box.dir, 'zephyr.bin');
      await writeFile(raw, Buffer.alloc(4096, 0xab));
      await refused(
        [good, '--protocol', 'smp', '--port', '/dev/does-not-exist'],
        'TARGET_NOT_FOUND',
        /\/dev\/does-not-exist/,
      );
      await refused([raw, '--protocol', 'smp', '--port', rig.port], 'IMAGE_REJECTED', /not an MCUboot image/);
      await refused([good, '--protocol', 'uds', '--port', rig.port], 'TARGET_INVALID', /does not fit target/);
      const alias = join(box.dir, 'sensor-link');
      await symlink(rig.port, alias);
      const run = await refused(
        [good, '--protocol', 'smp', '--port', rig.port, '--port', alias],
        'TARGET_INVALID',
        /same sensor/,
      );
      assert.match(JSON.stringify(run.events[0]), /sensor-link/, 'the error names the target');
      await refused([good, '--protocol', 'smp', '--port', 'left-sensor'], 'TARGET_NOT_FOUND', /left-sensor/);
      const human = await runCli(['flash', good, '--protocol', 'smp', '--port', '/dev/nope', '--config', box.config]);
      assert.equal(human.code, 2);
      assert.match(human.stderr, /error \[TARGET_NOT_FOUND\]: serial port \/dev\/nope does not exist\nhint: /);
    },
  );
});

describe('quick flash over YMODEM', { skip }, () => {
  let box: Awaited<ReturnType<typeof sandbox>>;
  before(async () => {
    box = await sandbox({
      'sensor-proxy/ymodem:1': { bootloaderEntry: { type: 'bytes', hex: '7f424f4f540d' }, bootTimeoutMs: 5000 },
    });
  });
  after(async () => {
    await rm(box.dir, { recursive: true, force: true });
  });

  it('into the bootloader simulator: the version query before and after, --version checked', T, async () => {
    const rig: YmodemRig = await startYmodemRig({ baudRate: 115200, version: '1.0.0' });
    try {
      const image = Buffer.concat([Buffer.from('VER:2.1.0\n'), Buffer.alloc(30_000, 0x5a)]);
      const path = join(box.dir, 'app.bin');
      await writeFile(path, image);
      const run = await runCli([
        'flash',
        path,
        '--protocol',
        'ymodem',
        '--port',
        rig.port,
        '--version',
        '2.1.0',
        '--json',
        '--config',
        box.config,
      ]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const r = resultLine(run);
      assert.equal(r.succeeded, true, JSON.stringify(r.lastInstallResult));
      assert.deepEqual([r.targets[0].versionBefore, r.targets[0].versionAfter], ['1.0.0', '2.1.0']);
      assert.deepEqual(Buffer.from(rig.sim.transfers[0]!.files[0]!.data), image);
    } finally {
      await rig.close();
    }
  });

  it('into lrzsz rb (an independent receiver): the file arrives byte for byte', T, async (t) => {
    try {
      execFileSync('rb', ['--version'], { stdio: 'ignore' });
    } catch {
      if (process.env.CI === 'true') throw new Error('lrzsz missing');
      t.skip('lrzsz not installed');
      return;
    }
    const pair = await openPtyPair();
    const out = await mkdtemp(join(tmpdir(), 'sp-quick-rb-'));
    const rb = spawn('sh', ['-c', 'exec rb --ymodem -b -y -q < "$1" > "$1"', 'sh', pair.b], {
      cwd: out,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const rbExit = new Promise<number | null>((resolve) => rb.once('exit', resolve));
    try {
      const image = Buffer.alloc(50_000);
      for (let i = 0; i < image.length; i++) image[i] = (i * 31 + 7) & 0xff;
      const path = join(box.dir, 'plain.bin');
      await writeFile(path, image);
      // rb answers no version query and needs no entry sequence: a plain config.
      const cfg = join(box.dir, 'rb.json');
      await writeFile(
        cfg,
        JSON.stringify({
          stateDir: join(box.dir, 'state-rb'),
          enumerators: [],
          handlers: { 'sensor-proxy/ymodem:1': { versionQuery: null } },
        }),
      );
      const run = await runCli(['flash', path, '--protocol', 'ymodem', '--port', pair.a, '--json', '--config', cfg]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.equal(await rbExit, 0);
      assert.deepEqual(await readFile(join(out, 'plain.bin')), image);
      const r = resultLine(run);
      assert.equal(r.targets[0].versionBefore, null);
      assert.match(r.targets[0].versionBeforeNote, /no version/);
    } finally {
      rb.kill('SIGKILL');
      await pair.close();
      await rm(out, { recursive: true, force: true });
    }
  });
});
