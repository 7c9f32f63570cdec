import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecordingHandler } from '../../../hw-fixtures/handlers/recording-handler.js';
import { components, engineHarness, writeParentChildUpdate } from '../../../hw-fixtures/updates/engine-fixture.js';
import { ResultCode, result } from '../../../src/model/result-codes.js';
import { WorkflowStateStore } from '../../../src/workflow/workflow-state.js';
import { WorkflowInterrupted } from '../../../src/workflow/engine.js';

const H = 'test/recording:1';

async function setup(nComponents = 2, childSteps = 3) {
  const handler = new RecordingHandler(H);
  const harness = await engineHarness([handler], [...components(nComponents, 'cameras'), ...components(1, 'motors')]);
  const manifest = await writeParentChildUpdate(harness.dir, {
    handler: H,
    hostSteps: 1,
    childSteps,
    group: 'cameras',
  });
  return { handler, harness, manifest };
}

const installs = (h: RecordingHandler) =>
  h.calls.filter((c) => c.action === 'install').map((c) => `${c.step}@${c.componentId ?? 'host'}`);

describe('workflow engine: multi-step ordered execution', () => {
  it('runs host steps on the host, then child steps component-major for the selected group only', async () => {
    const { handler, harness, manifest } = await setup();
    const out = await harness.run(await harness.plan(manifest));
    assert.equal(out.succeeded, true);
    assert.deepEqual(installs(handler), [
      '0@host',
      '1.0@cameras-0',
      '1.1@cameras-0',
      '1.2@cameras-0',
      '1.0@cameras-1',
      '1.1@cameras-1',
      '1.2@cameras-1',
    ]);
    assert.equal(out.lastInstallResult.resultCode, ResultCode.ApplySuccess);
    assert.deepEqual(Object.keys(out.lastInstallResult.stepResults), ['step_0', 'step_1']);
    assert.equal(out.lastInstallResult.stepResults.step_1!.resultCode, ResultCode.ApplySuccess);
    assert.equal(out.installedUpdateId, JSON.stringify({ provider: 'test', name: 'parent', version: '1.0' }));
    // Downloads of every instance happen before the first install (ADU Download phase).
    const firstInstall = handler.calls.findIndex((c) => c.action === 'install');
    assert.equal(handler.calls.slice(firstInstall).filter((c) => c.action === 'download').length, 0);
  });

  it('asks IsInstalled with the step criteria and skips installed steps as 603', async () => {
    const { handler, harness, manifest } = await setup();
    await harness.run(await harness.plan(manifest));
    handler.calls.length = 0;
    const out = await harness.run(await harness.plan(manifest));
    assert.equal(out.succeeded, true);
    assert.deepEqual(installs(handler), []);
    assert.equal(out.lastInstallResult.stepResults.step_0!.resultCode, ResultCode.InstallSkippedUpdateAlreadyInstalled);
    assert.equal(out.lastInstallResult.stepResults.step_1!.resultCode, ResultCode.InstallSkippedUpdateAlreadyInstalled);
    assert.ok(
      handler.calls.some(
        (c) => c.action === 'isInstalled' && c.installedCriteria === 'child-1' && c.componentId === 'cameras-1',
      ),
    );
  });

  it('stops at the first failing step: later steps and components never run, update fails with the step ERC', async () => {
    const { handler, harness, manifest } = await setup();
    handler.override = (action, ctx) =>
      action === 'install' && ctx.step === '1.1' && ctx.component?.id === 'cameras-0'
        ? result(ResultCode.Failure, 0x30501001, 'flash refused')
        : undefined;
    const out = await harness.run(await harness.plan(manifest));
    assert.equal(out.succeeded, false);
    assert.deepEqual(installs(handler), ['0@host', '1.0@cameras-0', '1.1@cameras-0']);
    assert.equal(out.lastInstallResult.resultCode, ResultCode.Failure);
    assert.equal(out.lastInstallResult.extendedResultCodes, '30501001');
    assert.equal(out.lastInstallResult.stepResults.step_1!.resultCode, ResultCode.Failure);
    assert.match(out.lastInstallResult.resultDetails, /cameras-0.*1\.1.*flash refused/);
    assert.ok(
      handler.calls.some((c) => c.action === 'restore' && c.step === '1.1'),
      'Restore is attempted after a failed install',
    );
    assert.equal(out.installedUpdateId, undefined);
  });

  it('reports 604 for a reference step whose compatibility selects no component, and succeeds', async () => {
    const handler = new RecordingHandler(H);
    const harness = await engineHarness([handler], components(2, 'motors'));
    const manifest = await writeParentChildUpdate(harness.dir, {
      handler: H,
      hostSteps: 1,
      childSteps: 2,
      group: 'cameras',
    });
    const out = await harness.run(await harness.plan(manifest));
    assert.equal(out.succeeded, true);
    assert.equal(out.lastInstallResult.stepResults.step_1!.resultCode, ResultCode.InstallSkippedNoMatchingComponents);
    assert.deepEqual(installs(handler), ['0@host']);
  });

  it('cancels: the running install sees the signal, the handler Cancel is called, the result is -1', async () => {
    const { handler, harness, manifest } = await setup();
    const ac = new AbortController();
    handler.duringInstall = (ctx) =>
      ctx.step === '1.1'
        ? new Promise((_, reject) => {
            ac.abort();
            ctx.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
            if (ctx.signal.aborted) reject(new DOMException('aborted', 'AbortError'));
          })
        : Promise.resolve();
    const out = await harness.run(await harness.plan(manifest), ac.signal);
    assert.equal(out.succeeded, false);
    assert.equal(out.cancelled, true);
    assert.equal(out.lastInstallResult.resultCode, ResultCode.FailureCancelled);
    assert.ok(handler.calls.some((c) => c.action === 'cancel'));
    assert.ok(!installs(handler).includes('1.2@cameras-0'));
  });

  it('resumes an interrupted run without installing its finished steps again, even when IsInstalled cannot tell', async () => {
    const { handler, harness, manifest } = await setup();
    const plan = await harness.plan(manifest);
    // A run that died after two steps: begun and recorded, never finished.
    const crashed = new WorkflowStateStore(harness.stateDir, plan.workflowId);
    await crashed.begin(plan.update.updateId, plan.manifestSha256);
    await crashed.record('0@host', result(ResultCode.ApplySuccess));
    await crashed.record('1.0@cameras-0', result(ResultCode.ApplySuccess));
    const out = await harness.run(plan);
    assert.equal(out.succeeded, true);
    assert.equal(out.resumed, true);
    assert.deepEqual(installs(handler), [
      '1.1@cameras-0',
      '1.2@cameras-0',
      '1.0@cameras-1',
      '1.1@cameras-1',
      '1.2@cameras-1',
    ]);
    assert.ok(harness.events.some((e) => e.type === 'step.skipped' && e.reason === 'resumed' && e.step === '0'));
    // A finished workflow is not resumed again: the next run starts fresh and only IsInstalled decides,
    // so the two steps this handler never really installed (they were only recorded) run now.
    handler.calls.length = 0;
    const again = await harness.run(await harness.plan(manifest));
    assert.equal(again.resumed, false);
    assert.deepEqual(installs(handler), ['0@host', '1.0@cameras-0']);
  });

  it('restricts child selection to --component ids and rejects unknown ids before anything runs', async () => {
    const { handler, harness, manifest } = await setup();
    const out = await harness.run(await harness.plan(manifest, ['cameras-1']));
    assert.equal(out.succeeded, true);
    assert.deepEqual(installs(handler), ['0@host', '1.0@cameras-1', '1.1@cameras-1', '1.2@cameras-1']);
    await assert.rejects(
      harness.plan(manifest, ['nope']),
      (e: Error & { code?: string }) => e.code === 'CLI_USAGE' && /nope/.test(e.message),
    );
  });

  it('an immediate reboot request (705) stops everything; the run stays resumable and finishes after the "reboot"', async () => {
    const { handler, harness, manifest } = await setup();
    let rebooted = false;
    handler.override = (action, ctx) =>
      !rebooted && action === 'apply' && ctx.step === '1.0' && ctx.component?.id === 'cameras-0'
        ? result(ResultCode.ApplyRequiredImmediateReboot)
        : undefined;
    const out = await harness.run(await harness.plan(manifest));
    assert.equal(out.succeeded, false);
    assert.equal(out.suspended, 'restart-requested');
    assert.deepEqual(out.restartRequested, { kind: 'reboot', immediate: true, resultCode: 705 });
    assert.equal(out.lastInstallResult.resultCode, 705);
    assert.match(out.lastInstallResult.resultDetails, /reboot the gateway/);
    assert.deepEqual(installs(handler), ['0@host', '1.0@cameras-0']);
    rebooted = true;
    handler.calls.length = 0;
    const after = await harness.run(await harness.plan(manifest));
    assert.equal(after.succeeded, true);
    assert.equal(after.resumed, true);
    assert.deepEqual(installs(handler), [
      '1.1@cameras-0',
      '1.2@cameras-0',
      '1.0@cameras-1',
      '1.1@cameras-1',
      '1.2@cameras-1',
    ]);
  });

  it('a resumed step that asked for an agent restart counts as applied, even when IsInstalled cannot see it (no restart loop)', async () => {
    const { handler, harness, manifest } = await setup();
    handler.override = (action, ctx) => {
      if (ctx.step !== '0') return undefined;
      if (action === 'isInstalled') return result(ResultCode.IsInstalledNotInstalled);
      return action === 'apply' ? result(ResultCode.ApplyRequiredImmediateAgentRestart) : undefined;
    };
    const out = await harness.run(await harness.plan(manifest));
    assert.equal(out.suspended, 'restart-requested');
    assert.equal(out.restartRequested?.kind, 'agent-restart');
    handler.calls.length = 0;
    const after = await harness.run(await harness.plan(manifest));
    assert.equal(after.suspended, undefined, 'no second restart request');
    assert.equal(after.succeeded, true);
    assert.ok(!installs(handler).includes('0@host'), 'the step is not installed again');
    assert.equal(after.lastInstallResult.stepResults.step_0!.resultCode, ResultCode.ApplySuccess);
    assert.match(after.lastInstallResult.stepResults.step_0!.resultDetails, /requested agent-restart \(707\)/);
  });

  it("a deferred reboot request (606 from install) holds that component's later steps and lets the others go on", async () => {
    const { handler, harness, manifest } = await setup();
    handler.override = (action, ctx) =>
      action === 'install' && ctx.step === '1.0' && ctx.component?.id === 'cameras-0'
        ? result(ResultCode.InstallRequiredReboot)
        : undefined;
    const out = await harness.run(await harness.plan(manifest));
    assert.equal(out.suspended, 'restart-requested');
    assert.equal(out.restartRequested?.immediate, false);
    assert.deepEqual(installs(handler), ['0@host', '1.0@cameras-0', '1.0@cameras-1', '1.1@cameras-1', '1.2@cameras-1']);
    assert.ok(
      handler.calls.some((c) => c.action === 'apply' && c.step === '1.0' && c.componentId === 'cameras-0'),
      'a deferred request still applies',
    );
  });

  it('an agent shutdown (abort reason WorkflowInterrupted) leaves the run to resume, not cancelled', async () => {
    const { handler, harness, manifest } = await setup();
    const ac = new AbortController();
    handler.duringInstall = async (ctx) => {
      if (ctx.step === '1.1') ac.abort(new WorkflowInterrupted('agent stopping'));
    };
    const out = await harness.run(await harness.plan(manifest), ac.signal);
    assert.equal(out.suspended, 'interrupted');
    assert.equal(out.cancelled, false);
    handler.calls.length = 0;
    handler.duringInstall = async () => {};
    const next = await harness.run(await harness.plan(manifest));
    assert.equal(next.resumed, true);
    assert.equal(next.succeeded, true);
    assert.ok(!installs(handler).includes('0@host'));
  });

  it('a handler that ignores the cancel is given up after the grace period: the run still ends, cancelled', async () => {
    const { handler, harness, manifest } = await setup();
    const ac = new AbortController();
    handler.duringInstall = (ctx) => {
      if (ctx.step !== '1.1') return Promise.resolve();
      ac.abort();
      return new Promise(() => {}); // never settles, ignores the signal
    };
    const out = await harness.run(await harness.plan(manifest), ac.signal, { cancelGraceMs: 50 });
    assert.equal(out.cancelled, true);
    assert.equal(out.lastInstallResult.resultCode, ResultCode.FailureCancelled);
    assert.match(out.lastInstallResult.resultDetails, /did not stop within 50 ms/);
  });
});

describe('workflow engine: reference steps with no component enumerator (issue 13 item 1)', () => {
  async function noEnumerator(referenceStepsOnHost?: boolean) {
    const handler = new RecordingHandler(H);
    const harness = await engineHarness(
      [handler],
      undefined,
      referenceStepsOnHost === undefined ? {} : { referenceStepsOnHost },
    );
    const manifest = await writeParentChildUpdate(harness.dir, {
      handler: H,
      hostSteps: 1,
      childSteps: 2,
      group: 'cameras',
    });
    return { handler, harness, manifest };
  }

  it('fails the plan with a clear error: nothing runs, nothing is reported as installed', async () => {
    const { handler, harness, manifest } = await noEnumerator();
    await assert.rejects(harness.plan(manifest), (e: any) => {
      assert.equal(e.code, 'ENUM_NOT_CONFIGURED');
      assert.match(
        e.message,
        /no component enumerator is configured; reference step 1 targets components \(\{"group":"cameras"\}\); configure one or pass --inventory/,
      );
      assert.match(e.hint, /referenceStepsOnHost/);
      return true;
    });
    assert.deepEqual(installs(handler), []);
  });

  it('with referenceStepsOnHost the child steps run once on the host, as the ADU agent does', async () => {
    const { handler, harness, manifest } = await noEnumerator(true);
    const out = await harness.run(await harness.plan(manifest));
    assert.deepEqual(installs(handler), ['0@host', '1.0@host', '1.1@host']);
    assert.equal(out.succeeded, true);
    assert.equal(out.lastInstallResult.stepResults.step_1!.resultCode, ResultCode.ApplySuccess);
  });

  it('with referenceStepsOnHost a failing host child step fails the update', async () => {
    const { handler, harness, manifest } = await noEnumerator(true);
    handler.override = (action, ctx) =>
      action === 'install' && ctx.step === '1.0' ? result(ResultCode.Failure, 0x30501001, 'not a camera') : undefined;
    const out = await harness.run(await harness.plan(manifest));
    assert.equal(out.succeeded, false);
    assert.equal(out.installedUpdateId, undefined);
    assert.match(out.lastInstallResult.stepResults.step_1!.resultDetails, /host.*1\.0.*not a camera/);
  });
});
