/**
 * Quick flash on CAN, bad input on the real bus and our own ECU simulator: an id nobody answers is
 * refused with exit 2 naming it (after a version read, the one thing sent), two targets that are one
 * ECU (or share a response id) are refused before a frame is sent (a C `candump` logs the bus), and
 * the built CLI flashes hw-fixtures/can's simulator on vcan, its flash memory read back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { EcuSimulator } from '../../hw-fixtures/can/ecu-simulator.js';
import { writeFirmwareImage } from '../../hw-fixtures/can/firmware-image.js';
import { startKernelEcu } from '../../hw-fixtures/can/kernel-peer.js';
import {
  BACKENDS,
  KiB,
  cli,
  isFlowControl,
  requestsOf,
  rigReady,
  sandbox,
  startCandump,
} from './quick-flash-can-rig.js';
import { IFACE, TEST_TIMEOUT_MS, openVcan, scaled } from './vm-env.js';

for (const backend of BACKENDS) {
  test(
    `[${backend}] an id nobody answers: exit 2 naming the target and what to check; nothing written to the ECU that is there`,
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      if (!(await rigReady(t))) return;
      // A short P2: silence is only known once every attempt has waited it out.
      const box = await sandbox(backend, { p2Ms: scaled(200), requestAttempts: 2 });
      const ecu = await startKernelEcu(['--iface', IFACE, '--version', '1.0.0', '--trace'], scaled(10_000));
      const dump = await startCandump();
      try {
        const fw = join(box.dir, 'fw.bin');
        await writeFirmwareImage(fw, 8 * KiB, '2.0.0');
        const run = await cli([
          'flash',
          fw,
          '--can',
          `${IFACE}:7E0:7E8`,
          '--can',
          `${IFACE}:7E5:7ED`,
          '--json',
          '--config',
          box.config,
        ]);
        const frames = await dump.stop();
        assert.equal(run.code, 2, run.stdout + run.stderr);
        const err = run.events.find((e) => e.type === 'error')!;
        assert.equal(err.code, 'TARGET_NOT_FOUND');
        assert.match(String(err.message), new RegExp(`no ECU answers at ${IFACE} 7e5/7ed`));
        assert.doesNotMatch(String(err.message), /7e0\/7e8/, 'the ECU that answered is not blamed');
        assert.match(String(err.hint), new RegExp(`candump ${IFACE}`));
        assert.deepEqual([...new Set(requestsOf(ecu))], ['22'], 'the ECU that is there was only asked its version');
        assert.ok(!ecu.lines.some((l) => l.startsWith('flashed')));
        const sent = frames.filter((f) => (f.id === 0x7e0 || f.id === 0x7e5) && !isFlowControl(f));
        assert.ok(sent.length > 0, 'the version reads are on the wire');
        for (const f of sent)
          assert.match(f.data, /^0322F189/, `only ReadDataByIdentifier F189: ${f.id.toString(16)}#${f.data}`);
      } finally {
        await dump.stop();
        await ecu.stop();
        await box.cleanup();
      }
    },
  );
}

test(
  'two targets that are the same ECU (or share a response id): exit 2, not one frame on the bus',
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    if (!(await rigReady(t))) return;
    const box = await sandbox('auto');
    const ecu = await startKernelEcu(['--iface', IFACE, '--version', '1.0.0', '--trace'], scaled(10_000));
    const dump = await startCandump();
    try {
      const fw = join(box.dir, 'fw.bin');
      await writeFirmwareImage(fw, 8 * KiB, '2.0.0');
      const same = await cli([
        'flash',
        fw,
        '--can',
        `${IFACE}:7E0:7E8`,
        '--can',
        `${IFACE}:0x7e0:7E8`,
        '--config',
        box.config,
      ]);
      const shared = await cli([
        'flash',
        fw,
        '--can',
        `${IFACE}:7E0:7E8`,
        '--can',
        `${IFACE}:7E1:7E8`,
        '--json',
        '--config',
        box.config,
      ]);
      const frames = await dump.stop();
      assert.equal(same.code, 2, same.stdout + same.stderr);
      assert.match(same.stderr, new RegExp(`${IFACE} 7e0/7e8 and ${IFACE} 7e0/7e8 are the same sensor`));
      assert.equal(shared.code, 2, shared.stdout + shared.stderr);
      const err = shared.events.find((e) => e.type === 'error')!;
      assert.equal(err.code, 'TARGET_INVALID');
      assert.match(String(err.message), /share the response id 7e8/);
      assert.deepEqual(frames, [], 'nothing on the bus');
      assert.deepEqual(requestsOf(ecu), [], 'the ECU was asked nothing');
    } finally {
      await dump.stop();
      await ecu.stop();
      await box.cleanup();
    }
  },
);

test(
  'our ECU simulator: the human output shows the versions, its flash reads back as fw.bin, a second run skips (603)',
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    if (!(await rigReady(t))) return;
    const bus = (await openVcan(t))!;
    // BS 16: the simulator is JavaScript in this (slow) process; a 585-frame burst would overflow its socket.
    const sim = new EcuSimulator({
      bus,
      rxId: 0x7e2,
      txId: 0x7ea,
      identity: { version: '1.0.0' },
      isotp: { blockSize: 16, timeouts: { nAsMs: scaled(1000), nBsMs: scaled(1000), nCrMs: scaled(1000) } },
    });
    const box = await sandbox('auto');
    try {
      const fw = join(box.dir, 'fw.bin');
      const img = await writeFirmwareImage(fw, 32 * KiB, '2.1.0', 3);
      const args = [
        'flash',
        fw,
        '--can',
        `${IFACE}:7E2:7EA`,
        '--protocol',
        'uds',
        '--version',
        '2.1.0',
        '--config',
        box.config,
      ];
      const run = await cli(args);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(run.stdout, new RegExp(`${IFACE} 7e2/7ea\\s+${IFACE}-7e2\\s+1\\.0\\.0\\s+2\\.1\\.0`), run.stdout);
      assert.deepEqual(Buffer.from(sim.flash.read(0x0800_0000, img.length)), Buffer.from(img), 'flash read back');
      assert.equal(sim.services.version, '2.1.0', 'the ECU runs the new image after its reset');
      const writes = sim.requests.filter((q) => q[0] === 0x36).length;
      const again = await cli(args);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.match(again.stdout, /603/, 'already installed');
      assert.equal(sim.requests.filter((q) => q[0] === 0x36).length, writes, 'no TransferData the second time');
    } finally {
      sim.close();
      await bus.close();
      await box.cleanup();
    }
  },
);
