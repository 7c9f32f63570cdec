import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { aptRigUnavailable, startAptRig, type AptRig } from '../../hw-fixtures/apt/apt-rig.js';
import { testStepContext } from '../../hw-fixtures/handlers/step-context.js';
import { createAptHandler, type AptHandler } from '../../src/handlers/apt/apt-handler.js';
import { ResultCode } from '../../src/model/result-codes.js';

const why = aptRigUnavailable();
if (why && process.env.CI === 'true') throw new Error(`apt rig unavailable in CI: ${why}`);

describe(
  'microsoft/apt:1 against real apt-get/dpkg in a throwaway bookworm root',
  { skip: why, timeout: 1_800_000 },
  () => {
    let rig: AptRig;
    let dir: string;
    let handler: AptHandler;
    before(async () => {
      rig = await startAptRig();
      dir = await mkdtemp(join(tmpdir(), 'sp-apt-step-'));
      await rig.addPackage('sp-hello', '1.0');
      await rig.addPackage('sp-hello', '2.0', { postinst: 'echo configured > /usr/share/sp-hello/postinst-ran' });
      await rig.addPackage('sensor-proxy', '9.9');
      handler = createAptHandler({
        log: pino({ level: 'silent' }),
        config: { aptGet: rig.aptGet, installedCriteriaFile: join(dir, 'installedcriteria') },
      });
    });
    after(async () => {
      await rig?.dispose();
    });

    async function step(manifest: unknown, installedCriteria?: string) {
      const path = join(dir, `apt-${Math.random().toString(16).slice(2)}.json`);
      await writeFile(path, typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
      return testStepContext({
        handlerId: 'microsoft/apt:1',
        handlerProperties: installedCriteria === undefined ? {} : { installedCriteria },
        files: [{ path }],
        workFolder: dir,
      }).ctx;
    }

    it('download (--download-only) → install → apply records installedCriteria; IsInstalled then answers 900', async () => {
      const ctx = await step(
        { name: 'hello', version: '1.0', packages: [{ name: 'sp-hello', version: '1.0' }] },
        'hello-1.0',
      );
      assert.equal((await handler.isInstalled(ctx)).resultCode, ResultCode.IsInstalledNotInstalled);
      assert.equal((await handler.download(ctx)).resultCode, ResultCode.DownloadSuccess);
      assert.deepEqual(await rig.cachedDebs(), ['sp-hello_1.0_all.deb'], 'downloaded into the apt cache');
      assert.equal(await rig.installedVersion('sp-hello'), undefined, 'download installs nothing');
      assert.equal((await handler.install(ctx)).resultCode, ResultCode.InstallSuccess);
      assert.equal(await rig.installedVersion('sp-hello'), '1.0');
      assert.equal((await handler.apply(ctx)).resultCode, ResultCode.ApplySuccess);
      assert.equal((await handler.isInstalled(ctx)).resultCode, ResultCode.IsInstalledInstalled);
      const recorded = JSON.parse(await readFile(join(dir, 'installedcriteria'), 'utf8'));
      assert.deepEqual(
        recorded.map((e: Record<string, unknown>) => [e.installedCriteria, e.state]),
        [['hello-1.0', 'installed']],
      );
    });

    it('a version upgrade runs the package maintainer script; a pinned downgrade is allowed', async () => {
      const up = await step(
        { name: 'hello', version: '2.0', packages: [{ name: 'sp-hello', version: '2.0' }] },
        'hello-2.0',
      );
      assert.equal((await handler.download(up)).resultCode, ResultCode.DownloadSuccess);
      assert.equal((await handler.install(up)).resultCode, ResultCode.InstallSuccess);
      assert.equal(await rig.installedVersion('sp-hello'), '2.0');
      assert.equal(await readFile(join(rig.root, 'usr/share/sp-hello/postinst-ran'), 'utf8'), 'configured\n');
      const down = await step(
        { name: 'hello', version: '1.0b', packages: [{ name: 'sp-hello', version: '1.0' }] },
        'hello-1.0b',
      );
      assert.equal((await handler.install(down)).resultCode, ResultCode.InstallSuccess);
      assert.equal(await rig.installedVersion('sp-hello'), '1.0');
    });

    it("an unknown package fails download with ADU ERC 0x30200100 and apt-get's reason", async () => {
      const ctx = await step({ name: 'x', version: '1', packages: [{ name: 'sp-not-there' }] }, 'x-1');
      const r = await handler.download(ctx);
      assert.equal(r.resultCode, ResultCode.Failure);
      assert.equal(r.extendedResultCode, 0x30200100);
      assert.match(r.resultDetails ?? '', /Unable to locate package sp-not-there/);
      const i = await handler.install(ctx);
      assert.equal(i.extendedResultCode, 0x30200200);
    });

    it('installing the sensor-proxy package asks for an immediate agent restart (707) after recording the criteria', async () => {
      const ctx = await step(
        { name: 'gw', version: '9.9', packages: [{ name: 'sensor-proxy', version: '9.9' }] },
        'gw-9.9',
      );
      assert.equal((await handler.download(ctx)).resultCode, ResultCode.DownloadSuccess);
      assert.equal((await handler.install(ctx)).resultCode, ResultCode.InstallSuccess);
      assert.equal(await rig.installedVersion('sensor-proxy'), '9.9');
      assert.equal((await handler.apply(ctx)).resultCode, ResultCode.ApplyRequiredImmediateAgentRestart);
      assert.equal((await handler.isInstalled(ctx)).resultCode, ResultCode.IsInstalledInstalled);
    });

    it('bad input fails before apt runs, with ADU ERCs', async () => {
      const noIc = await step({ name: 'x', version: '1', packages: [{ name: 'sp-hello' }] });
      assert.equal((await handler.download(noIc)).extendedResultCode, 0x30200007);
      assert.equal((await handler.download(await step('{nope', 'x'))).extendedResultCode, 0x30000068);
      assert.equal(
        (await handler.download(await step({ version: '1', packages: [] }, 'x'))).extendedResultCode,
        0x30000068,
      );
      const optionLike = await step({ name: 'x', version: '1', packages: [{ name: '-o=APT::x' }] }, 'x');
      assert.equal((await handler.download(optionLike)).extendedResultCode, 0x30200002);
      const twoFiles = await step({ name: 'x', version: '1', packages: [{ name: 'sp-hello' }] }, 'x');
      twoFiles.files.push({ ...twoFiles.files[0]!, id: 'f1' });
      assert.equal((await handler.download(twoFiles)).extendedResultCode, 0x30200004);
    });
  },
);
