/**
 * `sensor-proxy/smp:1` end to end: the handler flashes through the real `serialport` package
 * over a socat pty pair into the SMP device simulator (paced at 921600 baud), and the
 * simulator's slots and records say what happened.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { Component } from '../../src/model/component.js';
import { Erc, ResultCode } from '../../src/model/result-codes.js';
import { resolveSmpHandlerConfig } from '../../src/handlers/smp/smp-config.js';
import { SmpErc } from '../../src/handlers/smp/smp-erc.js';
import { SmpHandler } from '../../src/handlers/smp/smp-handler.js';
import { startSmpRig, type SmpRig } from '../../hw-fixtures/serial/smp-rig.js';
import type { SmpDeviceSimOptions } from '../../hw-fixtures/serial/smp-device-sim.js';
import { buildTestImage } from '../../hw-fixtures/serial/test-image.js';
import { ptyRigSkip } from '../../hw-fixtures/serial/rig-availability.js';
import { testStepContext } from '../../hw-fixtures/handlers/step-context.js';

const skip = ptyRigSkip();
const T = { timeout: 60_000 };
const log = pino({ level: 'silent' });
const handler = new SmpHandler(
  resolveSmpHandlerConfig({
    responseTimeoutMs: 300,
    requestAttempts: 3,
    uploadAttempts: 3,
    resetTimeoutSeconds: 5,
    pollIntervalMs: 50,
  }),
  log,
);

let dir: string;
let firmware: string;
const IMAGE = buildTestImage('1.4.2', 24_000, 11);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smp-handler-'));
  firmware = join(dir, 'sensor-1.4.2.bin');
  await writeFile(firmware, IMAGE);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function context(port: string | undefined, hp: Record<string, unknown> = {}, signal = new AbortController().signal) {
  const component: Component = {
    id: 'sensor-1',
    name: 'sensor-1',
    group: 'sensors',
    manufacturer: 'contoso',
    model: 'smp-1',
    properties: port ? { port, baudRate: 921600 } : {},
  };
  return testStepContext({
    handlerId: 'sensor-proxy/smp:1',
    updateId: { provider: 'contoso', name: 'sensor', version: '1.4.2' },
    handlerProperties: { installedCriteria: '1.4.2', ...hp },
    files: [{ path: firmware, sizeInBytes: IMAGE.length }],
    workFolder: dir,
    component,
    signal,
    log,
  });
}

async function withRig(opts: Omit<SmpDeviceSimOptions, 'path'>, body: (rig: SmpRig) => Promise<void>): Promise<void> {
  const rig = await startSmpRig({ baudRate: 921600, flashUsPerByte: 1, bootTimeMs: 150, ...opts });
  try {
    await body(rig);
  } finally {
    await rig.close();
  }
}

describe('sensor-proxy/smp:1 over a pty into the simulator', { skip }, () => {
  it('flashes: 901 → install 600 → device runs 1.4.2 confirmed → 900', T, async () => {
    await withRig({}, async (rig) => {
      const { ctx, progress } = context(rig.port);
      assert.equal((await handler.isInstalled(ctx)).resultCode, ResultCode.IsInstalledNotInstalled);
      assert.equal((await handler.download(ctx)).resultCode, ResultCode.DownloadSuccess);
      const r = await handler.install(ctx);
      assert.equal(r.resultCode, ResultCode.InstallSuccess, r.resultDetails);
      assert.equal(rig.sim.runningVersion, '1.4.2');
      assert.equal(rig.sim.slots.primaryConfirmed, true);
      assert.deepEqual(rig.sim.slots.boots, ['swap-test']);
      assert.equal(progress.at(-1)?.bytesDone, IMAGE.length);
      assert.ok(progress.every((p) => p.phase === 'upload' && p.bytesTotal === IMAGE.length));
      assert.equal((await handler.isInstalled(ctx)).resultCode, ResultCode.IsInstalledInstalled);
    });
  });

  // Request size vs the device's SMP buffer (reference/bus-protocols.md §7): the simulator drops a
  // request longer than buf_size − 4 without answering, as Zephyr does. Before the handler asked
  // `mcumgr params`, each of these ended in SMP_TIMEOUT after 3 attempts with nothing uploaded.
  const paramsAsked = (rig: SmpRig) => rig.sim.record.requests.some((q) => q.group === 0 && q.id === 6);
  /** Largest image bytes the device took in one request (from the offsets it processed). */
  const largestStep = (offs: number[]) => Math.max(...offs.slice(1).map((o, i) => o - offs[i]!));

  it('a device with a 256-byte SMP buffer: params asked, requests fit, flashed', T, async () => {
    await withRig({ bufSize: 256 }, async (rig) => {
      const r = await handler.install(context(rig.port).ctx);
      assert.equal(r.resultCode, ResultCode.InstallSuccess, r.resultDetails);
      assert.ok(paramsAsked(rig), 'mcumgr params was asked');
      assert.deepEqual(rig.sim.record.oversize, [], 'no request was too large');
      assert.equal(rig.sim.runningVersion, '1.4.2');
    });
  });

  it('a device with a 384-byte SMP buffer and mtu 384: requests up to 380 bytes, flashed', T, async () => {
    await withRig({ bufSize: 384 }, async (rig) => {
      const r = await handler.install(context(rig.port, { mtu: 384 }).ctx);
      assert.equal(r.resultCode, ResultCode.InstallSuccess, r.resultDetails);
      assert.deepEqual(rig.sim.record.oversize, []);
      const step = largestStep(rig.sim.record.uploadOffsets);
      assert.ok(step > 300, `chunks use the 384-byte buffer (largest ${step} image bytes per request)`);
      assert.equal(rig.sim.runningVersion, '1.4.2');
    });
  });

  for (const [bufSize, mtu] of [
    [256, 512],
    [128, undefined],
  ] as const) {
    it(
      `a device silent on params with a ${bufSize}-byte buffer (mtu ${mtu ?? 'unset'}): smaller requests after timeouts, flashed`,
      T,
      async () => {
        await withRig({ bufSize, answersParams: false }, async (rig) => {
          const r = await handler.install(context(rig.port, mtu === undefined ? {} : { mtu }).ctx);
          assert.equal(r.resultCode, ResultCode.InstallSuccess, r.resultDetails);
          assert.ok(paramsAsked(rig), 'mcumgr params was asked (and not answered)');
          const dropped = rig.sim.record.oversize;
          assert.ok(dropped.length >= 3, `oversized requests went unanswered first (${dropped.join(',')})`);
          assert.ok(
            largestStep(rig.sim.record.uploadOffsets) <= bufSize - 4,
            'every request the device took fit its buffer',
          );
          assert.equal(rig.sim.runningVersion, '1.4.2');
          assert.deepEqual(Buffer.from(rig.sim.slots.primary.bytes.subarray(0, IMAGE.length)), Buffer.from(IMAGE));
        });
      },
    );
  }

  it('a device whose port vanishes on reset (USB re-enumeration) is reopened and verified', T, async () => {
    await withRig({ resetDisconnects: true, bootTimeMs: 400 }, async (rig) => {
      const r = await handler.install(context(rig.port).ctx);
      assert.equal(r.resultCode, ResultCode.InstallSuccess, r.resultDetails);
      assert.equal(rig.sim.runningVersion, '1.4.2');
      assert.equal(rig.sim.record.disappearances, 1);
    });
  });

  it('an upload interrupted at about half resumes from the device offset, not from zero', T, async () => {
    await withRig({ faults: { disappearAtOffset: IMAGE.length / 2, disappearForMs: 1500 } }, async (rig) => {
      const r = await handler.install(context(rig.port).ctx);
      assert.equal(r.resultCode, ResultCode.InstallSuccess, r.resultDetails);
      const offs = rig.sim.record.uploadOffsets;
      const restart = offs.lastIndexOf(0);
      assert.ok(restart > 0, `the handler started a second upload run: ${offs.join(',')}`);
      assert.ok(offs[restart + 1]! >= IMAGE.length / 2, `second run continued at ${offs[restart + 1]}, not near 0`);
      assert.equal(rig.sim.runningVersion, '1.4.2');
    });
  });

  it('an unconfirmed image that MCUboot reverts is a failure naming the old version', T, async () => {
    await withRig({ faults: { crashNewImage: true } }, async (rig) => {
      const r = await handler.install(context(rig.port).ctx);
      assert.equal(r.resultCode, ResultCode.Failure);
      assert.equal(r.extendedResultCode, SmpErc.DeviceReverted);
      assert.match(r.resultDetails ?? '', /device reverted to 1\.0\.0/);
      assert.equal(rig.sim.runningVersion, '1.0.0');
      assert.deepEqual(rig.sim.slots.boots, ['swap-test', 'revert']);
    });
  });

  it('abort stops the upload at a chunk boundary: -1, image neither pending nor confirmed', T, async () => {
    await withRig({ baudRate: 115200 }, async (rig) => {
      const ac = new AbortController();
      const { ctx } = context(rig.port, {}, ac.signal);
      const running = handler.install({
        ...ctx,
        onProgress: (p) => {
          if (p.bytesDone > IMAGE.length / 3) ac.abort(new Error('user cancel'));
        },
      });
      const r = await running;
      assert.equal(r.resultCode, ResultCode.FailureCancelled);
      assert.equal(r.extendedResultCode, Erc.WorkflowCancelled);
      assert.match(r.resultDetails ?? '', /not confirmed/);
      assert.equal(rig.sim.slots.pending, 'none');
      assert.equal(rig.sim.runningVersion, '1.0.0');
      assert.ok(rig.sim.slots.upload && rig.sim.slots.upload.off < IMAGE.length, 'upload left partial');
      assert.equal((await handler.cancel()).resultCode, ResultCode.CancelSuccess);
    });
  });

  for (const [name, faults] of [
    ['corrupted responses', { corruptResponses: 2 }],
    ['dropped bytes', { dropResponseBytes: 7 }],
    ['a stall', { stallMs: 450 }],
    ['a reboot mid-upload', { rebootAtOffset: 9_000 }],
    ['the port disappearing mid-upload', { disappearAtOffset: 5_000, disappearForMs: 300 }],
  ] as const) {
    it(`fault "${name}" ends in success after a retry`, T, async () => {
      await withRig({ faults: { ...faults } }, async (rig) => {
        const r = await handler.install(context(rig.port).ctx);
        assert.equal(r.resultCode, ResultCode.InstallSuccess, r.resultDetails);
        assert.equal(rig.sim.runningVersion, '1.4.2');
      });
    });
  }

  it('more corrupted responses than request attempts is a clear NoResponse failure', T, async () => {
    await withRig({ faults: { corruptResponses: 3 } }, async (rig) => {
      const r = await handler.install(context(rig.port).ctx);
      assert.equal(r.resultCode, ResultCode.Failure);
      assert.equal(r.extendedResultCode, SmpErc.NoResponse);
      assert.match(r.resultDetails ?? '', /SMP_TIMEOUT/);
      assert.equal(rig.sim.runningVersion, '1.0.0');
    });
  });

  it('a device that never answers is a clear failure (no response), not 901', T, async () => {
    await withRig({ faults: { stallMs: 60_000 } }, async (rig) => {
      const r = await handler.isInstalled(context(rig.port).ctx);
      assert.equal(r.resultCode, ResultCode.Failure);
      assert.equal(r.extendedResultCode, SmpErc.NoResponse);
    });
  });
});

describe('sensor-proxy/smp:1 without a device', () => {
  it('an absent port is a failure with PortOpenFailed, not 901', T, async () => {
    const r = await handler.isInstalled(context('/dev/does-not-exist-smp').ctx);
    assert.equal(r.resultCode, ResultCode.Failure);
    assert.equal(r.extendedResultCode, SmpErc.PortOpenFailed);
    assert.match(r.resultDetails ?? '', /SERIAL_OPEN_FAILED/);
  });

  it('no port anywhere, bad handlerProperties, missing installedCriteria, wrong file count', T, async () => {
    assert.equal((await handler.isInstalled(context(undefined).ctx)).extendedResultCode, SmpErc.NoPort);
    assert.equal(
      (await handler.install(context('/dev/x', { mtu: 10 }).ctx)).extendedResultCode,
      SmpErc.InvalidHandlerProperties,
    );
    const noCriteria = context('/dev/x').ctx;
    assert.equal(
      (await handler.isInstalled({ ...noCriteria, installedCriteria: undefined })).extendedResultCode,
      SmpErc.MissingInstalledCriteria,
    );
    assert.equal((await handler.download({ ...noCriteria, files: [] })).extendedResultCode, SmpErc.WrongFileCount);
  });
});
