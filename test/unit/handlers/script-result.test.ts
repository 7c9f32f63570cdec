import assert from 'node:assert/strict';
import { rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { scriptRig } from '../../../hw-fixtures/scripts/script-step-rig.js';
import type { ScriptRig } from '../../../hw-fixtures/scripts/script-step-rig.js';
import { ScriptErc } from '../../../src/handlers/script/script-erc.js';
import type { StepFile } from '../../../src/model/handler.js';
import { Erc, ResultCode, formatErc } from '../../../src/model/result-codes.js';

/** Script file checks, exit codes and result files, mapped to ADU result codes (reference/adu-agent.md §3.5). */

const cameraArgs =
  '--component-name --component-name-val --component-group --component-group-val --component-prop path --component-prop-val path';

const rigs: ScriptRig[] = [];
async function newRig(): Promise<ScriptRig> {
  const r = await scriptRig();
  rigs.push(r);
  return r;
}

describe('microsoft/script:1 handler: script file checks', () => {
  after(async () => {
    for (const r of rigs) await r.dispose();
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
    assert.match(
      res.resultDetails ?? '',
      /missing-contoso-camera-installscript\.sh.*'component-installscript\.sh', 'fail-with-exit\.sh'/,
    );
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
    for (const bad of [
      { apiVersion: '2.0' },
      { arguments: ['--a'] },
      { timeoutSeconds: -1 },
      { timeoutSeconds: 'soon' },
      { scriptFileName: '../scripted-step.sh' },
    ]) {
      const res = await r.handler.apply(r.ctx({ scriptFileName: 'scripted-step.sh', ...bad }));
      assert.equal(res.extendedResultCode, ScriptErc.InvalidHandlerProperties, JSON.stringify(bad));
      assert.ok((res.resultDetails ?? '').length > 0);
    }
    assert.deepEqual(await r.runs(), []);
  });
});

describe('microsoft/script:1 handler: exit codes and result files', () => {
  let r: ScriptRig;
  before(async () => {
    r = await newRig();
    await r.place('scripted-step.sh');
    await r.place('fail-with-exit.sh');
  });
  after(async () => {
    for (const r of rigs) await r.dispose();
  });
  const scripted = (args: string) => r.ctx({ scriptFileName: 'scripted-step.sh', arguments: args });

  it('non-zero exit → 0x30501000+exit with the stderr tail; the result file is ignored', async () => {
    const res = await r.handler.install(r.ctx({ scriptFileName: 'fail-with-exit.sh', arguments: '--exit-code 7' }));
    assert.equal(res.resultCode, ResultCode.Failure);
    assert.equal(formatErc(res.extendedResultCode), '30501007');
    assert.match(
      res.resultDetails ?? '',
      /fail-with-exit\.sh --action-install exited with code 7.*first complaint\nfail-with-exit: flashing failed, giving up with 7$/s,
    );
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
    for (const args of [
      '--garbage-result',
      '--raw-result [600]',
      '--raw-result {"resultCode":"600"}',
      '--raw-result {"resultCode":600,"extendedResultCode":"0x1"}',
    ]) {
      const res = await r.handler.install(scripted(args));
      assert.deepEqual([res.resultCode, formatErc(res.extendedResultCode)], [0, '30500205'], args);
    }
  });

  it('passes the script result through: code, ERC (as unsigned 32-bit) and details', async () => {
    assert.deepEqual(await r.handler.install(scripted('--rc 606 --details reboot-later')), {
      resultCode: 606,
      extendedResultCode: 0,
      resultDetails: 'reboot-later',
    });
    const neg = await r.handler.install(scripted('--raw-result {"resultCode":0,"extendedResultCode":-2147483648}'));
    assert.equal(formatErc(neg.extendedResultCode), '80000000');
    assert.deepEqual(await r.handler.install(scripted('--raw-result {"resultCode":600}')), {
      resultCode: 600,
      extendedResultCode: 0,
    });
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
    const f: StepFile = {
      id: 'x',
      fileName: 'no-interp.sh',
      path: join(r.wf, 'no-interp.sh'),
      sizeInBytes: 1,
      hashes: {},
    };
    const res = await r.handler.install(r.ctx({ scriptFileName: 'no-interp.sh' }, { files: [f] }));
    assert.equal(res.extendedResultCode, ScriptErc.SpawnFailed);
    assert.match(res.resultDetails ?? '', /no-interp\.sh --action-install.*ENOENT/);
  });
});
