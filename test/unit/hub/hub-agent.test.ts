import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { CancelledError } from '../../../drivers/shared/errors.js';
import { ComponentInventory } from '../../../enumerators/component-inventory.js';
import { RecordingHandler } from '../../../hw-fixtures/handlers/recording-handler.js';
import { buildDeployment } from '../../../hw-fixtures/hub/deploy.js';
import { testSigner } from '../../../hw-fixtures/hub/hub-rig.js';
import { MemoryLink } from '../../../hw-fixtures/hub/memory-link.js';
import { UpdateFileServer } from '../../../hw-fixtures/hub/update-file-server.js';
import { writeImportManifest } from '../../../hw-fixtures/updates/import-manifest-builder.js';
import { HandlerRegistry } from '../../../src/handlers/registry.js';
import { HubAgent } from '../../../src/hub/hub-agent.js';
import { boundedDesired } from '../../../src/hub/service-request.js';

const log = pino({ level: 'silent' });

/** Polls `pred` (handler calls have no event to wait on) with a deadline. */
async function until(pred: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The agent's PnP behaviour on an in-memory link: cancel, replacement, retry, duplicates, lost reports. */
describe('HubAgent (deviceUpdate component logic)', { timeout: 30_000 }, () => {
  let files: UpdateFileServer;
  let dir: string;
  let manifest: string;
  let handler: RecordingHandler;
  let link: MemoryLink;
  let agent: HubAgent;
  let gate: { open: () => void };
  let deps: ConstructorParameters<typeof HubAgent>[0]['deployment'];

  before(async () => {
    files = await UpdateFileServer.start();
    dir = await mkdtemp(join(tmpdir(), 'sp-hub-agent-'));
    await writeFile(join(dir, 'payload.bin'), 'firmware');
    manifest = await writeImportManifest(dir, 'u.importmanifest.json', {
      updateId: { provider: 'p', name: 'u', version: '1.0' },
      compatibility: [{ manufacturer: 'sp-test', model: 'gateway' }],
      steps: [
        { handler: 'test/recording:1', files: ['payload.bin'], handlerProperties: { installedCriteria: 'u-1.0' } },
      ],
    });
  });
  after(() => files.stop());

  beforeEach(async () => {
    handler = new RecordingHandler();
    // Installs wait for the gate (or for cancel): a long transfer the test controls.
    let open!: () => void;
    let opened = new Promise<void>((r) => (open = r));
    gate = { open: () => open() };
    handler.duringInstall = (ctx) =>
      new Promise<void>((resolve, reject) => {
        if (ctx.signal.aborted) return reject(new CancelledError(ctx.signal.reason));
        ctx.signal.addEventListener('abort', () => reject(new CancelledError(ctx.signal.reason)), { once: true });
        void opened.then(resolve);
      });
    const handlers = new HandlerRegistry(() => ({ log, config: {} }));
    handlers.register(handler.id, () => handler);
    link = new MemoryLink();
    const state = await mkdtemp(join(tmpdir(), 'sp-hub-agent-state-'));
    deps = {
      inventory: new ComponentInventory([], log),
      handlers,
      stateDir: state,
      workDir: join(state, 'work'),
      hub: { download: { attempts: 2, retryDelayMs: 10, idleTimeoutMs: 5000 } },
      trust: { rootKeys: [testSigner().rootKey] },
    };
    agent = makeAgent(link);
    await agent.start(new AbortController().signal);
    opened = opened.then(() => undefined);
  });

  const makeAgent = (l: MemoryLink) =>
    new HubAgent({
      link: l,
      log,
      reportRetryMs: 20,
      device: {
        manufacturer: 'sp-test',
        model: 'gateway',
        additional: {},
        compatPropertyNames: 'manufacturer,model',
        aduVer: 'DU;sensor-proxy/0.1.0',
      },
      deployment: deps,
    });

  const service = async (id: string, extra: { retryTimestamp?: string } = {}) =>
    (await buildDeployment({ importManifest: manifest, files, signer: testSigner(), workflowId: id, ...extra }))
      .service;
  const states = () => link.agentReports().map((a) => `${a.workflow.id}:${a.state}`);
  const installs = () => handler.calls.filter((c) => c.action === 'install').length;

  it('cancel with nothing in progress is acknowledged and reports no state', async () => {
    link.desired({
      workflow: { action: 255, id: 'nodeployment' },
      updateManifest: null,
      updateManifestSignature: null,
      fileUrls: null,
    });
    await agent.idle();
    assert.equal(link.acks().length, 1);
    assert.equal(link.acks()[0]!.ac, 200);
    assert.deepEqual(states(), []);
  });

  it('an unusable service value is acknowledged with ac 400 and nothing runs', async () => {
    link.desired({ workflow: { action: 3 } });
    await agent.idle();
    assert.equal(link.acks()[0]!.ac, 400);
    assert.match(link.acks()[0]!.ad, /workflow.id/);
    assert.deepEqual(states(), []);
  });

  it('a duplicate delivery while running is ignored; one 6, one terminal report', async () => {
    const s = await service('wf-dup');
    link.desired(s);
    await until(() => installs() === 1);
    link.desired(s);
    gate.open();
    await link.waitFor(() => states().includes('wf-dup:0'));
    await agent.idle();
    assert.deepEqual(states(), ['wf-dup:6', 'wf-dup:0']);
    assert.equal(installs(), 1);
  });

  it('a new workflow id replaces the running one: only the new one is reported to the end', async () => {
    link.desired(await service('wf-old'));
    await until(() => installs() === 1);
    link.desired(await service('wf-new'));
    await until(() => installs() === 2);
    gate.open();
    await link.waitFor(() => states().includes('wf-new:0'));
    await agent.idle();
    assert.deepEqual(states(), ['wf-old:6', 'wf-new:6', 'wf-new:0']);
  });

  it('retry (same id, new retryTimestamp) after a failure runs the workflow again', async () => {
    handler.override = (action) =>
      action === 'install' && installs() === 1 ? { resultCode: 0, extendedResultCode: 0x30200001 } : undefined;
    gate.open();
    link.desired(await service('wf-retry'));
    await link.waitFor(() => states().filter((s) => s === 'wf-retry:0').length === 1);
    link.desired(await service('wf-retry', { retryTimestamp: '2026-11-23T13:00:00Z' }));
    await link.waitFor(() => states().filter((s) => s === 'wf-retry:0').length === 2);
    await agent.idle();
    assert.deepEqual(states(), ['wf-retry:6', 'wf-retry:255', 'wf-retry:0', 'wf-retry:6', 'wf-retry:0']);
    const last = link.agentReports().at(-1)!;
    assert.equal(last.workflow.retryTimestamp, '2026-11-23T13:00:00Z');
    assert.ok(last.installedUpdateId);
  });

  it('reports refused while the link is down are re-sent, in order', async () => {
    gate.open();
    link.failNext = 3;
    link.desired(await service('wf-lost'));
    await link.waitFor(() => states().includes('wf-lost:0'));
    assert.deepEqual(states(), ['wf-lost:6', 'wf-lost:0']);
  });

  it('after a crash mid-deployment, a cancel found at startup closes it with Idle -1', async () => {
    link.desired(await service('wf-crash'));
    await until(() => installs() === 1);
    // A second agent on the same state folder, as after a crash (the first one never reports again).
    const link2 = new MemoryLink();
    const agent2 = makeAgent(link2);
    await agent2.start(new AbortController().signal);
    link2.desired({
      workflow: { action: 255, id: 'nodeployment' },
      updateManifest: null,
      updateManifestSignature: null,
      fileUrls: null,
    });
    await link2.waitFor(() => link2.agentReports().length === 1);
    const r = link2.agentReports()[0]!;
    assert.equal(r.workflow.id, 'wf-crash');
    assert.equal(r.state, 0);
    assert.equal(r.lastInstallResult.resultCode, -1);
    gate.open();
    await agent.idle();
  });

  // Issue 13 item 4: a manifest or desired document over the size limit ends in a terminal failure
  // report naming the limit; nothing is hashed, verified, downloaded or installed.
  it('an updateManifest over 1 MiB is refused by its size: ack 200, then Failed with MANIFEST_TOO_LARGE', async () => {
    const s = await service('wf-huge');
    link.desired({ ...s, updateManifest: `{"description":"${'x'.repeat(2 * 1024 * 1024)}"}` });
    await link.waitFor(() => states().includes('wf-huge:255'));
    await agent.idle();
    const r = link.agentReports().at(-1)!;
    assert.equal(r.lastInstallResult.resultCode, 0);
    assert.match(
      r.lastInstallResult.resultDetails,
      /MANIFEST_TOO_LARGE.*updateManifest: manifest is 2 MiB; the limit is 1 MiB/,
    );
    assert.equal(installs(), 0);
  });

  it('a desired document the link cut down (boundedDesired) is refused with MANIFEST_TOO_LARGE', async () => {
    const s = await service('wf-cut');
    const live = { deviceUpdate: { __t: 'c', service: { ...s, junk: 'x'.repeat(2 * 1024 * 1024) } }, $version: 9 };
    const { desired } = boundedDesired(live);
    link.sink!.onDesired(desired, 9);
    await link.waitFor(() => states().includes('wf-cut:255'));
    await agent.idle();
    assert.equal(link.acks().at(-1)!.ac, 200);
    assert.equal(link.acks().at(-1)!.value.junk, undefined);
    assert.match(
      link.agentReports().at(-1)!.lastInstallResult.resultDetails,
      /MANIFEST_TOO_LARGE.*desired property is more than 1 MiB/,
    );
    assert.equal(installs(), 0);
  });
});
