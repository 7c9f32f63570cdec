import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecordingHandler } from '../../../hw-fixtures/handlers/recording-handler.js';
import { engineHarness, writeParentChildUpdate } from '../../../hw-fixtures/updates/engine-fixture.js';
import type { Component } from '../../../src/model/component.js';
import type { StepContext } from '../../../src/model/handler.js';
import { ResultCode, result } from '../../../src/model/result-codes.js';
import { WorkflowStateStore } from '../../../src/workflow/workflow-state.js';

const H = 'test/recording:1';

/** Components on the given physical paths (bus properties as the enumerators write them). */
function onPaths(paths: Array<{ bus: 'serial'; port: string } | { bus: 'can'; interface: string }>): Component[] {
  return paths.map((p, i) => ({
    id: `s${i}`,
    name: `s${i}`,
    group: 'sensors',
    manufacturer: 'test',
    model: 'sensor',
    properties: { ...p },
  }));
}

async function setup(comps: Component[], childSteps = 2) {
  const handler = new RecordingHandler(H);
  const harness = await engineHarness([handler], comps);
  const manifest = await writeParentChildUpdate(harness.dir, {
    handler: H,
    hostSteps: 1,
    childSteps,
    group: 'sensors',
  });
  return { handler, harness, manifest, plan: await harness.plan(manifest) };
}

/**
 * Tracks which installs run at the same moment, per physical path key. `gate(n)` makes the
 * install of step `step` wait until `n` such installs are in progress at once: a run that is not
 * concurrent never gets there and fails on the deadline, so overlap is proven without timing.
 * Only the first `n` arrivals at that step wait.
 */
function concurrency(keyOf: (ctx: StepContext) => string) {
  const active = new Map<string, number>();
  let now = 0;
  let max = 0;
  let arrivals = 0;
  const maxPerKey = new Map<string, number>();
  const waiters: Array<() => void> = [];
  return {
    get max() {
      return max;
    },
    maxPerKey,
    async enter(ctx: StepContext, gate?: { step: string; n: number }) {
      const k = keyOf(ctx);
      active.set(k, (active.get(k) ?? 0) + 1);
      maxPerKey.set(k, Math.max(maxPerKey.get(k) ?? 0, active.get(k)!));
      max = Math.max(max, ++now);
      if (gate && ctx.step === gate.step && ++arrivals <= gate.n) {
        waiters.forEach((w) => w());
        const deadline = Date.now() + 10_000;
        while (now < gate.n) {
          if (Date.now() > deadline) throw new Error(`only ${now} of ${gate.n} installs ever ran at once`);
          await new Promise<void>((r) => {
            waiters.push(r);
            setTimeout(r, 50);
          });
        }
        waiters.forEach((w) => w());
      } else await new Promise((r) => setTimeout(r, 5));
    },
    leave(ctx: StepContext) {
      const k = keyOf(ctx);
      active.set(k, active.get(k)! - 1);
      now--;
    },
  };
}

const portOf = (ctx: StepContext) =>
  String((ctx.component?.properties.port ?? ctx.component?.properties.interface ?? 'host') as string);
const installs = (h: RecordingHandler) =>
  h.calls.filter((c) => c.action === 'install').map((c) => `${c.step}@${c.componentId ?? 'host'}`);
const stepsOf = (h: RecordingHandler, id: string) =>
  h.calls.filter((c) => c.action === 'install' && c.componentId === id).map((c) => c.step);

describe('workflow engine: parallel lanes', () => {
  it('runs components on different serial ports at once, one at a time per port, each in step order', async () => {
    const comps = onPaths([
      { bus: 'serial', port: '/dev/ttyA' },
      { bus: 'serial', port: '/dev/ttyB' },
      { bus: 'serial', port: '/dev/ttyC' },
      { bus: 'serial', port: '/dev/ttyA' },
    ]);
    const { handler, harness, plan } = await setup(comps, 3);
    const c = concurrency(portOf);
    handler.duringInstall = async (ctx) => {
      if (!ctx.component) return;
      await c.enter(ctx, { step: '1.0', n: 3 });
      c.leave(ctx);
    };
    const out = await harness.run(plan);
    assert.equal(out.succeeded, true);
    assert.equal(c.max, 3, 'three ports, three installs at once');
    for (const [port, n] of c.maxPerKey) assert.equal(n, 1, `${port} carried one install at a time`);
    for (const id of ['s0', 's1', 's2', 's3']) assert.deepEqual(stepsOf(handler, id), ['1.0', '1.1', '1.2']);
    assert.equal(installs(handler)[0], '0@host', 'the parent step runs before the reference step');
    // s3 shares ttyA with s0: it starts only after s0 finished all its steps.
    const order = installs(handler);
    assert.ok(order.indexOf('1.0@s3') > order.indexOf('1.2@s0'));
    assert.equal(out.outcomes.length, 1 + 4 * 3);
    assert.deepEqual(Object.keys(out.lastInstallResult.stepResults), ['step_0', 'step_1']);
    assert.equal(out.lastInstallResult.stepResults.step_1!.resultCode, ResultCode.ApplySuccess);
  });

  it('flashes up to maxPerCanInterface ECUs on one CAN interface at once', async () => {
    const comps = onPaths(Array.from({ length: 5 }, () => ({ bus: 'can' as const, interface: 'vcan0' })));
    const { handler, harness, plan } = await setup(comps, 1);
    const c = concurrency(portOf);
    handler.duringInstall = async (ctx) => {
      if (!ctx.component) return;
      await c.enter(ctx, { step: '1.0', n: 2 });
      c.leave(ctx);
    };
    const out = await harness.run(plan, undefined, { parallel: { maxPerCanInterface: 2 } });
    assert.equal(out.succeeded, true);
    assert.equal(c.max, 2);
    assert.equal(installs(handler).length, 1 + 5);
  });

  it('runs one component at a time, in selection order, when parallel flashing is off', async () => {
    const comps = onPaths([
      { bus: 'serial', port: '/dev/ttyA' },
      { bus: 'serial', port: '/dev/ttyB' },
    ]);
    const { handler, harness, plan } = await setup(comps, 2);
    const c = concurrency(portOf);
    handler.duringInstall = async (ctx) => {
      await c.enter(ctx);
      c.leave(ctx);
    };
    const out = await harness.run(plan, undefined, { parallel: { enabled: false } });
    assert.equal(out.succeeded, true);
    assert.equal(c.max, 1);
    assert.deepEqual(installs(handler), ['0@host', '1.0@s0', '1.1@s0', '1.0@s1', '1.1@s1']);
  });

  it('onComponentFailure "stop": the others finish the step they are in, start nothing more; every outcome is reported', async () => {
    const comps = onPaths([
      { bus: 'serial', port: '/dev/ttyA' },
      { bus: 'serial', port: '/dev/ttyB' },
      { bus: 'serial', port: '/dev/ttyA' },
    ]);
    const { handler, harness, plan } = await setup(comps, 2);
    // s0 fails (in Apply) while s1 is in the middle of its install; s1 finishes that install only afterwards.
    let s1Writing!: () => void;
    const s1IsWriting = new Promise<void>((r) => (s1Writing = r));
    let s0Failed!: () => void;
    const s0HasFailed = new Promise<void>((r) => (s0Failed = r));
    let bFinished = false;
    handler.override = (action, ctx) => {
      if (action === 'apply' && ctx.component?.id === 's0' && ctx.step === '1.0') {
        setImmediate(s0Failed);
        return result(ResultCode.Failure, 0x30501001, 'flash refused');
      }
      return undefined;
    };
    handler.duringInstall = async (ctx) => {
      if (ctx.component?.id === 's0' && ctx.step === '1.0') await s1IsWriting;
      if (ctx.component?.id === 's1' && ctx.step === '1.0') {
        s1Writing();
        await s0HasFailed;
        assert.equal(ctx.signal.aborted, false, 'a failing neighbour never aborts a write');
        bFinished = true;
      }
    };
    const out = await harness.run(plan);
    assert.equal(out.succeeded, false);
    assert.equal(bFinished, true);
    assert.deepEqual(stepsOf(handler, 's1'), ['1.0'], 's1 finished its current step and stopped');
    assert.deepEqual(stepsOf(handler, 's2'), [], 's2 (waiting for ttyA) never started');
    const byKey = Object.fromEntries(out.outcomes.map((o) => [`${o.step}@${o.componentId ?? 'host'}`, o.outcome]));
    assert.deepEqual(byKey, {
      '0@host': 'installed',
      '1.0@s0': 'failed',
      '1.1@s0': 'not-run',
      '1.0@s1': 'installed',
      '1.1@s1': 'not-run',
      '1.0@s2': 'not-run',
      '1.1@s2': 'not-run',
    });
    assert.equal(out.lastInstallResult.resultCode, ResultCode.Failure);
    assert.equal(out.lastInstallResult.extendedResultCodes, '30501001');
    assert.match(out.lastInstallResult.stepResults.step_1!.resultDetails, /component s0, step 1\.0: flash refused/);
    assert.match(out.outcomes.find((o) => o.componentId === 's2')!.result.resultDetails!, /s0 failed/);
  });

  it('onComponentFailure "continue": the others run all their steps; the reference step still fails', async () => {
    const comps = onPaths([
      { bus: 'serial', port: '/dev/ttyA' },
      { bus: 'serial', port: '/dev/ttyB' },
      { bus: 'serial', port: '/dev/ttyA' },
    ]);
    const { handler, harness, plan } = await setup(comps, 2);
    handler.override = (action, ctx) =>
      action === 'install' && ctx.component?.id === 's0' && ctx.step === '1.0'
        ? result(ResultCode.Failure, 0x30501001, 'flash refused')
        : undefined;
    const out = await harness.run(plan, undefined, { parallel: { onComponentFailure: 'continue' } });
    assert.equal(out.succeeded, false);
    assert.deepEqual(stepsOf(handler, 's1'), ['1.0', '1.1']);
    assert.deepEqual(stepsOf(handler, 's2'), ['1.0', '1.1']);
    assert.equal(out.lastInstallResult.stepResults.step_1!.resultCode, ResultCode.Failure);
    assert.equal(out.outcomes.filter((o) => o.outcome === 'installed').length, 1 + 4);
  });

  it('cancel stops every lane: each running handler is cancelled, nothing else starts', async () => {
    const comps = onPaths([
      { bus: 'serial', port: '/dev/ttyA' },
      { bus: 'serial', port: '/dev/ttyB' },
      { bus: 'serial', port: '/dev/ttyA' },
    ]);
    const { handler, harness, plan } = await setup(comps, 2);
    const ac = new AbortController();
    let started = 0;
    handler.duringInstall = (ctx) => {
      if (!ctx.component) return Promise.resolve();
      if (++started === 2) setImmediate(() => ac.abort());
      return new Promise((_, reject) => {
        const stop = () => reject(new DOMException('aborted', 'AbortError'));
        if (ctx.signal.aborted) stop();
        ctx.signal.addEventListener('abort', stop);
      });
    };
    const out = await harness.run(plan, ac.signal);
    assert.equal(out.cancelled, true);
    assert.equal(out.lastInstallResult.resultCode, ResultCode.FailureCancelled);
    const cancelled = handler.calls.filter((c) => c.action === 'cancel').map((c) => c.componentId);
    assert.deepEqual(cancelled.sort(), ['s0', 's1']);
    assert.deepEqual(stepsOf(handler, 's2'), []);
    assert.deepEqual(
      out.outcomes.filter((o) => o.componentId).map((o) => o.outcome),
      ['cancelled', 'not-run', 'cancelled', 'not-run', 'not-run', 'not-run'],
    );
  });

  it('resumes a run that crashed mid-parallel: finished steps of every lane are not installed again', async () => {
    const comps = onPaths([
      { bus: 'serial', port: '/dev/ttyA' },
      { bus: 'serial', port: '/dev/ttyB' },
    ]);
    const { handler, harness, plan } = await setup(comps, 3);
    const crashed = new WorkflowStateStore(harness.stateDir, plan.workflowId);
    await crashed.begin(plan.update.updateId, plan.manifestSha256);
    // Both lanes were running: s0 had finished two steps, s1 one, when the gateway lost power.
    await Promise.all([
      crashed.record('0@host', result(ResultCode.ApplySuccess)),
      crashed.record('1.0@s0', result(ResultCode.ApplySuccess)),
      crashed.record('1.0@s1', result(ResultCode.ApplySuccess)),
      crashed.record('1.1@s0', result(ResultCode.ApplySuccess)),
    ]);
    const out = await harness.run(plan);
    assert.equal(out.resumed, true);
    assert.equal(out.succeeded, true);
    assert.deepEqual(stepsOf(handler, 's0'), ['1.2']);
    assert.deepEqual(stepsOf(handler, 's1'), ['1.1', '1.2']);
    assert.ok(!installs(handler).includes('0@host'));
  });

  it('keeps every concurrent state write whole: the state file lists every lane step', async () => {
    const comps = onPaths(Array.from({ length: 6 }, (_, i) => ({ bus: 'serial' as const, port: `/dev/tty${i}` })));
    const { harness, plan } = await setup(comps, 2);
    const out = await harness.run(plan);
    assert.equal(out.succeeded, true);
    const { readFile } = await import('node:fs/promises');
    const doc = JSON.parse(await readFile(new WorkflowStateStore(harness.stateDir, plan.workflowId).file, 'utf8'));
    assert.equal(doc.status, 'succeeded');
    assert.equal(Object.keys(doc.steps).length, 1 + 6 * 2);
  });

  describe('Download phase (IsInstalled + Download before anything is flashed)', () => {
    /** The first IsInstalled of each step × component is the Download phase's (installInstance asks again). */
    const firstReads = (h: RecordingHandler, c: ReturnType<typeof concurrency>, n: number) => {
      const seen = new Set<string>();
      h.duringIsInstalled = async (ctx) => {
        const k = `${ctx.step}@${ctx.component?.id ?? 'host'}`;
        if (!ctx.component || seen.has(k)) return;
        seen.add(k);
        await c.enter(ctx, { step: '1.0', n });
        c.leave(ctx);
      };
    };
    const downloadCalls = (h: RecordingHandler) => {
      const firstInstall = h.calls.findIndex((c) => c.action === 'install');
      return h.calls.slice(0, firstInstall === -1 ? undefined : firstInstall);
    };

    it('reads the versions of components on different ports at once, one at a time per port, each in step order', async () => {
      const comps = onPaths([
        { bus: 'serial', port: '/dev/ttyA' },
        { bus: 'serial', port: '/dev/ttyB' },
        { bus: 'can', interface: 'can0' },
        { bus: 'serial', port: '/dev/ttyA' },
      ]);
      const { handler, harness, plan } = await setup(comps, 2);
      const c = concurrency(portOf);
      firstReads(handler, c, 3);
      const out = await harness.run(plan);
      assert.equal(out.succeeded, true);
      assert.equal(c.max, 3, 'three paths read at once');
      for (const [port, n] of c.maxPerKey) assert.equal(n, 1, `${port} carried one read at a time`);
      const early = downloadCalls(handler);
      for (const id of ['s0', 's1', 's2', 's3'])
        assert.deepEqual(
          early.filter((x) => x.componentId === id).map((x) => `${x.action} ${x.step}`),
          ['isInstalled 1.0', 'download 1.0', 'isInstalled 1.1', 'download 1.1'],
          `${id}: IsInstalled then Download, step by step, before any install`,
        );
      // s3 shares ttyA with s0: its reads start after s0's.
      const at = (action: string, step: string, id: string) =>
        early.findIndex((x) => x.action === action && x.step === step && x.componentId === id);
      assert.ok(at('isInstalled', '1.0', 's3') > at('download', '1.1', 's0'));
    });

    it('reads one at a time in the ADU order when parallel flashing is off', async () => {
      const comps = onPaths([
        { bus: 'serial', port: '/dev/ttyA' },
        { bus: 'serial', port: '/dev/ttyB' },
      ]);
      const { handler, harness, plan } = await setup(comps, 2);
      const c = concurrency(portOf);
      handler.duringIsInstalled = async (ctx) => {
        await c.enter(ctx);
        c.leave(ctx);
      };
      const out = await harness.run(plan, undefined, { parallel: { enabled: false } });
      assert.equal(out.succeeded, true);
      assert.equal(c.max, 1);
      assert.deepEqual(
        downloadCalls(handler)
          .filter((x) => x.action === 'download')
          .map((x) => `${x.step}@${x.componentId ?? 'host'}`),
        ['0@host', '1.0@s0', '1.1@s0', '1.0@s1', '1.1@s1'],
      );
    });

    it('a failed Download stops the phase: reads in flight finish, nothing else starts, nothing is flashed', async () => {
      const comps = onPaths([
        { bus: 'serial', port: '/dev/ttyA' },
        { bus: 'serial', port: '/dev/ttyB' },
        { bus: 'serial', port: '/dev/ttyA' },
      ]);
      const { handler, harness, plan } = await setup(comps, 2);
      let s1Failed!: () => void;
      const failed = new Promise<void>((r) => (s1Failed = r));
      handler.override = (action, ctx) => {
        if (action !== 'download' || ctx.component?.id !== 's1') return undefined;
        setImmediate(s1Failed);
        return result(ResultCode.Failure, 0x30000002, 'payload unreadable');
      };
      // s0 is reading its version when s1's download fails: only parallel reads get s1 there.
      handler.duringIsInstalled = async (ctx) => {
        if (ctx.component?.id === 's0' && ctx.step === '1.0') await failed;
      };
      const out = await harness.run(plan);
      assert.equal(out.succeeded, false);
      assert.match(out.lastInstallResult.resultDetails, /download of step 1\.0 for s1: payload unreadable/);
      assert.equal(out.lastInstallResult.stepResults.step_1!.resultCode, ResultCode.Failure);
      assert.deepEqual(installs(handler), [], 'nothing installed after a failed Download phase');
      const calls = handler.calls.map((x) => `${x.action} ${x.step}@${x.componentId ?? 'host'}`);
      assert.ok(calls.includes('download 1.0@s0'), 's0 finished the instance it was in');
      assert.ok(!calls.includes('isInstalled 1.1@s0'), 's0 started nothing more');
      assert.ok(!calls.some((x) => x.endsWith('@s2')), 's2 (queued behind s0 on ttyA) never read');
    });
  });
});
