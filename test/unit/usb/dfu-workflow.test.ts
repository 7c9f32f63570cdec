import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { flashCommand } from '../../../src/cli/flash-command.js';
import { ExitCode } from '../../../src/cli/output.js';
import { writeImportManifest } from '../../../hw-fixtures/updates/import-manifest-builder.js';
import { attachDemoDfuSensors, writeDemoDfuFirmware } from '../../../hw-fixtures/usb/demo-dfu.js';

describe('sensor-proxy flash with a DFU child update (in-process USB bus)', { timeout: 60_000 }, () => {
  it('enumerates the DFU sensors, flashes each through sensor-proxy/dfu:1, then finds them installed', async () => {
    const root = await mkdtemp(join(tmpdir(), 'dfu-flow-'));
    const prevState = process.env.SENSOR_PROXY_STATE_DIR;
    process.env.SENSOR_PROXY_STATE_DIR = join(root, 'state');
    try {
      const sensors = attachDemoDfuSensors({ memoryBus: 'unit-dfu-flow', count: 2, version: 0x0100 });
      const updates = join(root, 'updates');
      await writeDemoDfuFirmware(updates, 'sensor-2.01.dfu', 0x0201);
      const child = { provider: 'contoso', name: 'dfu-sensor', version: '2.01' };
      await writeImportManifest(updates, 'child.importmanifest.json', {
        updateId: child,
        isDeployable: false,
        compatibility: [{ group: sensors.group }],
        steps: [
          {
            description: 'DFU sensor firmware',
            handler: 'sensor-proxy/dfu:1',
            files: ['sensor-2.01.dfu'],
            handlerProperties: { installedCriteria: '2.01', requireSuffix: true },
          },
        ],
      });
      const parent = await writeImportManifest(updates, 'parent.importmanifest.json', {
        updateId: { provider: 'contoso', name: 'gw', version: '1.0' },
        compatibility: [{ manufacturer: 'contoso', model: 'gw' }],
        steps: [{ type: 'reference', description: 'DFU sensors', updateId: child }],
      });
      const config = join(root, 'gateway.json');
      await writeFile(
        config,
        JSON.stringify({
          stateDir: join(root, 'state'),
          logLevel: 'silent',
          enumerators: [sensors.enumerator],
          handlers: { 'sensor-proxy/dfu:1': sensors.handlerConfig },
        }),
      );
      // Human output goes to stderr, so the test runner's stdout stays clean.
      const opts = {
        manifest: parent,
        config,
        inventories: [],
        components: [],
        dryRun: false,
        json: false,
        log: () => pino({ level: 'silent' }),
      };
      assert.equal(await flashCommand(opts, new AbortController().signal), ExitCode.Success);
      assert.equal(await flashCommand(opts, new AbortController().signal), ExitCode.Success);
      for (const d of sensors.devices) {
        assert.equal(d.model.version, 0x0201);
        assert.equal(d.model.stats.manifests, 1, 'flashed once: the second run finds it installed');
        assert.equal(d.model.mode, 'runtime');
      }
    } finally {
      if (prevState === undefined) delete process.env.SENSOR_PROXY_STATE_DIR;
      else process.env.SENSOR_PROXY_STATE_DIR = prevState;
      await rm(root, { recursive: true, force: true });
    }
  });
});
