import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { scriptRig } from '../../../hw-fixtures/scripts/script-step-rig.js';
import type { ScriptRig } from '../../../hw-fixtures/scripts/script-step-rig.js';
import { builtinHandlers } from '../../../src/handlers/builtin-handlers.js';
import { resolveScriptHandlerConfig } from '../../../src/handlers/script/config.js';
import { ScriptErc } from '../../../src/handlers/script/script-erc.js';
import { createScriptHandler } from '../../../src/handlers/script/script-handler.js';
import type { Component } from '../../../src/model/component.js';
import { isSensorProxyError } from '../../../src/model/errors.js';
import { ResultCode, formatErc } from '../../../src/model/result-codes.js';

/** The handler's actions against hw-fixtures/scripts/component-installscript.sh (the Contoso demo stand-in). */

const cameraArgs =
  '--component-name --component-name-val --component-group --component-group-val --component-prop path --component-prop-val path';

function camera(path: string): Component {
  return {
    id: 'cam-1',
    name: 'front-camera',
    group: 'cameras',
    manufacturer: 'contoso',
    model: 'virtual-camera',
    version: '1.0',
    properties: { path },
  };
}

const rigs: ScriptRig[] = [];
async function newRig(): Promise<ScriptRig> {
  const r = await scriptRig();
  rigs.push(r);
  return r;
}

describe('microsoft/script:1 handler: actions against the Contoso-style script', () => {
  after(async () => {
    for (const r of rigs) await r.dispose();
  });

  it('passes the exact ADU argv to the script, for apiVersion 1.0 and 1.1', async () => {
    const r = await newRig();
    await r.place('component-installscript.sh');
    const cam = camera(join(r.dir, 'cam'));
    await mkdir(cam.properties.path as string);
    const props = {
      scriptFileName: 'component-installscript.sh',
      arguments: `--pre-install-sim-success ${cameraArgs}`,
    };
    assert.equal(
      (await r.handler.install(r.ctx(props, { component: cam, installedCriteria: '1.1' }))).resultCode,
      ResultCode.ApplySuccess,
    );
    assert.equal(
      (await r.handler.apply(r.ctx({ ...props, apiVersion: '1.1' }, { component: cam, installedCriteria: '1.1' })))
        .resultCode,
      ResultCode.ApplySuccess,
    );
    const tail = (action: string) => [
      '--work-folder',
      r.wf,
      '--result-file',
      join(r.wf, `action_${action}_aduc_result.json`),
      '--installed-criteria',
      '1.1',
    ];
    const user = [
      '--pre-install-sim-success',
      '--component-name',
      'front-camera',
      '--component-group',
      'cameras',
      '--component-prop',
      'path',
      cam.properties.path as string,
    ];
    assert.deepEqual(await r.runs(), [
      ['--action-install', ...user, ...tail('install')],
      ['--action', 'apply', ...user, ...tail('apply')],
    ]);
  });

  it('keeps a property value with spaces and shell syntax as ONE argv element (no shell)', async () => {
    const r = await newRig();
    await r.place('component-installscript.sh');
    await writeFile(join(r.wf, 'camera-firmware-1.1.json'), '{"version": "1.1"}\n');
    const path = join(r.dir, 'front camera; touch pwned $(touch pwned2)');
    await mkdir(path);
    const cam = camera(path);
    const props = {
      scriptFileName: 'component-installscript.sh',
      arguments: `--firmware-file camera-firmware-1.1.json ${cameraArgs}`,
    };
    const res = await r.handler.install(r.ctx(props, { component: cam, installedCriteria: '1.1' }));
    assert.equal(res.resultCode, ResultCode.InstallSuccess);
    const [argv] = await r.runs();
    assert.equal(argv![argv!.indexOf('path') + 1], path);
    assert.equal(await readFile(join(path, 'firmware.json'), 'utf8'), '{"version": "1.1"}\n');
    assert.equal(existsSync(join(r.wf, 'pwned')) || existsSync(join(r.wf, 'pwned2')), false);
  });

  it('runs the Contoso pre/firmware/post steps per component like the demo', async () => {
    const r = await newRig();
    await r.place('component-installscript.sh');
    await writeFile(join(r.wf, 'camera-firmware-1.1.json'), '{"version": "1.1"}\n');
    const cam = camera(join(r.dir, 'cam-1'));
    await mkdir(cam.properties.path as string);
    const step = (sim: string) =>
      r.ctx(
        { scriptFileName: 'component-installscript.sh', arguments: `${sim} ${cameraArgs}` },
        { component: cam, installedCriteria: '1.1' },
      );
    const pre = step('--pre-install-sim-success');
    const fw = step('--firmware-file camera-firmware-1.1.json');
    const post = step('--post-install-sim-success');
    assert.equal((await r.handler.isInstalled(pre)).resultCode, ResultCode.IsInstalledNotInstalled);
    assert.equal((await r.handler.install(pre)).resultCode, ResultCode.ApplySuccess);
    assert.equal((await r.handler.apply(pre)).resultCode, ResultCode.ApplySuccess);
    assert.equal((await r.handler.isInstalled(pre)).resultCode, ResultCode.IsInstalledInstalled);
    assert.equal(
      (await r.handler.isInstalled(fw)).resultCode,
      ResultCode.IsInstalledNotInstalled,
      'the pre step record must not mark the firmware installed',
    );
    assert.equal((await r.handler.install(fw)).resultCode, ResultCode.InstallSuccess);
    assert.equal((await r.handler.apply(fw)).resultCode, ResultCode.ApplySuccess);
    assert.equal(await readFile(join(cam.properties.path as string, 'firmware.json'), 'utf8'), '{"version": "1.1"}\n');
    // As in the demo, once the firmware is in, every step of this criteria reports installed.
    for (const s of [pre, fw, post])
      assert.equal((await r.handler.isInstalled(s)).resultCode, ResultCode.IsInstalledInstalled);
    assert.equal((await r.handler.install(fw)).resultCode, ResultCode.InstallSkippedUpdateAlreadyInstalled);
  });

  it('runs a host step (no component): placeholders are n/a and state goes to <wf>/../host-state', async () => {
    const r = await newRig();
    await r.place('component-installscript.sh');
    const ctx = r.ctx(
      { scriptFileName: 'component-installscript.sh', arguments: `--component-id --component-id-val ${cameraArgs}` },
      { installedCriteria: 'host-2.0' },
    );
    assert.equal((await r.handler.isInstalled(ctx)).resultCode, ResultCode.IsInstalledNotInstalled);
    assert.equal((await r.handler.install(ctx)).resultCode, ResultCode.InstallSuccess);
    assert.equal((await r.handler.isInstalled(ctx)).resultCode, ResultCode.IsInstalledInstalled);
    assert.equal(await readFile(join(r.wf, '..', 'host-state', 'installed-criteria'), 'utf8'), 'host-2.0\n');
    const [argv] = await r.runs();
    assert.deepEqual(argv!.slice(1, 10), [
      '--component-id',
      'n/a',
      '--component-name',
      'n/a',
      '--component-group',
      'n/a',
      '--component-prop',
      'path',
      'n/a',
    ]);
  });

  it('download: is-installed first; installed → 503 without --action-download, otherwise runs the download', async () => {
    const r = await newRig();
    await r.place('component-installscript.sh');
    const cam = camera(join(r.dir, 'cam'));
    await mkdir(cam.properties.path as string);
    const ctx = r.ctx(
      { scriptFileName: 'component-installscript.sh', arguments: cameraArgs },
      { component: cam, installedCriteria: '3.0' },
    );
    assert.deepEqual(await r.handler.download(ctx), {
      resultCode: ResultCode.DownloadSkippedFileExists,
      extendedResultCode: 0,
    });
    await writeFile(join(cam.properties.path as string, 'installed-criteria'), '3.0\n');
    assert.deepEqual(await r.handler.download(ctx), {
      resultCode: ResultCode.DownloadSkippedUpdateAlreadyInstalled,
      extendedResultCode: 0,
    });
    assert.deepEqual(
      (await r.runs()).map((a) => a[0]),
      ['--action-is-installed', '--action-download', '--action-is-installed'],
    );
  });

  it('download goes on when is-installed fails (offline component), as ADU does', async () => {
    const r = await newRig();
    await r.place('component-installscript.sh');
    const ctx = r.ctx(
      { scriptFileName: 'component-installscript.sh', arguments: cameraArgs },
      { component: camera(join(r.dir, 'unplugged')), installedCriteria: '1' },
    );
    const isInstalled = await r.handler.isInstalled(ctx);
    assert.deepEqual([isInstalled.resultCode, formatErc(isInstalled.extendedResultCode)], [0, '300001F6']);
    assert.equal((await r.handler.download(ctx)).resultCode, ResultCode.DownloadSkippedFileExists);
  });

  it('cancel runs the script with --action-cancel (also when the signal is already aborted) and returns its result', async () => {
    const r = await newRig();
    await r.place('component-installscript.sh');
    const ac = new AbortController();
    ac.abort();
    const props = { scriptFileName: 'component-installscript.sh', arguments: cameraArgs };
    const res = await r.handler.cancel(r.ctx(props, { installedCriteria: '1', signal: ac.signal }));
    assert.deepEqual(res, { resultCode: ResultCode.CancelSuccess, extendedResultCode: 0, resultDetails: 'cancelled' });
    await r.handler.cancel(r.ctx({ ...props, apiVersion: '1.1' }, { installedCriteria: '1' }));
    assert.deepEqual(
      (await r.runs()).map((a) => a.slice(0, 2)),
      [
        ['--action-cancel', '--component-name'],
        ['--action', 'cancel'],
      ],
    );
  });

  it('cancel: a script that exits 0 without a result file means 800; one that cannot run means 801', async () => {
    const r = await newRig();
    await r.place('scripted-step.sh');
    assert.deepEqual(await r.handler.cancel(r.ctx({ scriptFileName: 'scripted-step.sh', arguments: '--no-result' })), {
      resultCode: 800,
      extendedResultCode: 0,
    });
    const res = await r.handler.cancel(r.ctx({ scriptFileName: 'absent.sh' }));
    assert.equal(res.resultCode, ResultCode.CancelUnableToCancel);
    assert.equal(res.extendedResultCode, ScriptErc.ScriptFileNotInStep);
  });

  it('backup and restore are unsupported successes (1001 / 1101)', async () => {
    const r = await newRig();
    assert.deepEqual(await r.handler.backup(), { resultCode: 1001, extendedResultCode: 0 });
    assert.deepEqual(await r.handler.restore(), { resultCode: 1101, extendedResultCode: 0 });
  });

  it('is-installed must answer 900/901: another success becomes a failure, a failure passes through', async () => {
    const r = await newRig();
    await r.place('scripted-step.sh');
    const odd = await r.handler.isInstalled(r.ctx({ scriptFileName: 'scripted-step.sh', arguments: '--rc 600' }));
    assert.equal(odd.resultCode, ResultCode.Failure);
    assert.equal(odd.extendedResultCode, ScriptErc.IsInstalledUnexpectedResult);
    assert.match(odd.resultDetails ?? '', /900.*901.*600/);
    const failed = await r.handler.isInstalled(
      r.ctx({ scriptFileName: 'scripted-step.sh', arguments: '--rc 0 --erc 12345 --details offline' }),
    );
    assert.deepEqual(failed, { resultCode: 0, extendedResultCode: 12345, resultDetails: 'offline' });
  });

  it('is registered as microsoft/script:1 and validates its config section', () => {
    const log = pino({ level: 'silent' });
    assert.equal(builtinHandlers['microsoft/script:1'], createScriptHandler);
    const h = createScriptHandler({ log, config: {} });
    assert.deepEqual([h.id, h.componentAware], ['microsoft/script:1', true]);
    assert.throws(
      () => createScriptHandler({ log, config: { timeoutSeconds: 0 } }),
      (e: unknown) => isSensorProxyError(e, 'CONFIG_INVALID') && /timeoutSeconds/.test(e.message),
    );
    assert.throws(
      () => createScriptHandler({ log, config: { env: { A: 1 } } }),
      (e: unknown) => isSensorProxyError(e, 'CONFIG_INVALID'),
    );
    assert.deepEqual(resolveScriptHandlerConfig({}), { timeoutSeconds: 3600, killGraceMs: 5000, env: {} });
  });
});
