/**
 * Quick flash over USB DFU as a field engineer runs it: the built CLI (`sensor-proxy flash fw.bin
 * -d VID:PID`, a new process, the real `usb` package) against the DFU simulator on a real USB bus
 * (dummy_hcd + gadgetfs, qemu guest of `make test-vm`). What was written is proved by the gadget's
 * backing store and by dfu-util 0.11 reading the image back with UPLOAD; bad input is refused with
 * exit 2 before anything reaches the device. SP_TIMEOUT_SCALE (20 in the guest) scales the waits.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { delay } from '../../drivers/shared/deadline.js';
import { waitForDevice } from '../../drivers/usb/find-device.js';
import { WebUsbBackend } from '../../drivers/usb/webusb-backend.js';
import {
  ensureUdevd,
  gadgetRigMissing,
  GadgetProcess,
  pinToGadgetCpu,
  readDump,
} from '../../hw-fixtures/usb/gadget-rig.js';
import { testImage } from '../../hw-fixtures/usb/memory-rig.js';
import { repoPath } from '../../hw-fixtures/repo-root.js';
import { collect, resultLine, type CliRun } from '../helpers/cli.js';
import { scaled } from './vm-env.js';

const run = promisify(execFile);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const missing = gadgetRigMissing();
const dir = mkdtempSync(join(tmpdir(), 'usb-quick-'));
const backend = new WebUsbBackend();
const KIB = 1024;
let gadget: GadgetProcess | undefined;
let configs = 0;

function rig(t: TestContext): boolean {
  if (!missing) return true;
  if (process.env['CI'] === 'true') throw new Error(`USB gadget rig missing in CI: ${missing}`);
  t.skip(missing);
  return false;
}

async function startGadget(serialNumber: string, dump: string, version = 0x0100): Promise<GadgetProcess> {
  await gadget?.stop();
  gadget = await GadgetProcess.start({ serialNumber, version }, { dump, timeoutMs: scaled(3000) });
  await waitForDevice(backend, async (d) => d.info.serialNumber === serialNumber, 'gadget enumerated', {
    timeoutMs: scaled(1000),
    intervalMs: 200,
    sleep: delay,
  });
  return gadget;
}

/** A fresh gateway config (own state folder, no enumerators) with the DFU handler's settings. */
function config(dfu: Record<string, unknown> = {}): string {
  const path = join(dir, `gateway-${++configs}.json`);
  const reenumerateTimeoutMs = Math.max(15_000, scaled(1500));
  writeFileSync(
    path,
    JSON.stringify({
      stateDir: join(dir, `state-${configs}`),
      enumerators: [],
      handlers: { 'sensor-proxy/dfu:1': { reenumerateTimeoutMs, ...dfu } },
    }),
  );
  return path;
}

/** The CLI on CPU 0 next to the gadget (gadget-rig.ts: the OUT-data race of reference §7). */
function flash(args: string[]): Promise<CliRun> {
  const child = spawn(
    'taskset',
    ['-c', '0', process.execPath, repoPath('dist', 'src', 'cli', 'main.js'), 'flash', ...args],
    {
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return collect(child, scaled(20_000));
}

function image(name: string, size: number, version: number): { path: string; bytes: Uint8Array } {
  const bytes = testImage(size, version, size + version);
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return { path, bytes };
}

/** Nothing reached the device: no download began, it never left run-time mode, no image dumped. */
function assertUntouched(g: GadgetProcess, dump: string): void {
  assert.deepEqual(
    g.events.filter((e) => e.event !== 'attached').map((e) => e.event),
    [],
    'no download, no detach, no reset',
  );
  assert.equal(g.events.filter((e) => e.event === 'attached').length, 1);
  assert.equal(existsSync(dump), false, 'nothing manifested');
}

describe(
  'quick flash (sensor-proxy flash <image> -d VID:PID) on the gadgetfs DFU device',
  { timeout: scaled(60_000) },
  () => {
    before(() => {
      if (missing) return;
      ensureUdevd();
      pinToGadgetCpu();
    });
    after(async () => {
      await gadget?.stop();
    });
    afterEach((t) => {
      if (gadget?.stderr && 'diagnostic' in t) t.diagnostic(`gadget stderr: ${gadget.stderr}`);
    });

    it('--dry-run --json reads the running version and writes nothing', async (t) => {
      if (!rig(t)) return;
      const dump = join(dir, 'dry.dump');
      const g = await startGadget('SN-VM-QD', dump, 0x0104);
      const img = image('dry.bin', 64 * KIB, 0x0203);
      const r = await flash([img.path, '-d', '1209:0001', '--dry-run', '--json', '--config', config()]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const intro = r.events[0]!;
      assert.equal(intro.type, 'quick-flash');
      assert.equal(intro.protocol, 'dfu');
      assert.equal(intro.handler, 'sensor-proxy/dfu:1');
      assert.equal(intro.sha256, sha(img.bytes));
      assert.equal(intro.sizeInBytes, img.bytes.length);
      assert.deepEqual(intro.targets, [{ componentId: 'usb-SN-VM-QD', target: 'usb 1209:0001' }]);
      const res = resultLine(r);
      assert.equal(res.dryRun, true);
      assert.equal(res.succeeded, true);
      assert.equal(res.targets.length, 1);
      assert.equal(res.targets[0].versionBefore, '1.04');
      assert.equal(res.targets[0].would, 'flash');
      await delay(scaled(100));
      assertUntouched(g, dump);
    });

    it('flash fw.bin -d VID:PID: detach, download, reset; versions before and after; the gadget and dfu-util -U read back the same bytes', async (t) => {
      if (!rig(t)) return;
      const dump = join(dir, 'plain.dump');
      const g = await startGadget('SN-VM-QF', dump, 0x0100);
      const img = image('fw.bin', 128 * KIB, 0x0203);
      const r = await flash([img.path, '-d', '1209:0001', '--config', config()]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      // The human output: what is flashed where, then the versions table.
      assert.match(r.stderr, /flashing fw\.bin \(131072 bytes, sha256 [0-9a-f]{16}…\) over dfu to usb 1209:0001/);
      assert.match(r.stdout, /target\s+component\s+version before\s+version after/);
      assert.match(r.stdout, /usb 1209:0001\s+usb-SN-VM-QF\s+1\.00\s+2\.03/);
      assert.doesNotMatch(r.stderr, /WARN|"level":40/, 'a happy-path flash logs no warning');

      const m = await g.waitFor((e) => e.event === 'manifested', scaled(1000), 'manifested');
      assert.equal(m.sha256, sha(img.bytes));
      assert.equal((m.stats as { lostBlocks: number }).lostBlocks, 0);
      assert.equal(sha(readDump(dump)), sha(img.bytes), 'the backing store holds the image');
      await g.waitFor(
        (e) => e.event === 'attached' && e.mode === 'runtime' && e.version === 0x0203,
        scaled(1000),
        'runtime 2.03',
      );

      // An independent host reads it back: dfu-util detaches the run-time device and UPLOADs.
      const back = join(dir, 'readback.bin');
      const up = await run(
        'taskset',
        ['-c', '0', 'dfu-util', '-d', '1209:0001,1209:df11', '-S', 'SN-VM-QF', '-U', back],
        { timeout: scaled(10_000) },
      ).catch((e: { stdout?: string; stderr?: string }) => e);
      assert.match(String(up.stdout), /Upload done|Upload finished|Done/i, `${up.stdout}${up.stderr}`);
      assert.equal(sha(readFileSync(back)), sha(img.bytes), 'dfu-util read back what quick flash wrote');
      assert.equal(g.events.filter((e) => e.event === 'setup-aborted').length, 0);
    });

    it('-S SN with a dfu-suffix file (requireSuffix) and --json; --path BUS-PORT picks the same device', async (t) => {
      if (!rig(t)) return;
      const dump = join(dir, 'suffix.dump');
      const g = await startGadget('SN-VM-QS', dump, 0x0100);
      const img = image('fw-suffix.bin', 64 * KIB, 0x0204);
      // dfu-util's own tool adds the suffix (run-time ids; the flash accepts them or the DFU-mode ones).
      execFileSync('dfu-suffix', ['-v', '1209', '-p', '0001', '-d', '0204', '-a', img.path], { stdio: 'ignore' });
      const withSuffix = readFileSync(img.path);
      assert.equal(withSuffix.length, img.bytes.length + 16);
      const cfg = config({ requireSuffix: true });
      const r = await flash([img.path, '-d', '1209:0001', '-S', 'SN-VM-QS', '--json', '--config', cfg]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const intro = r.events[0]!;
      assert.equal(intro.type, 'quick-flash');
      assert.equal(intro.sha256, sha(withSuffix), 'the file as given is what is recorded');
      assert.deepEqual(intro.targets, [{ componentId: 'usb-SN-VM-QS', target: 'usb 1209:0001 serial SN-VM-QS' }]);
      const types = new Set(r.events.map((e) => e.type));
      for (const t of ['step.started', 'step.phase', 'transfer.progress', 'step.finished'])
        assert.ok(types.has(t), `--json carries ${t} events`);
      const phases = r.events.filter((e) => e.type === 'step.phase').map((e) => e.phase);
      for (const p of ['detach', 'transfer', 'reset', 'confirm'])
        assert.ok(phases.includes(p), `phase ${p} in ${phases.join(',')}`);
      const progress = r.events.filter((e) => e.type === 'transfer.progress');
      assert.equal(progress.at(-1)?.bytesDone, img.bytes.length, 'progress ends at the payload size (suffix stripped)');
      const res = resultLine(r);
      assert.equal(res.succeeded, true, JSON.stringify(res.lastInstallResult));
      assert.deepEqual(res.targets, [
        {
          componentId: 'usb-SN-VM-QS',
          target: 'usb 1209:0001 serial SN-VM-QS',
          versionBefore: '1.00',
          versionAfter: '2.04',
        },
      ]);
      assert.equal(res.components[0].outcome, 'installed');
      await g.waitFor((e) => e.event === 'manifested', scaled(1000), 'manifested');
      assert.equal(sha(readDump(dump)), sha(img.bytes), 'the suffix is not written to the device');

      // --path: the bus path that `lsusb -t` / dfu-util --list show, here of the re-enumerated run-time device.
      const dev = await waitForDevice(
        backend,
        async (d) => d.info.serialNumber === 'SN-VM-QS' && d.info.productId === 0x0001,
        'run-time device',
        { timeoutMs: scaled(1000), intervalMs: 200, sleep: delay },
      );
      const again = image('fw-path.bin', 32 * KIB, 0x0205);
      const p = await flash([again.path, '--path', dev.info.portPath, '--json', '--config', config()]);
      assert.equal(p.code, 0, p.stdout + p.stderr);
      const pr = resultLine(p);
      assert.equal(pr.targets[0].target, `usb at ${dev.info.portPath}`);
      assert.equal(pr.targets[0].versionBefore, '2.04');
      assert.equal(pr.targets[0].versionAfter, '2.05');
      await g.waitFor((e) => e.event === 'manifested' && e.version === 0x0205, scaled(1000), 'manifested 2.05');
      assert.equal(sha(readDump(dump)), sha(again.bytes));
    });

    it('bad input on the real bus: VID:PID not attached, a wrong serial, no DFU suffix where required: exit 2, nothing written', async (t) => {
      if (!rig(t)) return;
      const dump = join(dir, 'bad.dump');
      const g = await startGadget('SN-VM-QB', dump, 0x0100);
      const img = image('bad.bin', 16 * KIB, 0x0206);

      const absent = await flash([img.path, '-d', '1209:beef', '--json', '--config', config()]);
      assert.equal(absent.code, 2, absent.stdout + absent.stderr);
      const err = absent.events.find((e) => e.type === 'error')!;
      assert.equal(err.code, 'TARGET_NOT_FOUND');
      assert.match(String(err.message), /no USB device matches usb 1209:beef/);
      assert.match(String(err.hint), /lsusb|dfu-util --list/, 'the remedy names how to see what is attached');
      assert.ok(
        ((err.details as { attached: string[] }).attached ?? []).some((a) => /^1209:0001 serial SN-VM-QB at /.test(a)),
        'the error lists what is attached',
      );
      assert.equal(resultLine(absent).succeeded, false);

      const human = await flash([img.path, '-d', '1209:0001', '-S', 'SN-NOPE', '--config', config()]);
      assert.equal(human.code, 2);
      assert.match(human.stderr, /error \[TARGET_NOT_FOUND\]: no USB device matches usb 1209:0001 serial SN-NOPE/);
      assert.match(human.stderr, /hint: .*lsusb/);

      const noSuffix = await flash([
        img.path,
        '-d',
        '1209:0001',
        '--json',
        '--config',
        config({ requireSuffix: true }),
      ]);
      assert.equal(noSuffix.code, 2, noSuffix.stdout + noSuffix.stderr);
      const e2 = noSuffix.events.find((e) => e.type === 'error')!;
      assert.equal(e2.code, 'IMAGE_REJECTED');
      assert.match(String(e2.message), /has no DFU suffix/);
      assert.match(String(e2.hint), /dfu-suffix/);

      await delay(scaled(100));
      assertUntouched(g, dump);
    });
  },
);
