/**
 * Parallel flashing on real ptys: one child update selects two SMP sensors, each on its own socat
 * pty pair with the SMP simulator, flashed through the real `serialport` package by the real
 * `sensor-proxy/smp:1` handler via the workflow engine. The engine's events show the two installs
 * overlapping (each started before the other finished); both devices end up running the new image.
 */
import { strict as assert } from 'node:assert';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { engineHarness } from '../../hw-fixtures/updates/engine-fixture.js';
import { writeImportManifest } from '../../hw-fixtures/updates/import-manifest-builder.js';
import { startSmpRig, type SmpRig } from '../../hw-fixtures/serial/smp-rig.js';
import { buildTestImage } from '../../hw-fixtures/serial/test-image.js';
import { ptyRigSkip } from '../../hw-fixtures/serial/rig-availability.js';
import { resolveSmpHandlerConfig } from '../../src/handlers/smp/smp-config.js';
import { SmpHandler } from '../../src/handlers/smp/smp-handler.js';
import type { Component } from '../../src/model/component.js';

const skip = ptyRigSkip();
const T = { timeout: 120_000 };
const IMAGE = buildTestImage('1.4.2', 48_000, 7);

describe('parallel flashing over two real pty pairs', { skip }, () => {
  const rigs: SmpRig[] = [];
  before(async () => {
    for (let i = 0; i < 2; i++) rigs.push(await startSmpRig({ baudRate: 115200, flashUsPerByte: 1, bootTimeMs: 150 }));
  });
  after(async () => {
    await Promise.all(rigs.map((r) => r.close()));
  });

  it('two SMP sensors on different ports flash at the same time, each to 1.4.2', T, async () => {
    const log = pino({ level: 'silent' });
    const handler = new SmpHandler(
      resolveSmpHandlerConfig({ responseTimeoutMs: 1000, resetTimeoutSeconds: 10, pollIntervalMs: 50 }),
      log,
    );
    const comps: Component[] = rigs.map((r, i) => ({
      id: `smp-${i}`,
      name: `smp-${i}`,
      group: 'sensors',
      manufacturer: 'contoso',
      model: 'smp-1',
      properties: { bus: 'serial', port: r.port, physicalPath: `serial:${r.port}`, baudRate: 115200 },
    }));
    const harness = await engineHarness([handler], comps);
    await writeFile(join(harness.dir, 'sensor-1.4.2.bin'), IMAGE);
    const child = { provider: 'contoso', name: 'sensor', version: '1.4.2' };
    await writeImportManifest(harness.dir, 'child.importmanifest.json', {
      updateId: child,
      isDeployable: false,
      compatibility: [{ group: 'sensors' }],
      steps: [{ handler: handler.id, files: ['sensor-1.4.2.bin'], handlerProperties: { installedCriteria: '1.4.2' } }],
    });
    const manifest = await writeImportManifest(harness.dir, 'parent.importmanifest.json', {
      updateId: { provider: 'contoso', name: 'gateway', version: '1.0' },
      compatibility: [{ manufacturer: 'contoso', model: 'gateway' }],
      steps: [{ type: 'reference', updateId: child }],
    });
    const out = await harness.run(await harness.plan(manifest));
    assert.equal(out.succeeded, true, JSON.stringify(out.lastInstallResult));
    const at = (type: string, id: string) =>
      harness.events.findIndex((e) => e.type === type && 'componentId' in e && e.componentId === id);
    // Overlap, by event order alone: each install started before the other one finished.
    assert.ok(at('step.started', 'smp-1') < at('step.finished', 'smp-0'), 'smp-1 started while smp-0 was flashing');
    assert.ok(at('step.started', 'smp-0') < at('step.finished', 'smp-1'), 'smp-0 started while smp-1 was flashing');
    // Progress events of both components interleave.
    const progress = harness.events.filter((e) => e.type === 'transfer.progress').map((e) => e.componentId);
    const firstOf1 = progress.indexOf('smp-1');
    assert.ok(firstOf1 >= 0 && progress.lastIndexOf('smp-0') > firstOf1, 'transfers interleave');
    assert.deepEqual(
      out.outcomes.map((o) => [o.componentId, o.outcome]),
      [
        ['smp-0', 'installed'],
        ['smp-1', 'installed'],
      ],
    );
  });
});
