/**
 * The serial enumerator against real ports: `path` rules on socat ptys (which have no sysfs
 * device), identity read through the real `serialport` package from the YMODEM bootloader
 * simulator and the SMP device simulator; then the YMODEM handler flashes the component the
 * enumerator produced, using the version query the rule put in its properties.
 * Without socat the suite is skipped, except in CI.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { builtinEnumerators } from '../../enumerators/builtin-enumerators.js';
import { ResultCode } from '../../src/model/result-codes.js';
import { resolveYmodemHandlerConfig } from '../../src/handlers/ymodem/ymodem-config.js';
import { YmodemHandler } from '../../src/handlers/ymodem/ymodem-handler.js';
import { startSmpRig } from '../../hw-fixtures/serial/smp-rig.js';
import { buildTestImage } from '../../hw-fixtures/serial/test-image.js';
import { startYmodemRig } from '../../hw-fixtures/serial/ymodem-rig.js';
import { ptyRigSkip } from '../../hw-fixtures/serial/rig-availability.js';
import { testStepContext } from '../../hw-fixtures/handlers/step-context.js';

const skip = ptyRigSkip();
const log = pino({ level: 'silent' });

describe('serial enumerator on pty path rules', { skip }, () => {
  it(
    'identifies a YMODEM-bootloader device and an SMP device; an absent path is listed absent',
    { timeout: 30_000 },
    async () => {
      const y = await startYmodemRig({
        baudRate: 115200,
        version: '1.7.0',
        versionQuery: { request: 'ver\n', response: (v) => `firmware ${v} ok\n` },
      });
      const smp = await startSmpRig({ baudRate: 115200, primaryImage: buildTestImage('2.3.4', 4096, 1) });
      try {
        const enumerator = builtinEnumerators['serial']!(
          {
            sysfsRoot: '/nonexistent-sys',
            identifyTimeoutMs: 3000,
            rules: [
              {
                match: { path: y.port },
                protocol: 'ymodem',
                component: { group: 'ymodem-sensors', name: 'left', manufacturer: 'contoso', model: 'y-1' },
                versionQuery: { request: 'ver\n', responsePattern: 'firmware (\\S+) ok' },
              },
              { match: { path: smp.port }, protocol: 'smp', component: { group: 'smp-sensors', name: 'right' } },
              { match: { path: '/dev/pts/does-not-exist' }, protocol: 'smp', component: { group: 'none' } },
            ],
          },
          { log, baseDir: tmpdir() },
        );
        const components = await enumerator.getAllComponents();
        assert.deepEqual(
          components.map((c) => [
            c.name,
            c.group,
            c.version,
            c.properties.port,
            c.properties.protocol,
            c.properties.status,
            c.status,
          ]),
          [
            ['left', 'ymodem-sensors', '1.7.0', y.port, 'ymodem', 'ok', 'present'],
            ['right', 'smp-sensors', '2.3.4', smp.port, 'smp', 'ok', 'present'],
            ['/dev/pts/does-not-exist', 'none', undefined, '/dev/pts/does-not-exist', 'smp', 'absent', 'absent'],
          ],
        );
        assert.equal(components[0]!.id, y.port);
        assert.equal(y.sim.stats.versionQueries, 1);

        // The component drives the handler: port, baud rate and the rule's version query travel in its properties.
        const dir = await mkdtemp(join(tmpdir(), 'enum-flash-'));
        try {
          const image = Buffer.concat([randomBytes(3000), Buffer.from('VER:1.8.0\0'), randomBytes(3000)]);
          const path = join(dir, 'fw.bin');
          await writeFile(path, image);
          const handler = new YmodemHandler(
            resolveYmodemHandlerConfig({
              bootloaderEntry: { type: 'bytes', hex: '7f424f4f540d' },
              bootTimeoutMs: 3000,
              pollIntervalMs: 50,
            }),
            log,
          );
          const { ctx } = testStepContext({
            handlerId: 'sensor-proxy/ymodem:1',
            updateId: { provider: 'contoso', name: 'y', version: '1.8.0' },
            handlerProperties: { installedCriteria: '1.8.0' },
            files: [{ path, sizeInBytes: image.length }],
            workFolder: dir,
            component: components[0]!,
            log,
          });
          assert.equal((await handler.isInstalled(ctx)).resultCode, ResultCode.IsInstalledNotInstalled);
          const r = await handler.install(ctx);
          assert.equal(r.resultCode, ResultCode.InstallSuccess, r.resultDetails);
          assert.equal(y.sim.version, '1.8.0');
          const [again] = await enumerator.getAllComponents();
          assert.equal(again!.version, '1.8.0');
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      } finally {
        await y.close();
        await smp.close();
      }
    },
  );
});
