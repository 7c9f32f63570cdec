import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { MemoryToyBus } from '../../../docs/examples/toy-bus/drivers/memory-toy-bus.js';
import { toyEnumeratorFactory } from '../../../docs/examples/toy-bus/enumerators/toy-enumerator.js';
import { TOY_HANDLER_ID, ToyErc, toyHandlerFactory } from '../../../docs/examples/toy-bus/handlers/toy-handler.js';
import { ComponentInventory } from '../../../enumerators/component-inventory.js';
import { writeImportManifest } from '../../../hw-fixtures/updates/import-manifest-builder.js';
import { HandlerRegistry } from '../../../src/handlers/registry.js';
import { loadManifestFile } from '../../../src/manifest/index.js';
import type { WorkflowEvent } from '../../../src/model/events.js';
import { ResultCode } from '../../../src/model/result-codes.js';
import { runWorkflow } from '../../../src/workflow/engine.js';
import { LocalFileSource } from '../../../src/workflow/file-source.js';
import { planUpdate } from '../../../src/workflow/update-plan.js';
import { WorkflowStateStore } from '../../../src/workflow/workflow-state.js';

/**
 * The worked example of docs/extending.md, end to end: the toy enumerator and the toy handler are
 * registered the way the gateway registers the built-ins, an import manifest with a reference step
 * for the `toys` group is planned and run by the real engine, and the simulated devices show what
 * was flashed.
 */
const log = pino({ level: 'silent' });
const IMAGE = Buffer.concat([Buffer.from('TOYFW 2.0.0\n'), Buffer.alloc(300, 0xa5)]);

async function deploy(bus: MemoryToyBus, workflowId: string) {
  const dir = await mkdtemp(join(tmpdir(), 'sp-toy-'));
  await writeFile(join(dir, 'toy-2.0.0.bin'), IMAGE);
  const child = { provider: 'example', name: 'toy-fw', version: '2.0.0' };
  await writeImportManifest(dir, 'child.importmanifest.json', {
    updateId: child,
    isDeployable: false,
    compatibility: [{ group: 'toys' }],
    steps: [{ handler: TOY_HANDLER_ID, files: ['toy-2.0.0.bin'], handlerProperties: { installedCriteria: '2.0.0' } }],
  });
  const parent = await writeImportManifest(dir, 'parent.importmanifest.json', {
    updateId: { provider: 'example', name: 'toys', version: '2.0.0' },
    compatibility: [{ manufacturer: 'example', model: 'gateway' }],
    steps: [{ type: 'reference', updateId: child }],
  });

  // What buildGateway does for the built-ins: one enumerator per config entry, one factory per handler id.
  const handlers = new HandlerRegistry(() => ({ log, config: { chunkSize: 32 } }));
  handlers.register(TOY_HANDLER_ID, toyHandlerFactory(bus));
  const enumerator = toyEnumeratorFactory(bus)({ type: 'toy', group: 'toys' }, { log, baseDir: dir });
  const inventory = new ComponentInventory([enumerator], log);

  const loaded = await loadManifestFile(parent);
  const plan = await planUpdate({
    workflowId,
    update: loaded.update,
    manifestSha256: loaded.sha256,
    workDir: join(dir, 'work'),
    fileSource: new LocalFileSource(dir),
    filesDir: dir,
    inventory,
    handlers,
  });
  const events: WorkflowEvent[] = [];
  const outcome = await runWorkflow({
    plan,
    state: new WorkflowStateStore(join(dir, 'state'), workflowId),
    signal: new AbortController().signal,
    log,
    emit: (e) => events.push(e),
  });
  return { outcome, events };
}

function twoToys(): MemoryToyBus {
  return new MemoryToyBus()
    .add(3, { model: 'blinker', serial: 'A1', version: '1.0.0', flash: new Uint8Array(0) })
    .add(7, { model: 'blinker', serial: 'B2', version: '1.0.0', flash: new Uint8Array(0) });
}

describe('docs/examples/toy-bus: a new handler and enumerator, end to end', () => {
  it('the enumerator lists each device with the address the handler needs', async () => {
    const e = toyEnumeratorFactory(twoToys())({ type: 'toy', group: 'toys' }, { log, baseDir: '.' });
    const comps = await e.getAllComponents();
    assert.deepEqual(
      comps.map((c) => [c.id, c.group, c.version, c.properties['address']]),
      [
        ['toy-A1', 'toys', '1.0.0', 3],
        ['toy-B2', 'toys', '1.0.0', 7],
      ],
    );
    assert.throws(() => toyEnumeratorFactory(twoToys())({ group: 5 }, { log, baseDir: '.' }), /group must be/);
  });

  it('a deployment flashes every toy of the group, and the next one finds them installed', async () => {
    const bus = twoToys();
    const { outcome, events } = await deploy(bus, 'wf-toy-1');
    assert.equal(outcome.succeeded, true, JSON.stringify(outcome.lastInstallResult));
    for (const d of bus.devices.values()) {
      assert.equal(d.version, '2.0.0');
      assert.deepEqual(Buffer.from(d.flash), IMAGE);
    }
    const phases = events.filter((e) => e.type === 'step.phase').map((e) => e.phase);
    assert.ok(phases.includes('transfer') && phases.includes('verify'), phases.join(','));

    const again = await deploy(bus, 'wf-toy-2');
    assert.equal(again.outcome.succeeded, true);
    assert.equal(
      again.events.filter((e) => e.type === 'step.phase').length,
      0,
      'nothing is flashed when installedCriteria already holds',
    );
  });

  it('a device whose writes arrive corrupted fails with the toy hash-mismatch ERC and keeps its version', async () => {
    const bus = twoToys();
    bus.devices.get(7)!.corruptWrites = true;
    const { outcome } = await deploy(bus, 'wf-toy-3');
    assert.equal(outcome.succeeded, false);
    assert.equal(outcome.lastInstallResult.resultCode, ResultCode.Failure);
    const failed = outcome.outcomes.find((o) => o.componentId === 'toy-B2');
    assert.ok(failed, JSON.stringify(outcome.outcomes));
    assert.equal(failed.result.extendedResultCode, ToyErc.HashMismatch);
    assert.equal(bus.devices.get(7)!.version, '1.0.0');
    assert.equal(bus.devices.get(3)!.version, '2.0.0');
  });
});
