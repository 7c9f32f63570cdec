import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RecordingHandler } from '../../../hw-fixtures/handlers/recording-handler.js';
import { engineHarness } from '../../../hw-fixtures/updates/engine-fixture.js';
import { writeImportManifest, type ImportManifestSpec } from '../../../hw-fixtures/updates/import-manifest-builder.js';
import type { Component } from '../../../src/model/component.js';
import { ResultCode, result } from '../../../src/model/result-codes.js';

const H = 'test/recording:1';

const comp = (id: string, group: string, port: string): Component => ({
  id,
  name: id,
  group,
  manufacturer: 'test',
  model: 'sensor',
  properties: { bus: 'serial', port },
});

/**
 * A parent as a cross-bus update is published: one reference step per child (group a, group b,
 * group c), then an inline step on the host. Each child has two steps.
 */
async function crossBus(groups: string[]) {
  const handler = new RecordingHandler(H);
  const comps = [
    comp('a0', 'a', '/dev/ttyA'),
    comp('a1', 'a', '/dev/ttyB'),
    comp('b0', 'b', '/dev/ttyC'),
    comp('c0', 'c', '/dev/ttyD'),
  ];
  const harness = await engineHarness([handler], comps);
  await writeFile(join(harness.dir, 'payload.bin'), 'firmware');
  const step = (i: number, prefix: string) => ({
    handler: H,
    description: `${prefix} ${i}`,
    files: ['payload.bin'],
    handlerProperties: { installedCriteria: `${prefix}-${i}` },
  });
  const refs = [];
  for (const [k, g] of groups.entries()) {
    const child: ImportManifestSpec = {
      updateId: { provider: 'test', name: `child-${k}`, version: '1.0' },
      isDeployable: false,
      compatibility: [{ group: g }],
      steps: [step(0, `${g}${k}`), step(1, `${g}${k}`)],
    };
    await writeImportManifest(harness.dir, `child-${k}.importmanifest.json`, child);
    refs.push({ type: 'reference' as const, updateId: child.updateId });
  }
  const manifest = await writeImportManifest(harness.dir, 'parent.importmanifest.json', {
    updateId: { provider: 'test', name: 'parent', version: '1.0' },
    compatibility: [{ manufacturer: 'test', model: 'gateway' }],
    steps: [...refs, step(0, 'host')],
  });
  return { handler, harness, plan: await harness.plan(manifest) };
}

/** Makes the first install of every component wait until `n` components are inside at once (no timing asserted). */
function barrier(n: number) {
  let inside = 0;
  let max = 0;
  let open = false;
  const seen = new Set<string>();
  return {
    get max() {
      return max;
    },
    async enter(id: string) {
      max = Math.max(max, ++inside);
      if (inside >= n) open = true;
      if (!seen.has(id)) {
        seen.add(id);
        const deadline = Date.now() + 10_000;
        while (!open) {
          if (Date.now() > deadline) throw new Error(`only ${inside} of ${n} components ever ran at once`);
          await new Promise((r) => setTimeout(r, 5));
        }
      }
      inside--;
    },
  };
}

const installs = (h: RecordingHandler) =>
  h.calls.filter((c) => c.action === 'install').map((c) => `${c.step}@${c.componentId ?? 'host'}`);

describe('workflow engine: parallel.acrossReferenceSteps', () => {
  it('off (default): reference steps run one after the other, as the ADU agent runs parent steps', async () => {
    const { handler, harness, plan } = await crossBus(['a', 'b', 'c']);
    const out = await harness.run(plan);
    assert.equal(out.succeeded, true);
    const order = installs(handler);
    assert.ok(order.indexOf('1.0@b0') > order.indexOf('0.1@a0') && order.indexOf('1.0@b0') > order.indexOf('0.1@a1'));
    assert.ok(order.indexOf('2.0@c0') > order.indexOf('1.1@b0'));
  });

  it('on: the reference steps run together, each component in its own step order; the host step waits for all', async () => {
    const { handler, harness, plan } = await crossBus(['a', 'b', 'c']);
    const b = barrier(4);
    handler.duringInstall = async (ctx) => {
      if (ctx.component) await b.enter(ctx.component.id);
    };
    const out = await harness.run(plan, undefined, { parallel: { acrossReferenceSteps: true } });
    assert.equal(out.succeeded, true, JSON.stringify(out.lastInstallResult));
    assert.equal(b.max, 4, 'all four components (three reference steps) inside at once');
    const order = installs(handler);
    for (const [id, s] of [
      ['a0', '0'],
      ['a1', '0'],
      ['b0', '1'],
      ['c0', '2'],
    ] as const)
      assert.ok(order.indexOf(`${s}.0@${id}`) < order.indexOf(`${s}.1@${id}`), `${id} in step order`);
    assert.equal(order.at(-1), '3@host', 'the inline parent step after them runs last');
    assert.deepEqual(Object.keys(out.lastInstallResult.stepResults), ['step_0', 'step_1', 'step_2', 'step_3']);
    for (const k of ['step_0', 'step_1', 'step_2'])
      assert.equal(out.lastInstallResult.stepResults[k]!.resultCode, ResultCode.ApplySuccess, k);
  });

  it('on: a failure in one reference step lets the others finish their step, reports every step, stops the parent', async () => {
    const { handler, harness, plan } = await crossBus(['a', 'b']);
    let failed = false;
    handler.override = (action, ctx) => {
      if (action !== 'install' || ctx.step !== '1.0' || ctx.component?.id !== 'b0') return undefined;
      failed = true;
      return result(ResultCode.Failure, 0x30000001, 'b0 broke');
    };
    // a0 and a1 are mid-install when b0 fails: run one after the other, b0 would never start.
    handler.duringInstall = async (ctx) => {
      const deadline = Date.now() + 10_000;
      while (!failed) {
        if (Date.now() > deadline) throw new Error(`${ctx.component?.id} never saw b0 run alongside it`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const out = await harness.run(plan, undefined, { parallel: { acrossReferenceSteps: true } });
    assert.equal(out.succeeded, false);
    const byKey = new Map(out.outcomes.map((o) => [`${o.step}@${o.componentId ?? 'host'}`, o.outcome]));
    assert.equal(byKey.get('1.0@b0'), 'failed');
    assert.equal(byKey.get('0.0@a0'), 'installed', 'a0 finished the step it was in');
    assert.equal(byKey.get('0.0@a1'), 'installed', 'a1 finished the step it was in');
    assert.equal(byKey.get('0.1@a0'), 'not-run');
    assert.equal(byKey.get('1.1@b0'), 'not-run');
    assert.equal(out.lastInstallResult.stepResults.step_1!.resultCode, ResultCode.Failure);
    const step0 = out.lastInstallResult.stepResults.step_0!;
    assert.equal(step0.resultCode, ResultCode.Failure, 'step 0 was stopped part-way: not applied');
    assert.match(step0.resultDetails, /^not run: component b0 failed at step 1\.0/);
    assert.equal(out.lastInstallResult.extendedResultCodes, '30000001', "the update's failure is b0's");
    assert.match(out.lastInstallResult.resultDetails, /^step 1: .*b0 broke/);
    assert.ok(!installs(handler).includes('2@host'), 'the host step never ran');
  });

  it('on: reference steps that select the same component are not run together', async () => {
    const { handler, harness, plan } = await crossBus(['a', 'a']);
    const out = await harness.run(plan, undefined, { parallel: { acrossReferenceSteps: true } });
    assert.equal(out.succeeded, true);
    const order = installs(handler);
    assert.ok(order.indexOf('1.0@a0') > order.indexOf('0.1@a0') && order.indexOf('1.0@a0') > order.indexOf('0.1@a1'));
  });
});
