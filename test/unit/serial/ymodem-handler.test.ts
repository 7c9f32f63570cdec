import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Component } from '../../../src/model/component.js';
import { isSensorProxyError } from '../../../src/model/errors.js';
import { formatErc, ResultCode } from '../../../src/model/result-codes.js';
import { resolveYmodemHandlerConfig } from '../../../src/handlers/ymodem/ymodem-config.js';
import { YmodemErc } from '../../../src/handlers/ymodem/ymodem-erc.js';
import { sameVersion, YmodemHandler } from '../../../src/handlers/ymodem/ymodem-handler.js';
import { builtinHandlers } from '../../../src/handlers/builtin-handlers.js';
import { createMemoryPort } from '../../../hw-fixtures/serial/ymodem-memory-link.js';
import {
  YmodemBootloaderSim,
  type YmodemBootloaderSimOptions,
} from '../../../hw-fixtures/serial/ymodem-bootloader-sim.js';
import { testStepContext } from '../../../hw-fixtures/handlers/step-context.js';

const log = pino({ level: 'silent' });
/** Deadlines generous enough for a loaded CI machine; only the no-answer paths wait them out. */
const FAST = {
  startTimeoutMs: 1000,
  ackTimeoutMs: 2000,
  endOfBatchTimeoutMs: 500,
  bootTimeoutMs: 3000,
  pollIntervalMs: 20,
  versionQuery: { timeoutMs: 500 },
};
const SIM_TIMING = { cIntervalMs: 30, blockTimeoutMs: 500, interByteTimeoutMs: 40, bootMs: 30 };

async function firmware(
  version: string,
  size = 5000,
): Promise<{ path: string; data: Buffer; done: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ymodem-handler-'));
  const data = Buffer.concat([
    randomBytes(100),
    Buffer.from(`VER:${version}\0`),
    randomBytes(size - 110 - version.length),
  ]);
  const path = join(dir, `sensor ${version}.bin`);
  await writeFile(path, data);
  return { path, data, done: () => rm(dir, { recursive: true, force: true }) };
}

function context(
  files: { path: string; size: number }[],
  hp: Record<string, unknown>,
  props: Record<string, unknown> = { port: 'mem:port' },
  signal = new AbortController().signal,
) {
  const component: Component = {
    id: 's1',
    name: 's1',
    group: 'sensors',
    manufacturer: 'contoso',
    model: 'y-1',
    properties: props,
  };
  return testStepContext({
    handlerId: 'sensor-proxy/ymodem:1',
    updateId: { provider: 'contoso', name: 'sensor', version: '2.0.0' },
    handlerProperties: hp,
    files: files.map((f) => ({ path: f.path, sizeInBytes: f.size })),
    component,
    signal,
    log,
  });
}

async function withDevice(
  simOpts: Partial<YmodemBootloaderSimOptions>,
  body: (h: YmodemHandler, sim: YmodemBootloaderSim) => Promise<void>,
  cfg: Record<string, unknown> = FAST,
): Promise<void> {
  const port = createMemoryPort();
  const sim = new YmodemBootloaderSim({
    port: port.device,
    version: '1.0.0',
    ...simOpts,
    timing: { ...SIM_TIMING, ...simOpts.timing },
  });
  try {
    await body(new YmodemHandler(resolveYmodemHandlerConfig(cfg), log, port.open), sim);
  } finally {
    await sim.close();
  }
}

test('registered as sensor-proxy/ymodem:1, component-aware', () => {
  const h = builtinHandlers['sensor-proxy/ymodem:1']!({ log, config: {} });
  assert.equal(h.id, 'sensor-proxy/ymodem:1');
  assert.equal(h.componentAware, true);
});

test(
  'install with a DTR-pulse entry (memory link carries the lines): 901 → 600 → 900, image stored byte for byte',
  { timeout: 15_000 },
  async () => {
    const fw = await firmware('2.0.0');
    try {
      await withDevice({ entry: { type: 'dtr-pulse' } }, async (h, sim) => {
        const { ctx, progress } = context([{ path: fw.path, size: fw.data.length }], {
          installedCriteria: '2.0.0',
          bootloaderEntry: { type: 'dtr-pulse', ms: 20 },
        });
        assert.equal((await h.isInstalled(ctx)).resultCode, ResultCode.IsInstalledNotInstalled);
        assert.equal((await h.download(ctx)).resultCode, ResultCode.DownloadSuccess);
        const r = await h.install(ctx);
        assert.equal(r.resultCode, ResultCode.InstallSuccess, r.resultDetails);
        assert.deepEqual(Buffer.from(sim.image!), fw.data);
        assert.equal(sim.fileName, 'sensor_2.0.0.bin', 'spaces are not allowed in block 0');
        assert.equal(sim.version, '2.0.0');
        assert.equal(sim.stats.entries, 1);
        assert.equal(progress.at(-1)?.bytesDone, fw.data.length);
        assert.ok(progress.every((p) => p.phase === 'transfer' && p.bytesTotal === fw.data.length));
        const after = await h.isInstalled(ctx);
        assert.equal(after.resultCode, ResultCode.IsInstalledInstalled, after.resultDetails);
      });
    } finally {
      await fw.done();
    }
  },
);

test('magic-bytes entry from handlerProperties hex', { timeout: 15_000 }, async () => {
  const fw = await firmware('2.1.0');
  try {
    await withDevice({ entry: { type: 'bytes', bytes: Buffer.from('!BL\n') } }, async (h, sim) => {
      const { ctx } = context([{ path: fw.path, size: fw.data.length }], {
        installedCriteria: '2.1.0',
        bootloaderEntry: { type: 'bytes', hex: Buffer.from('!BL\n').toString('hex') },
      });
      const r = await h.install(ctx);
      assert.equal(r.resultCode, ResultCode.InstallSuccess, r.resultDetails);
      assert.equal(sim.version, '2.1.0');
    });
  } finally {
    await fw.done();
  }
});

test('a bootloader that keeps the old firmware: install fails with VersionMismatch', { timeout: 15_000 }, async () => {
  const fw = await firmware('2.0.0');
  try {
    await withDevice({ entry: { type: 'dtr-pulse' }, faults: { bootFails: true } }, async (h) => {
      const r = await h.install(
        context([{ path: fw.path, size: fw.data.length }], {
          installedCriteria: '2.0.0',
          bootloaderEntry: { type: 'dtr-pulse', ms: 5 },
        }).ctx,
      );
      assert.equal(r.resultCode, ResultCode.Failure);
      assert.equal(r.extendedResultCode, YmodemErc.VersionMismatch);
      assert.match(r.resultDetails!, /runs 1\.0\.0, wanted 2\.0\.0/);
    });
  } finally {
    await fw.done();
  }
});

test(
  'an entry the device does not understand: NoBootloader, and the device stays in its application',
  { timeout: 15_000 },
  async () => {
    const fw = await firmware('2.0.0');
    try {
      await withDevice({ entry: { type: 'external' } }, async (h, sim) => {
        const r = await h.install(
          context([{ path: fw.path, size: fw.data.length }], {
            installedCriteria: '2.0.0',
            bootloaderEntry: { type: 'bytes', hex: '7f424f4f540d' },
          }).ctx,
        );
        assert.equal(r.extendedResultCode, YmodemErc.NoBootloader, r.resultDetails);
        assert.equal(formatErc(r.extendedResultCode), '32000620');
        assert.equal(sim.mode, 'app');
      });
    } finally {
      await fw.done();
    }
  },
);

test(
  'a device stuck in its bootloader (no version answer) is not installed, not a failure',
  { timeout: 15_000 },
  async () => {
    await withDevice({ startIn: 'bootloader' }, async (h) => {
      const r = await h.isInstalled(context([], { installedCriteria: '2.0.0' }).ctx);
      assert.equal(r.resultCode, ResultCode.IsInstalledNotInstalled);
      assert.match(r.resultDetails!, /no answer to the version query/);
    });
  },
);

test('step problems are failures with their own ERC, before the port is touched', async () => {
  const h = new YmodemHandler(resolveYmodemHandlerConfig({}), log, async () => assert.fail('port opened'));
  const noPort = await h.install(context([{ path: '/nonexistent', size: 1 }], {}, {}).ctx);
  assert.equal(noPort.extendedResultCode, YmodemErc.NoPort);
  const bad = await h.install(
    context([{ path: '/nonexistent', size: 1 }], { bootloaderEntry: { type: 'bytes', hex: 'xyz' } }).ctx,
  );
  assert.equal(bad.extendedResultCode, YmodemErc.InvalidHandlerProperties);
  assert.match(bad.resultDetails!, /handlerProperties\.bootloaderEntry\.hex/);
  const badBaud = await h.isInstalled(
    context([], { installedCriteria: '1' }, { port: '/dev/x', baudRate: 'fast' }).ctx,
  );
  assert.match(badBaud.resultDetails!, /component\.properties\.baudRate/);
  assert.equal((await h.isInstalled(context([], {}).ctx)).extendedResultCode, YmodemErc.MissingInstalledCriteria);
  assert.equal((await h.download(context([], {}).ctx)).extendedResultCode, YmodemErc.WrongFileCount);
  const noQuery = await h.isInstalled(context([], { installedCriteria: '1', versionQuery: null }).ctx);
  assert.equal(noQuery.resultCode, ResultCode.IsInstalledNotInstalled);
});

test('gateway config section: defaults merged, bad fields named in CONFIG_INVALID', () => {
  const cfg = resolveYmodemHandlerConfig({
    baudRate: '921600',
    versionQuery: { request: 'ver\r' },
    resetAfter: { type: 'dtr-pulse' },
  });
  assert.equal(cfg.baudRate, 921600);
  assert.equal(cfg.versionQuery?.request, 'ver\r');
  assert.equal(String(cfg.versionQuery?.responsePattern), String(/v(\d+\.\d+\.\d+)/));
  assert.deepEqual(cfg.resetAfter, { type: 'dtr-pulse', ms: 100, line: 'dtr' });
  for (const [raw, field] of [
    [{ blockSize: 512 }, 'blockSize'],
    [{ versionQuery: { responsePattern: '(' } }, 'versionQuery.responsePattern'],
    [{ bootloaderEntry: { type: 'magic' } }, 'bootloaderEntry.type'],
    [{ maxRetries: -1 }, 'maxRetries'],
  ] as const) {
    assert.throws(
      () => resolveYmodemHandlerConfig(raw),
      (e) => isSensorProxyError(e, 'CONFIG_INVALID') && e.details['field'] === field,
      field,
    );
  }
});

test('version comparison ignores a leading v and surrounding space only', () => {
  assert.ok(sameVersion('v1.2.3', '1.2.3'));
  assert.ok(sameVersion(' 1.2.3\r', '1.2.3'));
  assert.ok(!sameVersion('1.2.30', '1.2.3'));
});
