/**
 * `sensor-proxy/ymodem:1` end to end: the handler flashes through the real `serialport` package
 * over a socat pty pair into the YMODEM bootloader simulator (paced at a baud rate), and the
 * simulator's records say what happened. Every fault switch ends in success after retries or in
 * a clear ERC, never a hang. Without socat the suite is skipped, except in CI.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { Component } from '../../src/model/component.js';
import { Erc, ResultCode } from '../../src/model/result-codes.js';
import { resolveYmodemHandlerConfig } from '../../src/handlers/ymodem/ymodem-config.js';
import { YmodemErc } from '../../src/handlers/ymodem/ymodem-erc.js';
import { YmodemHandler } from '../../src/handlers/ymodem/ymodem-handler.js';
import { startYmodemRig, type YmodemRig, type YmodemRigOptions } from '../../hw-fixtures/serial/ymodem-rig.js';
import { ptyRigSkip } from '../../hw-fixtures/serial/rig-availability.js';
import { testStepContext } from '../../hw-fixtures/handlers/step-context.js';

const skip = ptyRigSkip();
const T = { timeout: 60_000 };
const log = pino({ level: 'silent' });
const handler = new YmodemHandler(
  resolveYmodemHandlerConfig({
    bootloaderEntry: { type: 'bytes', hex: '7f424f4f540d' },
    startTimeoutMs: 3000,
    ackTimeoutMs: 700,
    endOfBatchTimeoutMs: 500,
    maxRetries: 4,
    bootTimeoutMs: 3000,
    pollIntervalMs: 50,
    versionQuery: { timeoutMs: 1000 },
  }),
  log,
);
const SIM_TIMING = {
  cIntervalMs: 100,
  blockTimeoutMs: 2000,
  interByteTimeoutMs: 100,
  bootMs: 200,
  flashWriteMsPerBlock: 2,
};

let dir: string;
let firmware: string;
const IMAGE = Buffer.concat([randomBytes(4000), Buffer.from('VER:3.1.4\0'), randomBytes(26_000)]);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ymodem-flash-'));
  firmware = join(dir, 'sensor-3.1.4.bin');
  await writeFile(firmware, IMAGE);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function context(port: string, signal = new AbortController().signal, baudRate = 921600) {
  const component: Component = {
    id: 'y1',
    name: 'y1',
    group: 'sensors',
    manufacturer: 'contoso',
    model: 'ymodem-1',
    properties: { bus: 'serial', port, baudRate },
  };
  return testStepContext({
    handlerId: 'sensor-proxy/ymodem:1',
    updateId: { provider: 'contoso', name: 'sensor', version: '3.1.4' },
    handlerProperties: { installedCriteria: '3.1.4' },
    files: [{ path: firmware, sizeInBytes: IMAGE.length }],
    workFolder: dir,
    component,
    signal,
    log,
  });
}

async function withRig(opts: YmodemRigOptions, body: (rig: YmodemRig) => Promise<void>): Promise<void> {
  const rig = await startYmodemRig({
    baudRate: 921600,
    version: '1.0.0',
    ...opts,
    timing: { ...SIM_TIMING, ...opts.timing },
  });
  try {
    await body(rig);
  } finally {
    await rig.close();
  }
}

describe('sensor-proxy/ymodem:1 over a pty into the bootloader simulator', { skip }, () => {
  for (const baudRate of [115200, 921600]) {
    it(`flashes at ${baudRate} baud: 901 → entry → transfer → boot → 3.1.4 → 900`, T, async () => {
      await withRig({ baudRate }, async (rig) => {
        const { ctx, progress } = context(rig.port, undefined, baudRate);
        assert.equal((await handler.isInstalled(ctx)).resultCode, ResultCode.IsInstalledNotInstalled);
        assert.equal((await handler.download(ctx)).resultCode, ResultCode.DownloadSuccess);
        const r = await handler.install(ctx);
        assert.equal(r.resultCode, ResultCode.InstallSuccess, r.resultDetails);
        assert.deepEqual(Buffer.from(rig.sim.image!), IMAGE);
        assert.equal(rig.sim.version, '3.1.4');
        assert.equal(rig.sim.stats.entries, 1);
        assert.equal(progress.at(-1)?.bytesDone, IMAGE.length);
        assert.equal((await handler.isInstalled(ctx)).resultCode, ResultCode.IsInstalledInstalled);
      });
    });
  }

  it('corrupted block and dropped bytes: NAK, resend, flashed', T, async () => {
    await withRig({ faults: { corruptBlock: { block: 2 }, dropBytes: { block: 5, count: 9 } } }, async (rig) => {
      const r = await handler.install(context(rig.port).ctx);
      assert.equal(r.resultCode, ResultCode.InstallSuccess, r.resultDetails);
      assert.ok(rig.sim.transfers[0]!.stats.naks >= 3, 'two bad blocks and the first EOT');
      assert.deepEqual(Buffer.from(rig.sim.image!), IMAGE);
    });
  });

  it('a stall longer than the ACK timeout: the late ACK carries on, flashed', T, async () => {
    await withRig({ faults: { stall: { block: 3, ms: 1000 } } }, async (rig) => {
      const r = await handler.install(context(rig.port).ctx);
      assert.equal(r.resultCode, ResultCode.InstallSuccess, r.resultDetails);
      assert.equal(rig.sim.version, '3.1.4');
    });
  });

  it(
    'NAK storm beyond maxRetries: TooManyRetries, the bootloader saw the cancel and waits for a new batch',
    T,
    async () => {
      await withRig({ faults: { nakStorm: { block: 2, count: 100 } } }, async (rig) => {
        const r = await handler.install(context(rig.port).ctx);
        assert.equal(r.resultCode, ResultCode.Failure);
        assert.equal(r.extendedResultCode, YmodemErc.TooManyRetries, r.resultDetails);
        assert.equal((await rig.sim.waitForTransfer(1, 3000)).kind, 'cancelled');
        assert.equal(rig.sim.mode, 'bootloader');
      });
    },
  );

  it('device stalls for good: TransferTimeout', T, async () => {
    await withRig({ faults: { stall: { block: 4, ms: Infinity } } }, async (rig) => {
      const r = await handler.install(context(rig.port).ctx);
      assert.equal(r.extendedResultCode, YmodemErc.TransferTimeout, r.resultDetails);
    });
  });

  it('adapter unplugged mid-transfer: Disconnected', T, async () => {
    await withRig({ faults: { disappearAt: { block: 6 } } }, async (rig) => {
      const r = await handler.install(context(rig.port).ctx);
      assert.equal(r.extendedResultCode, YmodemErc.Disconnected, r.resultDetails);
    });
  });

  it('MCU gone behind a fixed UART (silence): TransferTimeout', T, async () => {
    await withRig({ disappear: 'silent', faults: { disappearAt: { block: 6 } } }, async (rig) => {
      const r = await handler.install(context(rig.port).ctx);
      assert.equal(r.extendedResultCode, YmodemErc.TransferTimeout, r.resultDetails);
    });
  });

  it('new image does not boot (old version stays): VersionMismatch', T, async () => {
    await withRig({ faults: { bootFails: true } }, async (rig) => {
      const r = await handler.install(context(rig.port).ctx);
      assert.equal(r.extendedResultCode, YmodemErc.VersionMismatch, r.resultDetails);
    });
  });

  it('checksum-mode bootloader (NAK start, 128-byte blocks only): flashed in checksum mode', T, async () => {
    // The simulator skips STX frames and rejects CRC-16 trailers in this mode, so only a sender that
    // fell back to 8-bit checksums and 128-byte blocks gets the image through.
    await withRig({ check: 'checksum', faults: { corruptBlock: { block: 3 } } }, async (rig) => {
      const { ctx, progress } = context(rig.port);
      const r = await handler.install(ctx);
      assert.equal(r.resultCode, ResultCode.InstallSuccess, r.resultDetails);
      assert.deepEqual(Buffer.from(rig.sim.image!), IMAGE);
      assert.equal(rig.sim.version, '3.1.4');
      const t = rig.sim.transfers[0]!;
      assert.equal(t.stats.blocks, Math.ceil(IMAGE.length / 128), 'one 128-byte block per 128 bytes of image');
      assert.ok(t.stats.naks >= 1, 'the corrupted block was NAKed and sent again');
      assert.equal(progress.at(-1)?.bytesDone, IMAGE.length);
    });
  });

  it('bootloader without end-of-batch handshake: flashed', T, async () => {
    await withRig({ faults: { noEndOfBatch: true, nakFirstEot: false } }, async (rig) => {
      const r = await handler.install(context(rig.port).ctx);
      assert.equal(r.resultCode, ResultCode.InstallSuccess, r.resultDetails);
    });
  });

  it('cancel mid-transfer: FailureCancelled, the bootloader saw CAN CAN', T, async () => {
    await withRig({ baudRate: 115200 }, async (rig) => {
      const ac = new AbortController();
      const { ctx } = context(rig.port, ac.signal);
      const onProgress = ctx.onProgress.bind(ctx);
      ctx.onProgress = (p) => {
        onProgress(p);
        if (p.bytesDone >= 8 * 1024) ac.abort(new Error('operator cancel'));
      };
      const r = await handler.install(ctx);
      assert.equal(r.resultCode, ResultCode.FailureCancelled);
      assert.equal(r.extendedResultCode, Erc.WorkflowCancelled);
      assert.equal((await rig.sim.waitForTransfer(1, 3000)).kind, 'cancelled');
    });
  });
});
