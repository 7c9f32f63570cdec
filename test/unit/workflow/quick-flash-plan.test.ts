import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { RecordingHandler } from '../../../hw-fixtures/handlers/recording-handler.js';
import { buildTestImage } from '../../../hw-fixtures/serial/test-image.js';
import { withDfuSuffix } from '../../../drivers/usb/dfu/dfu-suffix.js';
import { checkImage } from '../../../src/cli/quick-flash/image-check.js';
import type { Component } from '../../../src/model/component.js';
import { isSensorProxyError } from '../../../src/model/errors.js';
import type { StepContext } from '../../../src/model/handler.js';
import type { WorkflowEvent } from '../../../src/model/events.js';
import { ResultCode } from '../../../src/model/result-codes.js';
import { runWorkflow, WorkflowInterrupted } from '../../../src/workflow/engine.js';
import { planQuickFlash } from '../../../src/workflow/quick/quick-plan.js';
import { VersionRecordingHandler } from '../../../src/workflow/quick/version-recorder.js';
import { WorkflowStateStore } from '../../../src/workflow/workflow-state.js';

const log = pino({ level: 'silent' });

/** A recording handler that also says which version each component runs (installedCriteria once installed). */
class VersionedHandler extends RecordingHandler {
  readonly running = new Map<string, string>();
  async readVersion(ctx: StepContext): Promise<string | undefined> {
    return this.running.get(ctx.component!.id);
  }
  override async install(ctx: StepContext) {
    const r = await super.install(ctx);
    if (r.resultCode === ResultCode.InstallSuccess) this.running.set(ctx.component!.id, ctx.installedCriteria ?? 'new');
    return r;
  }
}

const comp = (id: string, port: string): Component => ({
  id,
  name: id,
  group: 'quick-flash',
  manufacturer: 'unknown',
  model: 'unknown',
  properties: { bus: 'serial', port, physicalPath: `serial:${port}` },
});

async function setup(hp: Record<string, unknown>, alwaysInstall: boolean) {
  const dir = await mkdtemp(join(tmpdir(), 'sp-quick-plan-'));
  const image = join(dir, 'fw.bin');
  const bytes = Buffer.from('firmware image bytes');
  await writeFile(image, bytes);
  const inner = new VersionedHandler('sensor-proxy/smp:1');
  const handler = new VersionRecordingHandler(inner, { alwaysInstall });
  const spec = {
    image,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    sizeInBytes: bytes.length,
    handler,
    handlerProperties: hp,
    components: [comp('a', '/dev/ttyA'), comp('b', '/dev/ttyB')],
    workDir: join(dir, 'work'),
  };
  const events: WorkflowEvent[] = [];
  const run = async (signal = new AbortController().signal) => {
    const plan = await planQuickFlash(spec);
    const out = await runWorkflow({
      plan,
      state: new WorkflowStateStore(join(dir, 'state'), plan.workflowId),
      signal,
      log,
      emit: (e) => events.push(e),
    });
    return { plan, out };
  };
  return { dir, spec, inner, handler, events, run };
}

describe('quick flash plan through the workflow engine', () => {
  it('one reference step, one lane per target; the hash-checked copy is what the handler gets; versions recorded', async () => {
    const s = await setup({ installedCriteria: '2.0.0' }, false);
    s.inner.running.set('a', '1.0.0');
    s.inner.running.set('b', '1.1.0');
    const { plan, out } = await s.run();
    assert.match(plan.workflowId, /^quick-[0-9a-f]{16}$/);
    assert.equal(plan.steps.length, 1);
    const ref = plan.steps[0]!;
    assert.ok(ref.kind === 'reference');
    assert.deepEqual(
      ref.components.map((c) => c.id),
      ['a', 'b'],
    );
    const file = ref.steps[0]!.files[0]!;
    assert.notEqual(file.path, s.spec.image, 'a copy in the work folder');
    assert.equal(file.hashes.sha256, Buffer.from(s.spec.sha256, 'hex').toString('base64'));
    assert.equal(out.succeeded, true);
    assert.deepEqual(
      out.outcomes.map((o) => [o.componentId, o.outcome]),
      [
        ['a', 'installed'],
        ['b', 'installed'],
      ],
    );
    assert.deepEqual(s.handler.versions.get('a'), { before: '1.0.0', after: '2.0.0' });
    assert.deepEqual(s.handler.versions.get('b'), { before: '1.1.0', after: '2.0.0' });
    assert.ok(s.inner.calls.every((c) => c.installedCriteria === '2.0.0'));
  });

  it('the same command again is the same workflow: installed sensors are skipped (603)', async () => {
    const s = await setup({ installedCriteria: '2.0.0' }, false);
    const first = await s.run();
    const second = await s.run();
    assert.equal(first.plan.workflowId, second.plan.workflowId);
    assert.deepEqual(
      second.out.outcomes.map((o) => o.outcome),
      ['skipped-installed', 'skipped-installed'],
    );
    assert.equal(s.inner.calls.filter((c) => c.action === 'install').length, 2, 'installed once each');
  });

  it('a run cut short resumes: the target that finished is not flashed again', async () => {
    const s = await setup({}, true);
    const stop = new AbortController();
    s.inner.duringInstall = async (ctx) => {
      if (ctx.component?.id !== 'b') return;
      // The gateway goes down while b is being written, after a finished.
      while (!s.inner.installed.has('0.0@a')) await new Promise((r) => setTimeout(r, 5));
      stop.abort(new WorkflowInterrupted('agent stopping'));
    };
    const first = await s.run(stop.signal);
    assert.equal(first.out.suspended, 'interrupted');
    s.inner.duringInstall = async () => {};
    const second = await s.run();
    assert.equal(second.out.resumed, true);
    assert.equal(second.out.succeeded, true, JSON.stringify(second.out.lastInstallResult));
    assert.deepEqual(
      second.out.outcomes.map((o) => [o.componentId, o.outcome]),
      [
        ['a', 'skipped-resumed'],
        ['b', 'installed'],
      ],
    );
    assert.equal(s.inner.calls.filter((c) => c.action === 'install' && c.componentId === 'a').length, 1);
  });

  it('alwaysInstall (no version, or --force) flashes whatever runs, without asking the handler', async () => {
    const s = await setup({ installedCriteria: '2.0.0' }, true);
    s.inner.installed.add('2.0.0@a');
    s.inner.running.set('a', '2.0.0');
    const { out } = await s.run();
    assert.equal(out.outcomes[0]!.outcome, 'installed');
    assert.ok(!s.inner.calls.some((c) => c.action === 'isInstalled'), 'IsInstalled answered by the wrapper');
    assert.equal(s.handler.versions.get('a')!.before, '2.0.0');
  });
});

describe('quick flash image checks', () => {
  const rejected = (re: RegExp) => (e: unknown) =>
    isSensorProxyError(e) && e.code === 'IMAGE_REJECTED' && re.test(e.message);

  it('smp takes an MCUboot image and reads its version; refuses a raw binary', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sp-img-'));
    const signed = join(dir, 'zephyr.signed.bin');
    await writeFile(signed, buildTestImage('1.4.2', 1000, 1));
    assert.deepEqual(await checkImage(signed, 'smp', { dfuRequireSuffix: false }), {
      sizeInBytes: (await readFile(signed)).length,
      version: '1.4.2',
    });
    const raw = join(dir, 'zephyr.bin');
    await writeFile(raw, Buffer.alloc(1000, 1));
    await assert.rejects(checkImage(raw, 'smp', { dfuRequireSuffix: false }), rejected(/not an MCUboot image/));
    const empty = join(dir, 'empty.bin');
    await writeFile(empty, Buffer.alloc(0));
    await assert.rejects(checkImage(empty, 'ymodem', { dfuRequireSuffix: false }), rejected(/empty/));
  });

  it('dfu: a bad suffix CRC is refused; no suffix only where requireSuffix is set', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sp-img-'));
    const plain = join(dir, 'fw.bin');
    await writeFile(plain, Buffer.alloc(2048, 7));
    assert.equal((await checkImage(plain, 'dfu', { dfuRequireSuffix: false })).sizeInBytes, 2048);
    await assert.rejects(checkImage(plain, 'dfu', { dfuRequireSuffix: true }), rejected(/no DFU suffix/));
    const withSuffix = Buffer.from(withDfuSuffix(Buffer.alloc(2048, 7), { vendorId: 0x483, productId: 0xdf11 }));
    const good = join(dir, 'fw.dfu');
    await writeFile(good, withSuffix);
    assert.equal((await checkImage(good, 'dfu', { dfuRequireSuffix: true })).sizeInBytes, withSuffix.length);
    withSuffix[100] ^= 0xff;
    const bad = join(dir, 'bad.dfu');
    await writeFile(bad, withSuffix);
    await assert.rejects(checkImage(bad, 'dfu', { dfuRequireSuffix: true }), rejected(/CRC/));
  });
});
