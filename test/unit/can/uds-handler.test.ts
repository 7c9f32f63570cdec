import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { MemoryCanNetwork } from '../../../drivers/can/memory-bus.js';
import { EcuSimulator } from '../../../hw-fixtures/can/ecu-simulator.js';
import { writeFirmwareImage } from '../../../hw-fixtures/can/firmware-image.js';
import { VirtualClock } from '../../../hw-fixtures/can/virtual-clock.js';
import { builtinHandlers } from '../../../src/handlers/builtin-handlers.js';
import { createUdsHandler, UDS_HANDLER_ID } from '../../../src/handlers/uds/uds-handler.js';
import { nrcErc, UdsErc } from '../../../src/handlers/uds/uds-erc.js';
import type { StepContext } from '../../../src/model/handler.js';
import type { TransferProgress } from '../../../src/model/events.js';
import { ResultCode } from '../../../src/model/result-codes.js';

const log = pino({ level: 'silent' });
let n = 0;

async function setup(simVersion = '1.0.0') {
  const name = `uds-handler-${++n}`;
  const clock = new VirtualClock();
  const sim = new EcuSimulator({
    bus: MemoryCanNetwork.named(name).join(),
    rxId: 0x7e0,
    txId: 0x7e8,
    clock,
    identity: { version: simVersion },
  });
  const dir = await mkdtemp(join(tmpdir(), 'uds-handler-'));
  const path = join(dir, 'ecu-2.0.0.bin');
  const img = await writeFirmwareImage(path, 40 * 1024, '2.0.0');
  const handler = createUdsHandler({ log, config: { memoryAddress: '0x08000000' } }, { clock });
  const progress: TransferProgress[] = [];
  const phases: string[] = [];
  const ctx = (over: Partial<StepContext> = {}): StepContext => ({
    workflowId: 'w1',
    updateId: { provider: 'contoso', name: 'ecu', version: '2.0.0' },
    step: '0',
    handlerId: UDS_HANDLER_ID,
    handlerProperties: {},
    installedCriteria: '2.0.0',
    files: [{ id: 'f', fileName: 'ecu-2.0.0.bin', path, sizeInBytes: img.length, hashes: {} }],
    workFolder: dir,
    component: {
      id: 'ecu1',
      name: 'ecu1',
      group: 'ecus',
      manufacturer: 'contoso',
      model: 'sim',
      properties: { interface: `mem:${name}`, txId: '0x7E0', rxId: '0x7E8' },
    },
    signal: new AbortController().signal,
    log,
    onProgress: (p) => progress.push(p),
    onPhase: (p) => phases.push(p),
    ...over,
  });
  return {
    sim,
    img,
    handler,
    ctx,
    progress,
    async close() {
      sim.close();
      MemoryCanNetwork.forget(name);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const T = { timeout: 30_000 };

test('is registered as a built-in, component-aware handler', () => {
  assert.ok(builtinHandlers[UDS_HANDLER_ID]);
  assert.equal(builtinHandlers[UDS_HANDLER_ID]!({ log, config: {} }).componentAware, true);
});

test('isInstalled compares DID 0xF189 with installedCriteria', T, async () => {
  const s = await setup('1.0.0');
  try {
    assert.equal((await s.handler.isInstalled(s.ctx())).resultCode, ResultCode.IsInstalledNotInstalled);
    assert.equal(
      (await s.handler.isInstalled(s.ctx({ installedCriteria: '1.0.0' }))).resultCode,
      ResultCode.IsInstalledInstalled,
    );
    assert.ok(s.sim.requests.every((r) => r[0] === 0x22 && r[1] === 0xf1 && r[2] === 0x89));
  } finally {
    await s.close();
  }
});

test('install flashes the file over mem: CAN, reports progress and leaves the ECU on the new version', T, async () => {
  const s = await setup('1.0.0');
  try {
    const r = await s.handler.install(s.ctx());
    assert.equal(r.resultCode, ResultCode.InstallSuccess, r.resultDetails);
    assert.equal(s.sim.services.version, '2.0.0');
    assert.deepEqual(Buffer.from(s.sim.flash.read(0x0800_0000, s.img.length)), Buffer.from(s.img));
    const dl = s.progress.filter((p) => p.phase === 'download');
    assert.equal(dl.at(-1)!.bytesDone, s.img.length);
    assert.ok(dl.every((p) => p.bytesTotal === s.img.length));
    assert.equal((await s.handler.isInstalled(s.ctx())).resultCode, ResultCode.IsInstalledInstalled);
  } finally {
    await s.close();
  }
});

test('a version other than installedCriteria after the reset fails with the version ERC', T, async () => {
  const s = await setup();
  try {
    const r = await s.handler.install(s.ctx({ installedCriteria: '9.9.9' }));
    assert.equal(r.resultCode, ResultCode.Failure);
    assert.equal(r.extendedResultCode, UdsErc.VersionMismatch);
    assert.match(r.resultDetails ?? '', /2\.0\.0/);
  } finally {
    await s.close();
  }
});

test('a wrong key mask gives the ERC of NRC 0x35 invalidKey', T, async () => {
  const s = await setup();
  try {
    const r = await s.handler.install(s.ctx({ handlerProperties: { keyMask: '01020304' } }));
    assert.equal(r.extendedResultCode, nrcErc(0x35));
    assert.equal(r.extendedResultCode, 0x32000735);
    assert.match(r.resultDetails ?? '', /invalidKey/);
  } finally {
    await s.close();
  }
});

test('configuration problems are reported without touching the bus', T, async () => {
  const s = await setup();
  try {
    const noAddr = await s.handler.install(s.ctx({ component: undefined }));
    assert.equal(noAddr.extendedResultCode, UdsErc.NoAddress);
    const bad = await s.handler.install(s.ctx({ handlerProperties: { padding: 'yes' } }));
    assert.equal(bad.extendedResultCode, UdsErc.InvalidHandlerProperties);
    const unknownIface = await s.handler.isInstalled(s.ctx({ handlerProperties: { interface: 'tcp:foo' } }));
    assert.equal(unknownIface.extendedResultCode, UdsErc.CanOpenFailed);
    assert.equal(s.sim.requests.length, 0);
  } finally {
    await s.close();
  }
});
