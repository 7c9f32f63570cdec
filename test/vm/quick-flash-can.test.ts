/**
 * Quick flash on CAN the way a field engineer types it (`sensor-proxy flash fw.bin --can
 * vcan0:7E0:7E8 --protocol uds`): the built CLI on real vcan against the independent Python ECU on
 * the kernel's ISO-TP (hw-fixtures/can/uds_kernel_peer.py: it prints the SHA-256 of the bytes it took,
 * and with --trace every request it received), with each of our ISO-TP backends: a dry run first
 * (a C `candump` shows it sent only the version read), then the flash (--json shape, versions before
 * and after), and two ECUs in one command flashed in parallel. Bad input and our own ECU simulator:
 * quick-flash-can-input.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFirmwareImage } from '../../hw-fixtures/can/firmware-image.js';
import { startKernelEcu } from '../../hw-fixtures/can/kernel-peer.js';
import { resultLine } from '../helpers/cli.js';
import {
  BACKENDS,
  KiB,
  assertFlashed,
  assertOverlap,
  cli,
  isFlowControl,
  requestsOf,
  rigReady,
  sandbox,
  sha256,
  startCandump,
} from './quick-flash-can-rig.js';
import { IFACE, TEST_TIMEOUT_MS, scaled } from './vm-env.js';

for (const backend of BACKENDS) {
  test(
    `[${backend}] flash fw.bin --can vcan0:7E0:7E8 --protocol uds: --dry-run sends only the version read; then --json, the independent ECU takes exactly fw.bin, versions before/after`,
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      if (!(await rigReady(t))) return;
      const box = await sandbox(backend);
      const ecu = await startKernelEcu(['--iface', IFACE, '--version', '1.0.0', '--trace'], scaled(10_000));
      const dump = await startCandump();
      try {
        const fw = join(box.dir, 'fw.bin');
        const img = await writeFirmwareImage(fw, 32 * KiB, '2.0.0', 7);
        const target = ['--can', `${IFACE}:7E0:7E8`, '--protocol', 'uds'];

        const dry = await cli(['flash', fw, ...target, '--dry-run', '--json', '--config', box.config]);
        const frames = await dump.stop();
        assert.equal(dry.code, 0, dry.stdout + dry.stderr);
        const d = resultLine(dry);
        assert.equal(d.dryRun, true);
        assert.deepEqual(
          d.targets.map((x: Record<string, unknown>) => [x.target, x.versionBefore, x.would]),
          [[`${IFACE} 7e0/7e8`, '1.0.0', 'flash']],
        );
        assert.deepEqual([...new Set(requestsOf(ecu))], ['22'], 'the ECU was asked its version, nothing else');
        const requests = frames.filter((f) => f.id === 0x7e0 && !isFlowControl(f)).map((f) => f.data.slice(0, 8));
        assert.ok(requests.length >= 1, 'the version read is on the wire');
        assert.deepEqual([...new Set(requests)], ['0322F189'], 'on the wire: ReadDataByIdentifier F189 only');
        assert.ok(
          frames.every((f) => f.id === 0x7e0 || f.id === 0x7e8),
          'no other frames',
        );

        const run = await cli(['flash', fw, ...target, '--json', '-v', '--config', box.config]);
        assert.equal(run.code, 0, run.stdout + run.stderr);
        assert.match(run.stderr, new RegExp(`ISO-TP backend: ${backend}`), 'the configured ISO-TP backend ran');
        const { ts, ...intro } = run.events[0]!;
        assert.equal(typeof ts, 'string');
        assert.deepEqual(intro, {
          type: 'quick-flash',
          image: fw,
          sha256: sha256(img),
          sizeInBytes: img.length,
          protocol: 'uds',
          handler: 'sensor-proxy/uds:1',
          targets: [{ componentId: `${IFACE}-7e0`, target: `${IFACE} 7e0/7e8` }],
        });
        assert.ok(
          run.events.some((e) => e.type === 'step.phase' && e.componentId === `${IFACE}-7e0` && e.phase === 'transfer'),
          'phase events of the component',
        );
        const r = resultLine(run);
        assert.equal(r.succeeded, true, JSON.stringify(r.lastInstallResult));
        assert.deepEqual(r.targets, [
          { componentId: `${IFACE}-7e0`, target: `${IFACE} 7e0/7e8`, versionBefore: '1.0.0', versionAfter: '2.0.0' },
        ]);
        assert.equal(r.components[0].outcome, 'installed');
        assertFlashed(ecu, img, '2.0.0');
        assert.ok(requestsOf(ecu).includes('36'), 'TransferData reached the ECU');
      } finally {
        await dump.stop();
        await ecu.stop();
        await box.cleanup();
      }
    },
  );

  test(
    `[${backend}] two ECUs in one command (--can vcan0:7E0:7E8 --can vcan0:7E1:7E9) flash in parallel`,
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      if (!(await rigReady(t))) return;
      const box = await sandbox(backend);
      const a = await startKernelEcu(['--iface', IFACE, '--version', '1.0.0'], scaled(10_000));
      const b = await startKernelEcu(
        ['--iface', IFACE, '--rx', '0x7E1', '--tx', '0x7E9', '--version', '1.1.0'],
        scaled(10_000),
      );
      try {
        const fw = join(box.dir, 'fw.bin');
        const img = await writeFirmwareImage(fw, 32 * KiB, '3.0.0', 11);
        const run = await cli([
          'flash',
          fw,
          '--can',
          `${IFACE}:7E0:7E8`,
          '--can',
          `${IFACE}:7E1:7E9`,
          '--version',
          '3.0.0',
          '--json',
          '--config',
          box.config,
        ]);
        assert.equal(run.code, 0, run.stdout + run.stderr);
        const r = resultLine(run);
        assert.deepEqual(
          r.targets.map((x: Record<string, unknown>) => [x.target, x.versionBefore, x.versionAfter]),
          [
            [`${IFACE} 7e0/7e8`, '1.0.0', '3.0.0'],
            [`${IFACE} 7e1/7e9`, '1.1.0', '3.0.0'],
          ],
        );
        assertOverlap(run, `${IFACE}-7e0`, `${IFACE}-7e1`);
        assertFlashed(a, img, '3.0.0');
        assertFlashed(b, img, '3.0.0');
      } finally {
        await a.stop();
        await b.stop();
        await box.cleanup();
      }
    },
  );
}
