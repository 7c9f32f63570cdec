import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { builtinHandlers } from '../../../src/handlers/builtin-handlers.js';
import { resolveScriptHandlerConfig } from '../../../src/handlers/script/config.js';
import { ScriptErc } from '../../../src/handlers/script/script-erc.js';
import { ScriptHandler, createScriptHandler } from '../../../src/handlers/script/script-handler.js';
import type { Component } from '../../../src/model/component.js';
import { isSensorProxyError } from '../../../src/model/errors.js';
import type { StepContext, StepFile } from '../../../src/model/handler.js';
import { Erc, ResultCode, formatErc } from '../../../src/model/result-codes.js';

/** Repository root, from the source (test/unit/handlers) or the compiled (dist/test/unit/handlers) test. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'hw-fixtures', 'scripts', 'component-installscript.sh'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('hw-fixtures/scripts not found above the test file');
    dir = up;
  }
  return dir;
}
const SCRIPTS = join(repoRoot(), 'hw-fixtures', 'scripts');

interface Rig {
  dir: string;
  wf: string;
  scriptLog: string;
  logs: Record<string, unknown>[];
  handler: ScriptHandler;
  /** Copies a fixture script into the work folder as `asName`, mode 0644 (the engine does not chmod). */
  place(fixture: string, asName?: string): Promise<StepFile>;
  ctx(props: Record<string, unknown>, opts?: { files?: StepFile[]; component?: Component; installedCriteria?: string; signal?: AbortSignal }): StepContext;
  /** argv of every script run so far, as the scripts logged them. */
  runs(): Promise<string[][]>;
}

let counter = 0;
async function rig(): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'script-handler-'));
  const wf = join(dir, 'downloads', 'wf', String(counter++));
  await mkdir(wf, { recursive: true });
  const scriptLog = join(dir, 'script-argv.log');
  const logs: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const handler = new ScriptHandler({ log, ...resolveScriptHandlerConfig({ env: { SENSOR_PROXY_SCRIPT_LOG: scriptLog } }) });
  const files: StepFile[] = [];
  return {
    dir,
    wf,
    scriptLog,
    logs,
    handler,
    async place(fixture, asName = fixture) {
      const path = join(wf, asName);
      await copyFile(join(SCRIPTS, fixture), path);
      await chmod(path, 0o644);
      const f: StepFile = { id: `f${files.length}`, fileName: asName, path, sizeInBytes: (await stat(path)).size, hashes: {} };
      files.push(f);
      return f;
    },
    ctx(props, opts = {}) {
      return {
        workflowId: 'wf',
        updateId: { provider: 'contoso', name: 'virtual-camera', version: '1.1' },
        step: '1.0',
        handlerId: 'microsoft/script:1',
        handlerProperties: props,
        installedCriteria: opts.installedCriteria,
        files: opts.files ?? files,
        workFolder: wf,
        component: opts.component,
        signal: opts.signal ?? new AbortController().signal,
        log,
        onProgress: () => undefined,
      };
    },
    async runs() {
      if (!existsSync(scriptLog)) return [];
      const text = await readFile(scriptLog, 'utf8');
      return text
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => l.split('\t').slice(1));
    },
  };
}

const cameraArgs = '--component-name --component-name-val --component-group --component-group-val --component-prop path --component-prop-val path';

function camera(path: string): Component {
  return { id: 'cam-1', name: 'front-camera', group: 'cameras', manufacturer: 'contoso', model: 'virtual-camera', version: '1.0', properties: { path } };
}

const tmpRoots: string[] = [];
async function newRig(): Promise<Rig> {
  const r = await rig();
  tmpRoots.push(r.dir);
  return r;
}

describe('microsoft/script:1 handler: actions against the Contoso-style script', () => {
  after(async () => {
    for (const d of tmpRoots) await rm(d, { recursive: true, force: true });
  });

  it('passes the exact ADU argv to the script, for apiVersion 1.0 and 1.1', async () => {
    const r = await newRig();
    await r.place('component-installscript.sh');
    const cam = camera(join(r.dir, 'cam'));
    await mkdir(cam.properties.path as string);
    const props = { scriptFileName: 'component-installscript.sh', arguments: `--pre-install-sim-success ${cameraArgs}` };
    assert.equal((await r.handler.install(r.ctx(props, { component: cam, installedCriteria: '1.1' }))).resultCode, ResultCode.ApplySuccess);
    assert.equal((await r.handler.apply(r.ctx({ ...props, apiVersion: '1.1' }, { component: cam, installedCriteria: '1.1' }))).resultCode, ResultCode.ApplySuccess);
    const tail = (action: string) => ['--work-folder', r.wf, '--result-file', join(r.wf, `action_${action}_aduc_result.json`), '--installed-criteria', '1.1'];
    const user = ['--pre-install-sim-success', '--component-name', 'front-camera', '--component-group', 'cameras', '--component-prop', 'path', cam.properties.path as string];
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
    const props = { scriptFileName: 'component-installscript.sh', arguments: `--firmware-file camera-firmware-1.1.json ${cameraArgs}` };
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
    const step = (sim: string) => r.ctx({ scriptFileName: 'component-installscript.sh', arguments: `${sim} ${cameraArgs}` }, { component: cam, installedCriteria: '1.1' });
    const pre = step('--pre-install-sim-success');
    const fw = step('--firmware-file camera-firmware-1.1.json');
    const post = step('--post-install-sim-success');
    assert.equal((await r.handler.isInstalled(pre)).resultCode, ResultCode.IsInstalledNotInstalled);
    assert.equal((await r.handler.install(pre)).resultCode, ResultCode.ApplySuccess);
    assert.equal((await r.handler.apply(pre)).resultCode, ResultCode.ApplySuccess);
    assert.equal((await r.handler.isInstalled(pre)).resultCode, ResultCode.IsInstalledInstalled);
    assert.equal((await r.handler.isInstalled(fw)).resultCode, ResultCode.IsInstalledNotInstalled, 'the pre step record must not mark the firmware installed');
    assert.equal((await r.handler.install(fw)).resultCode, ResultCode.InstallSuccess);
    assert.equal((await r.handler.apply(fw)).resultCode, ResultCode.ApplySuccess);
    assert.equal(await readFile(join(cam.properties.path as string, 'firmware.json'), 'utf8'), '{"version": "1.1"}\n');
    // As in the demo, once the firmware is in, every step of this criteria reports installed.
    for (const s of [pre, fw, post]) assert.equal((await r.handler.isInstalled(s)).resultCode, ResultCode.IsInstalledInstalled);
    assert.equal((await r.handler.install(fw)).resultCode, ResultCode.InstallSkippedUpdateAlreadyInstalled);
  });

  it('runs a host step (no component): placeholders are n/a and state goes to <wf>/../host-state', async () => {
    const r = await newRig();
    await r.place('component-installscript.sh');
    const ctx = r.ctx({ scriptFileName: 'component-installscript.sh', arguments: `--component-id --component-id-val ${cameraArgs}` }, { installedCriteria: 'host-2.0' });
    assert.equal((await r.handler.isInstalled(ctx)).resultCode, ResultCode.IsInstalledNotInstalled);
    assert.equal((await r.handler.install(ctx)).resultCode, ResultCode.InstallSuccess);
    assert.equal((await r.handler.isInstalled(ctx)).resultCode, ResultCode.IsInstalledInstalled);
    assert.equal(await readFile(join(r.wf, '..', 'host-state', 'installed-criteria'), 'utf8'), 'host-2.0\n');
    const [argv] = await r.runs();
    assert.deepEqual(argv!.slice(1, 10), ['--component-id', 'n/a', '--component-name', 'n/a', '--component-group', 'n/a', '--component-prop', 'path', 'n/a']);
  });

  it('download: is-installed first; installed → 503 without --action-download, otherwise runs the download', async () => {
    const r = await newRig();
    await r.place('component-installscript.sh');
    const cam = camera(join(r.dir, 'cam'));
    await mkdir(cam.properties.path as string);
    const ctx = r.ctx({ scriptFileName: 'component-installscript.sh', arguments: cameraArgs }, { component: cam, installedCriteria: '3.0' });
    assert.deepEqual(await r.handler.download(ctx), { resultCode: ResultCode.DownloadSkippedFileExists, extendedResultCode: 0 });
    await writeFile(join(cam.properties.path as string, 'installed-criteria'), '3.0\n');
    assert.deepEqual(await r.handler.download(ctx), { resultCode: ResultCode.DownloadSkippedUpdateAlreadyInstalled, extendedResultCode: 0 });
    assert.deepEqual((await r.runs()).map((a) => a[0]), ['--action-is-installed', '--action-download', '--action-is-installed']);
  });

  it('download goes on when is-installed fails (offline component), as ADU does', async () => {
    const r = await newRig();
    await r.place('component-installscript.sh');
    const ctx = r.ctx({ scriptFileName: 'component-installscript.sh', arguments: cameraArgs }, { component: camera(join(r.dir, 'unplugged')), installedCriteria: '1' });
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
    assert.deepEqual((await r.runs()).map((a) => a.slice(0, 2)), [['--action-cancel', '--component-name'], ['--action', 'cancel']]);
  });

  it('cancel: a script that exits 0 without a result file means 800; one that cannot run means 801', async () => {
    const r = await newRig();
    await r.place('scripted-step.sh');
    assert.deepEqual(await r.handler.cancel(r.ctx({ scriptFileName: 'scripted-step.sh', arguments: '--no-result' })), { resultCode: 800, extendedResultCode: 0 });
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
    const failed = await r.handler.isInstalled(r.ctx({ scriptFileName: 'scripted-step.sh', arguments: '--rc 0 --erc 12345 --details offline' }));
    assert.deepEqual(failed, { resultCode: 0, extendedResultCode: 12345, resultDetails: 'offline' });
  });
});

describe('microsoft/script:1 handler: script file checks', () => {
  after(async () => {
    for (const d of tmpRoots) await rm(d, { recursive: true, force: true });
  });

  it('fails with 0x30500005 without scriptFileName, running nothing', async () => {
    const r = await newRig();
    await r.place('component-installscript.sh');
    const res = await r.handler.install(r.ctx({ arguments: cameraArgs }));
    assert.equal(formatErc(res.extendedResultCode), '30500005');
    assert.equal(res.resultCode, ResultCode.Failure);
    assert.match(res.resultDetails ?? '', /scriptFileName/);
    assert.deepEqual(await r.runs(), []);
  });

  it("fails with ADU's GET_PRIMARY_FILE_ENTITY (0x30500103) when scriptFileName is not a step file, naming both", async () => {
    const r = await newRig();
    await r.place('component-installscript.sh');
    await r.place('fail-with-exit.sh');
    const res = await r.handler.download(r.ctx({ scriptFileName: 'missing-contoso-camera-installscript.sh' }));
    assert.equal(formatErc(res.extendedResultCode), '30500103');
    assert.match(res.resultDetails ?? '', /missing-contoso-camera-installscript\.sh.*'component-installscript\.sh', 'fail-with-exit\.sh'/);
    assert.deepEqual(await r.runs(), []);
  });

  it('matches scriptFileName case-insensitively and makes the script executable (0750 like adu-shell)', async () => {
    const r = await newRig();
    const f = await r.place('scripted-step.sh', 'Scripted-Step.SH');
    const res = await r.handler.install(r.ctx({ scriptFileName: 'scripted-step.sh' }));
    assert.equal(res.resultCode, ResultCode.InstallSuccess);
    assert.equal((await stat(f.path)).mode & 0o777, 0o750);
  });

  it('fails with 0x30500204 when the listed script is not in the work folder', async () => {
    const r = await newRig();
    const f = await r.place('scripted-step.sh');
    await rm(f.path);
    const res = await r.handler.install(r.ctx({ scriptFileName: 'scripted-step.sh' }));
    assert.equal(formatErc(res.extendedResultCode), '30500204');
  });

  it('rejects bad handlerProperties with a clear ERC instead of guessing', async () => {
    const r = await newRig();
    await r.place('scripted-step.sh');
    for (const bad of [{ apiVersion: '2.0' }, { arguments: ['--a'] }, { timeoutSeconds: -1 }, { timeoutSeconds: 'soon' }, { scriptFileName: '../scripted-step.sh' }]) {
      const res = await r.handler.apply(r.ctx({ scriptFileName: 'scripted-step.sh', ...bad }));
      assert.equal(res.extendedResultCode, ScriptErc.InvalidHandlerProperties, JSON.stringify(bad));
      assert.ok((res.resultDetails ?? '').length > 0);
    }
    assert.deepEqual(await r.runs(), []);
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
    assert.throws(() => createScriptHandler({ log, config: { env: { A: 1 } } }), (e: unknown) => isSensorProxyError(e, 'CONFIG_INVALID'));
    assert.deepEqual(resolveScriptHandlerConfig({}), { timeoutSeconds: 3600, killGraceMs: 5000, env: {} });
  });
});

describe('microsoft/script:1 handler: exit codes and result files', () => {
  let r: Rig;
  before(async () => {
    r = await newRig();
    await r.place('scripted-step.sh');
    await r.place('fail-with-exit.sh');
  });
  after(async () => {
    for (const d of tmpRoots) await rm(d, { recursive: true, force: true });
  });
  const scripted = (args: string) => r.ctx({ scriptFileName: 'scripted-step.sh', arguments: args });

  it('non-zero exit → 0x30501000+exit with the stderr tail; the result file is ignored', async () => {
    const res = await r.handler.install(r.ctx({ scriptFileName: 'fail-with-exit.sh', arguments: '--exit-code 7' }));
    assert.equal(res.resultCode, ResultCode.Failure);
    assert.equal(formatErc(res.extendedResultCode), '30501007');
    assert.match(res.resultDetails ?? '', /fail-with-exit\.sh --action-install exited with code 7.*first complaint\nfail-with-exit: flashing failed, giving up with 7$/s);
  });

  it('keeps the END of a long stderr and caps details at 1024 characters', async () => {
    const res = await r.handler.install(scripted('--stderr-lines 400 --garbage-result --kill-self TERM'));
    assert.equal(res.extendedResultCode, ScriptErc.KilledBySignal);
    assert.match(res.resultDetails ?? '', /killed by signal SIGTERM.*stderr line 400$/s);
    assert.ok((res.resultDetails ?? '').length <= 1024, `details are ${res.resultDetails?.length} long`);
    assert.doesNotMatch(res.resultDetails ?? '', /stderr line 1\n/);
  });

  it('exit 0 without a result file → 0x30500205 naming the file', async () => {
    const res = await r.handler.apply(scripted('--no-result'));
    assert.equal(formatErc(res.extendedResultCode), '30500205');
    assert.ok((res.resultDetails ?? '').includes(join(r.wf, 'action_apply_aduc_result.json')));
  });

  it('deletes a stale result file before the run', async () => {
    await writeFile(join(r.wf, 'action_install_aduc_result.json'), '{"resultCode":600,"extendedResultCode":0}');
    const res = await r.handler.install(scripted('--no-result'));
    assert.equal(res.extendedResultCode, Erc.ScriptResultFileMissing);
  });

  it('unparsable or malformed result files → 0x30500205', async () => {
    for (const args of ['--garbage-result', '--raw-result [600]', '--raw-result {"resultCode":"600"}', '--raw-result {"resultCode":600,"extendedResultCode":"0x1"}']) {
      const res = await r.handler.install(scripted(args));
      assert.deepEqual([res.resultCode, formatErc(res.extendedResultCode)], [0, '30500205'], args);
    }
  });

  it('passes the script result through: code, ERC (as unsigned 32-bit) and details', async () => {
    assert.deepEqual(await r.handler.install(scripted('--rc 606 --details reboot-later')), { resultCode: 606, extendedResultCode: 0, resultDetails: 'reboot-later' });
    const neg = await r.handler.install(scripted('--raw-result {"resultCode":0,"extendedResultCode":-2147483648}'));
    assert.equal(formatErc(neg.extendedResultCode), '80000000');
    assert.deepEqual(await r.handler.install(scripted('--raw-result {"resultCode":600}')), { resultCode: 600, extendedResultCode: 0 });
  });

  it('a failure with ERC 0 gets 0x30500206', async () => {
    const res = await r.handler.install(scripted('--rc 0 --erc 0 --details nope'));
    assert.deepEqual(res, { resultCode: 0, extendedResultCode: 0x30500206, resultDetails: 'nope' });
  });

  it('caps script-provided details at 1024 characters', async () => {
    const res = await r.handler.install(scripted('--long-details 3000'));
    assert.equal(res.resultCode, 600);
    assert.equal(res.resultDetails, 'x'.repeat(1024));
  });

  it('a script whose interpreter is missing fails to spawn with a clear ERC', async () => {
    await writeFile(join(r.wf, 'no-interp.sh'), '#!/nonexistent/interpreter\nexit 0\n');
    const f: StepFile = { id: 'x', fileName: 'no-interp.sh', path: join(r.wf, 'no-interp.sh'), sizeInBytes: 1, hashes: {} };
    const res = await r.handler.install(r.ctx({ scriptFileName: 'no-interp.sh' }, { files: [f] }));
    assert.equal(res.extendedResultCode, ScriptErc.SpawnFailed);
    assert.match(res.resultDetails ?? '', /no-interp\.sh --action-install.*ENOENT/);
  });
});
