import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { IsoTpBackend } from '../../drivers/can/isotp/transport.js';
import { kernelIsoTpAvailability } from '../../drivers/can/kernel-isotp/availability.js';
import { writeFirmwareImage } from '../../hw-fixtures/can/firmware-image.js';
import { startKernelEcu } from '../../hw-fixtures/can/kernel-peer.js';
import { createUdsHandler } from '../../src/handlers/uds/uds-handler.js';
import type { StepContext } from '../../src/model/handler.js';
import { ResultCode } from '../../src/model/result-codes.js';
import { IFACE, TEST_TIMEOUT_MS, openVcan, scaled } from './vm-env.js';

/**
 * The uds handler flashes an independent ECU (hw-fixtures/can/uds_kernel_peer.py: Python's own
 * CAN_ISOTP sockets, no sensor-proxy code) on vcan with each ISO-TP backend: classic, CAN FD, 29-bit
 * ids, NRC 0x78 storms, a power loss mid-transfer, and the interface going down mid-transfer.
 */
const log = pino({ level: process.env['SP_LOG_LEVEL'] ?? 'silent' });

interface Case {
  name: string;
  ecu: string[];
  props: Record<string, unknown>;
  attempts?: number;
}
const CASES: Case[] = [
  { name: 'classic', ecu: [], props: {} },
  { name: 'CAN FD (TX_DL 64)', ecu: ['--fd'], props: { txDataLength: 64 } },
  {
    name: '29-bit ids',
    ecu: ['--rx', '0x18DA10F1', '--tx', '0x18DAF110'],
    props: { txId: '0x18DA10F1', rxId: '0x18DAF110' },
  },
  { name: 'NRC 0x78 storms', ecu: ['--pending', '5'], props: {} },
  { name: 'power loss mid-transfer', ecu: ['--power-loss-after', '5'], props: {}, attempts: 2 },
];

async function rigReady(t: TestContext): Promise<boolean> {
  const bus = await openVcan(t);
  if (!bus) return false;
  await bus.close();
  const a = kernelIsoTpAvailability(IFACE);
  if (a.available) return true;
  if (process.env['CI'] === 'true') throw new Error(`kernel ISO-TP unavailable in CI: ${a.reason}`);
  t.skip(a.reason);
  return false;
}

function ctx(path: string, size: number, dir: string, props: Record<string, unknown>, version: string): StepContext {
  return {
    workflowId: 'vm',
    updateId: { provider: 'p', name: 'n', version },
    step: '0',
    handlerId: 'sensor-proxy/uds:1',
    handlerProperties: {},
    installedCriteria: version,
    files: [{ id: 'f', fileName: 'ecu.bin', path, sizeInBytes: size, hashes: {} }],
    workFolder: dir,
    component: {
      id: 'e',
      name: 'e',
      group: 'g',
      manufacturer: 'm',
      model: 'x',
      properties: { interface: IFACE, txId: '0x7E0', rxId: '0x7E8', ...props },
    },
    signal: new AbortController().signal,
    log,
    onProgress: () => {},
    onPhase: () => {},
  };
}

function handler(backend: IsoTpBackend) {
  return createUdsHandler({
    log,
    config: {
      memoryAddress: '0x08000000',
      isotp: { backend },
      p2Ms: scaled(1000),
      p2MarginMs: scaled(250),
      resetTimeoutMs: scaled(5000),
      nAsMs: scaled(1000),
      nBsMs: scaled(1000),
      nCrMs: scaled(1000),
      requestAttempts: 2,
    },
  });
}

for (const backend of ['kernel', 'user'] as const) {
  for (const c of CASES) {
    test(
      `[${backend}] flashes the independent kernel-ISO-TP ECU: ${c.name}`,
      { timeout: TEST_TIMEOUT_MS },
      async (t) => {
        if (!(await rigReady(t))) return;
        const ecu = await startKernelEcu([...c.ecu, '--iface', IFACE], scaled(10_000));
        const dir = await mkdtemp(join(tmpdir(), 'uds-kecu-'));
        try {
          const path = join(dir, 'ecu.bin');
          const img = await writeFirmwareImage(path, 64 * 1024, '2.0.0');
          const r = await handler(backend).install(ctx(path, img.length, dir, c.props, '2.0.0'));
          assert.equal(r.resultCode, ResultCode.InstallSuccess, r.resultDetails);
          assert.ok(
            ecu.lines.includes(`flashed 2.0.0 ${img.length}`),
            `the ECU checked the image: ${ecu.lines.join(' | ')}`,
          );
          if (c.attempts) assert.ok(ecu.lines.includes('power loss'), 'the ECU lost power once');
        } finally {
          await ecu.stop();
          await rm(dir, { recursive: true, force: true });
        }
      },
    );
  }

  test(
    `[${backend}] the interface goes down mid-transfer: a named error, then the step succeeds again`,
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      if (!(await rigReady(t))) return;
      if (process.getuid?.() !== 0) return t.skip('needs root for ip link');
      const ecu = await startKernelEcu(['--iface', IFACE], scaled(10_000));
      const dir = await mkdtemp(join(tmpdir(), 'uds-kdown-'));
      try {
        const path = join(dir, 'ecu.bin');
        const img = await writeFirmwareImage(path, 256 * 1024, '3.0.0');
        const c = ctx(path, img.length, dir, {}, '3.0.0');
        let downed = false;
        const r = await handler(backend).install({
          ...c,
          onProgress: (p) => {
            if (!downed && p.bytesDone > 32 * 1024) {
              downed = true;
              execFileSync('ip', ['link', 'set', IFACE, 'down']);
            }
          },
        });
        execFileSync('ip', ['link', 'set', IFACE, 'up']);
        assert.ok(downed, 'the interface was taken down during the download');
        assert.equal(r.resultCode, ResultCode.Failure);
        t.diagnostic(`${backend}: ${r.resultDetails}`);
        assert.match(r.resultDetails ?? '', /CAN_NETDOWN|CAN_CLOSED|CAN_TX|ISOTP_TIMEOUT|UDS_TIMEOUT/, 'a named error');
        if (backend === 'kernel') assert.match(r.resultDetails ?? '', /CAN_NETDOWN/);
        const again = await handler(backend).install(c);
        assert.equal(again.resultCode, ResultCode.InstallSuccess, `resumed: ${again.resultDetails}`);
      } finally {
        execFileSync('ip', ['link', 'set', IFACE, 'up']);
        await ecu.stop();
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
}
