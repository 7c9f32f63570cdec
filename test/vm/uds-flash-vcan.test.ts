import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { FileImageSource } from '../../drivers/shared/image-source.js';
import { flashUds } from '../../drivers/can/uds/flash-session.js';
import { crc32 } from '../../drivers/can/uds/crc32.js';
import { systemClock } from '../../drivers/can/clock.js';
import { writeFirmwareImage } from '../../hw-fixtures/can/firmware-image.js';
import { makeUdsRig, xorKey } from '../../hw-fixtures/can/uds-rig.js';
import { createUdsHandler } from '../../src/handlers/uds/uds-handler.js';
import { ResultCode } from '../../src/model/result-codes.js';
import { IFACE, TEST_TIMEOUT_MS, openVcan, scaled } from './vm-env.js';

const log = pino({ level: process.env['SP_LOG_LEVEL'] ?? 'silent' });
const isotpTimeouts = { nAsMs: scaled(1000), nBsMs: scaled(1000), nCrMs: scaled(1000) };
/**
 * The simulated ECU paces the tester with BS 16: both ends live in one node process here, and a
 * 585-frame block sent back-to-back (BS 0) overflows the receiving CAN_RAW socket's buffer while
 * JavaScript is busy (frames dropped by the kernel, wrong SN) — exactly why real ECUs announce a BS.
 */
const ecuIsoTp = { timeouts: isotpTimeouts, blockSize: 16 };

test(
  'full flash of a 256 KiB image into the simulator through SocketCanBus on vcan, version read back',
  { timeout: TEST_TIMEOUT_MS * 2 },
  async (t) => {
    const tester = await openVcan(t);
    if (!tester) return;
    const ecu = await openVcan(t);
    const dir = await mkdtemp(join(tmpdir(), 'uds-vcan-'));
    const rig = makeUdsRig({
      clock: systemClock,
      buses: { tester, ecu: ecu! },
      isotp: { timeouts: isotpTimeouts },
      sim: { identity: { version: '1.0.0' }, isotp: ecuIsoTp },
      client: { timeouts: { p2Ms: scaled(1000), p2StarMs: scaled(5000), marginMs: scaled(250) } },
      log,
    });
    try {
      const path = join(dir, 'ecu.bin');
      const img = await writeFirmwareImage(path, 256 * 1024, '2.0.0');
      const source = await FileImageSource.open(path);
      const started = performance.now();
      const r = await flashUds({
        client: rig.client,
        image: source,
        memory: { address: 0x0800_0000 },
        security: { level: 1, keyFunction: xorKey() },
        expectedVersion: '2.0.0',
        resetTimeoutMs: scaled(5000),
        log,
      }).finally(() => source.close());
      const s = (performance.now() - started) / 1000;
      t.diagnostic(
        `256 KiB over vcan in ${s.toFixed(1)} s (${(img.length / 1024 / s).toFixed(1)} KiB/s, ${r.blocks} blocks, attempt ${r.attempts})`,
      );
      assert.equal(r.version, '2.0.0');
      assert.equal(r.crc32, crc32(img));
      assert.deepEqual(
        Buffer.from(rig.sim.flash.read(0x0800_0000, img.length)),
        Buffer.from(img),
        'the simulator flash holds the image',
      );
      assert.equal(rig.sim.services.version, '2.0.0', 'the ECU runs the new image after its reset');
    } finally {
      await rig.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
);

test(
  'the uds handler flashes through a real interface name (SocketCAN opened by the handler)',
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    const ecuBus = await openVcan(t);
    if (!ecuBus) return;
    const dir = await mkdtemp(join(tmpdir(), 'uds-vcan-h-'));
    const rig = makeUdsRig({
      clock: systemClock,
      buses: { tester: (await openVcan(t))!, ecu: ecuBus },
      isotp: { txId: 0x7e2, rxId: 0x7ea },
      sim: { identity: { version: '1.0.0' }, isotp: ecuIsoTp },
    });
    try {
      const path = join(dir, 'ecu.bin');
      const img = await writeFirmwareImage(path, 16 * 1024, '1.5.0');
      const handler = createUdsHandler({
        log,
        config: {
          memoryAddress: '0x08000000',
          p2Ms: scaled(1000),
          p2MarginMs: scaled(250),
          nAsMs: scaled(1000),
          nBsMs: scaled(1000),
          nCrMs: scaled(1000),
          resetTimeoutMs: scaled(5000),
        },
      });
      const r = await handler.install({
        workflowId: 'vm',
        updateId: { provider: 'p', name: 'n', version: '1.5.0' },
        step: '0',
        handlerId: 'sensor-proxy/uds:1',
        handlerProperties: {},
        installedCriteria: '1.5.0',
        files: [{ id: 'f', fileName: 'ecu.bin', path, sizeInBytes: img.length, hashes: {} }],
        workFolder: dir,
        component: {
          id: 'e',
          name: 'e',
          group: 'g',
          manufacturer: 'm',
          model: 'x',
          properties: { interface: IFACE, txId: '0x7E2', rxId: '0x7EA' },
        },
        signal: new AbortController().signal,
        log,
        onProgress: () => {},
        onPhase: () => {},
      });
      assert.equal(r.resultCode, ResultCode.InstallSuccess, r.resultDetails);
      assert.equal(rig.sim.services.version, '1.5.0');
    } finally {
      await rig.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
);
