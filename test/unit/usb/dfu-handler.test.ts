import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { getMemoryUsbBus, MemoryUsbBus } from '../../../drivers/usb/memory-usb-bus.js';
import { withDfuSuffix } from '../../../drivers/usb/dfu/dfu-suffix.js';
import type { Component } from '../../../src/model/component.js';
import { formatErc, ResultCode } from '../../../src/model/result-codes.js';
import { builtinHandlers } from '../../../src/handlers/builtin-handlers.js';
import { resolveDfuHandlerConfig } from '../../../src/handlers/dfu/dfu-config.js';
import { DfuErc } from '../../../src/handlers/dfu/dfu-erc.js';
import { DfuHandler } from '../../../src/handlers/dfu/dfu-handler.js';
import { formatBcd, sameDfuVersion } from '../../../src/handlers/dfu/dfu-version.js';
import { MemoryDfuDevice } from '../../../hw-fixtures/usb/memory-dfu-device.js';
import { testImage } from '../../../hw-fixtures/usb/memory-rig.js';
import type { DfuSimOptions } from '../../../hw-fixtures/usb/dfu-sim-options.js';
import { testStepContext } from '../../../hw-fixtures/handlers/step-context.js';

const log = pino({ level: 'silent' });

async function firmwareFile(bytes: Uint8Array): Promise<{ path: string; done: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'dfu-handler-'));
  const path = join(dir, 'fw.bin');
  await writeFile(path, bytes);
  return { path, done: () => rm(dir, { recursive: true, force: true }) };
}

function context(
  path: string | undefined,
  hp: Record<string, unknown>,
  props: Record<string, unknown>,
  signal = new AbortController().signal,
) {
  const component: Component = {
    id: 'd1',
    name: 'd1',
    group: 'dfu-sensors',
    manufacturer: 'contoso',
    model: 'dfu-1',
    properties: props,
  };
  return testStepContext({
    handlerId: 'sensor-proxy/dfu:1',
    updateId: { provider: 'contoso', name: 'dfu-sensor', version: '2.1' },
    handlerProperties: hp,
    files: path ? [{ path, fileName: 'fw.bin' }] : [],
    component,
    signal,
    log,
  });
}

/** The handler sleeps for real (its own timers), so the simulator runs on the real clock with ~0 ms flash times. */
function handlerOn(sim: Partial<DfuSimOptions>, cfg: Record<string, unknown> = {}) {
  const bus = new MemoryUsbBus();
  const device = new MemoryDfuDevice(bus, { pollTimeoutMs: 0, manifestTimeMs: 1, reenumerateDelayMs: 0, ...sim });
  const h = new DfuHandler(resolveDfuHandlerConfig({ reenumerateTimeoutMs: 2000, ...cfg }), log, () => bus);
  return { rig: { bus, device }, h };
}

describe('sensor-proxy/dfu:1 handler on the in-process device', { timeout: 30_000 }, () => {
  it('versions: bcdDevice reads as M.mm; criteria 1.02, 1.2 and 0x0102 all match', () => {
    assert.equal(formatBcd(0x0102), '1.02');
    assert.ok(sameDfuVersion('1.02', '1.2'));
    assert.ok(sameDfuVersion('1.02', '0x0102'));
    assert.ok(sameDfuVersion('1.02', 'v1.02'));
    assert.ok(!sameDfuVersion('1.02', '1.03'));
    assert.ok(!sameDfuVersion('firmware x', 'firmware y'));
  });

  it('isInstalled compares bcdDevice (or a string source) with installedCriteria', async () => {
    const { h } = handlerOn({ serialNumber: 'SN-H1', version: 0x0201 });
    const props = { serialNumber: 'SN-H1', vid: 0x1209, pid: 1 };
    assert.equal(
      (await h.isInstalled(context(undefined, { installedCriteria: '2.01' }, props).ctx)).resultCode,
      ResultCode.IsInstalledInstalled,
    );
    assert.equal(
      (await h.isInstalled(context(undefined, { installedCriteria: '2.02' }, props).ctx)).resultCode,
      ResultCode.IsInstalledNotInstalled,
    );
    const viaString = await h.isInstalled(
      context(
        undefined,
        { installedCriteria: '2.01', versionSource: 'interface', versionPattern: 'firmware (\\S+)' },
        props,
      ).ctx,
    );
    assert.equal(viaString.resultCode, ResultCode.IsInstalledInstalled, viaString.resultDetails);
    const missing = await h.isInstalled(context(undefined, {}, props).ctx);
    assert.equal(missing.extendedResultCode, DfuErc.MissingInstalledCriteria);
    const absent = await h.isInstalled(context(undefined, { installedCriteria: '2.01' }, { serialNumber: 'nope' }).ctx);
    assert.equal(absent.extendedResultCode, DfuErc.DeviceNotFound);
  });

  it('isInstalled: a device found in DFU mode is not installed', async () => {
    const { h } = handlerOn({ serialNumber: 'SN-H2', startInDfuMode: true, version: 0x0201 });
    assert.equal(
      (await h.isInstalled(context(undefined, { installedCriteria: '2.01' }, { serialNumber: 'SN-H2' }).ctx))
        .resultCode,
      ResultCode.IsInstalledNotInstalled,
    );
  });

  it('install: detach, download, verify, manifest, reset, re-enumerate, check version; progress reported', async () => {
    const { rig, h } = handlerOn({ serialNumber: 'SN-H3', manifestationTolerant: true, transferSize: 512 });
    const fw = await firmwareFile(withDfuSuffix(testImage(20_000, 0x0210), { vendorId: 0x1209, productId: 0x0001 }));
    try {
      const { ctx, progress } = context(fw.path, { installedCriteria: '2.10' }, { serialNumber: 'SN-H3' });
      const r = await h.install(ctx);
      assert.equal(r.resultCode, ResultCode.InstallSuccess, r.resultDetails);
      assert.match(r.resultDetails ?? '', /verified by UPLOAD/);
      assert.equal(rig.device.model.version, 0x0210);
      assert.equal(rig.device.model.image.length, 20_000, 'suffix stripped');
      assert.deepEqual(progress.at(-1), { bytesDone: 20_000, bytesTotal: 20_000, phase: 'verify' });
      assert.ok(progress.some((p) => p.phase === 'download'));
      assert.equal(
        (await h.isInstalled(context(undefined, { installedCriteria: '2.10' }, { serialNumber: 'SN-H3' }).ctx))
          .resultCode,
        ResultCode.IsInstalledInstalled,
      );
    } finally {
      await fw.done();
    }
  });

  it('install: wrong version after the flash is VersionMismatch; a persistent dfuERROR names its status', async () => {
    const fw = await firmwareFile(testImage(2000, 0x0300));
    try {
      const a = handlerOn({ serialNumber: 'SN-H4' });
      const r = await a.h.install(context(fw.path, { installedCriteria: '9.99' }, { serialNumber: 'SN-H4' }).ctx);
      assert.equal(formatErc(r.extendedResultCode), formatErc(DfuErc.VersionMismatch));
      const b = handlerOn(
        { serialNumber: 'SN-H5', faults: { errorAfterBlock: { block: 2, status: 'errWRITE', times: 99 } } },
        { restarts: 1 },
      );
      const e = await b.h.install(context(fw.path, { installedCriteria: '3.00' }, { serialNumber: 'SN-H5' }).ctx);
      assert.equal(e.resultCode, ResultCode.Failure);
      assert.equal(e.extendedResultCode, DfuErc.DeviceStatusError);
      assert.match(e.resultDetails ?? '', /errWRITE in dfuERROR/);
    } finally {
      await fw.done();
    }
  });

  it('install: cancel sends DFU_ABORT and returns FailureCancelled', async () => {
    const { rig, h } = handlerOn({ serialNumber: 'SN-H6', transferSize: 64 });
    const fw = await firmwareFile(testImage(64 * 200));
    const ac = new AbortController();
    try {
      const { ctx } = context(fw.path, { installedCriteria: '2.01' }, { serialNumber: 'SN-H6' }, ac.signal);
      ctx.onProgress = (p) => {
        if (p.bytesDone >= 64 * 20) ac.abort();
      };
      const r = await h.install(ctx);
      assert.equal(r.resultCode, ResultCode.FailureCancelled);
      assert.equal(rig.device.model.stats.requests.ABORT, 1);
    } finally {
      await fw.done();
    }
  });

  it('step problems: no target, bad handlerProperties, wrong file count', async () => {
    const { h } = handlerOn({ serialNumber: 'SN-H7' });
    assert.equal((await h.install(context('/nonexistent', {}, {}).ctx)).extendedResultCode, DfuErc.NoTarget);
    assert.equal(
      (await h.install(context('/nonexistent', { alt: 'x' }, { serialNumber: 'SN-H7' }).ctx)).extendedResultCode,
      DfuErc.InvalidHandlerProperties,
    );
    assert.equal(
      (await h.download(context(undefined, {}, { serialNumber: 'SN-H7' }).ctx)).extendedResultCode,
      DfuErc.WrongFileCount,
    );
    assert.throws(
      () => resolveDfuHandlerConfig({ backend: 'libusb' }),
      /backend must be one of "auto", "usbfs", "usb", "memory"/,
    );
  });

  it('is registered and reaches an in-process device through config backend "memory"', async () => {
    const bus = getMemoryUsbBus('unit-dfu-handler');
    new MemoryDfuDevice(bus, {
      serialNumber: 'SN-H8',
      version: 0x0105,
      reenumerateDelayMs: 0,
      pollTimeoutMs: 0,
      manifestTimeMs: 1,
    });
    const h = builtinHandlers['sensor-proxy/dfu:1']!({
      log,
      config: { backend: 'memory', memoryBus: 'unit-dfu-handler' },
    });
    assert.equal(h.componentAware, true);
    const r = await h.isInstalled(context(undefined, { installedCriteria: '1.05' }, { serialNumber: 'SN-H8' }).ctx);
    assert.equal(r.resultCode, ResultCode.IsInstalledInstalled, r.resultDetails);
  });
});
