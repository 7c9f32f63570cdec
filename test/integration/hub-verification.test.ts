import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { startAgent, startHubRig, type HubRig, type InProcessAgent } from '../../hw-fixtures/hub/hub-rig.js';
import { writeSampleUpdate, type SampleUpdate } from '../../hw-fixtures/hub/sample-update.js';

type Obj = Record<string, any>;

async function scriptRuns(rig: HubRig): Promise<string[]> {
  return (await readFile(rig.scriptLog, 'utf8').catch(() => '')).split('\n').filter(Boolean);
}

/** Failed deployments end 255 then 0, no installedUpdateId, with the ERC that says why (§4.4, §5.4). */
function assertFailedSequence(rig: HubRig, id: string): Obj {
  const mine = rig.agentReports().filter((a) => a.workflow?.id === id);
  assert.deepEqual(
    mine.map((a) => a.state),
    [6, 255, 0],
  );
  for (const a of mine.slice(1)) assert.equal('installedUpdateId' in a, false);
  return mine[2]!.lastInstallResult;
}

/**
 * Nothing unverified reaches a handler: bad signature, wrong file hash, dead URL fail before any
 * script runs; a download cut halfway is resumed with a Range request and the update succeeds.
 */
describe('hub agent: signatures and downloads', { timeout: 60_000 }, () => {
  let rig: HubRig;
  let agent: InProcessAgent;
  let update: SampleUpdate;
  beforeEach(async () => {
    rig = await startHubRig();
    update = await writeSampleUpdate(rig.dir, { imageBytes: 3 * 1024 * 1024 + 123 });
    agent = await startAgent(rig);
  });
  afterEach(async () => {
    await agent?.stop();
    await rig?.stop();
  });

  it('rejects a manifest whose signature does not match (ERC A0200004), runs nothing', async () => {
    await rig.deploy({ importManifest: update.parent, workflowId: 'wf-badsig' }, (service) => {
      // The manifest changed after signing: the signed sha256 no longer matches.
      service.updateManifest = (service.updateManifest as string).replace('"hub-parent"', '"hub-parent-x"');
    });
    await rig.waitForReport((a) => a.state === 0 && a.workflow?.id === 'wf-badsig');
    const last = assertFailedSequence(rig, 'wf-badsig');
    assert.equal(last.resultCode, 0);
    assert.equal(last.extendedResultCodes, 'A0200004');
    assert.match(last.resultDetails, /HUB_SIGNATURE_INVALID/);
    assert.deepEqual(last.stepResults, {});
    assert.deepEqual(await scriptRuns(rig), []);
    assert.equal(rig.files.requests.length, 0, 'nothing downloaded before the signature check');
  });

  it('rejects a signature by an untrusted root (ERC A0200007)', async () => {
    const { TestSigner } = await import('../../hw-fixtures/hub/adu-signer.js');
    const stranger = new TestSigner({ rootKid: 'SOMEONE.ELSE.R' });
    await rig.deploy({ importManifest: update.parent, workflowId: 'wf-stranger' }, (service) => {
      service.updateManifestSignature = stranger.sign(service.updateManifest as string);
    });
    await rig.waitForReport((a) => a.state === 0 && a.workflow?.id === 'wf-stranger');
    assert.equal(assertFailedSequence(rig, 'wf-stranger').extendedResultCodes, 'A0200007');
    assert.deepEqual(await scriptRuns(rig), []);
  });

  it('a file that does not match its hash fails with 4000000C before any step runs', async () => {
    // Corrupt the served firmware after its import manifest entry was written: same size, other bytes.
    const path = join(rig.dir, update.imageName!);
    const bytes = await readFile(path);
    bytes[1000] = bytes[1000]! ^ 0xff;
    await writeFile(path, bytes);
    await rig.deploy({ importManifest: update.parent, workflowId: 'wf-hash' });
    await rig.waitForReport((a) => a.state === 0 && a.workflow?.id === 'wf-hash');
    const last = assertFailedSequence(rig, 'wf-hash');
    assert.equal(last.extendedResultCodes, '4000000C');
    assert.match(last.resultDetails, /FILE_HASH_MISMATCH/);
    assert.deepEqual(await scriptRuns(rig), []);
  });

  it('an unreachable file URL (404) fails with 40200194, no step runs', async () => {
    rig.files.missing(update.imageName!);
    await rig.deploy({ importManifest: update.parent, workflowId: 'wf-404' });
    await rig.waitForReport((a) => a.state === 0 && a.workflow?.id === 'wf-404');
    const last = assertFailedSequence(rig, 'wf-404');
    assert.equal(last.extendedResultCodes, '40200194');
    assert.match(last.resultDetails, /HTTP 404/);
    assert.deepEqual(await scriptRuns(rig), []);
  });

  it('a download cut halfway is resumed with a Range request and the deployment succeeds', async () => {
    const size = (await stat(join(rig.dir, update.imageName!))).size;
    rig.files.cutAfter(update.imageName!, Math.floor(size / 2));
    await rig.deploy({ importManifest: update.parent, workflowId: 'wf-cut' });
    const done = await rig.waitForReport((a) => a.state === 0 && a.workflow?.id === 'wf-cut');
    assert.equal(done.installedUpdateId, JSON.stringify({ provider: 'sp-test', name: 'hub-parent', version: '1.0' }));
    const gets = rig.files.requests.filter((r) => r.name === update.imageName!);
    assert.equal(gets.length, 2);
    assert.deepEqual(gets[0], {
      name: update.imageName!,
      range: undefined,
      status: 200,
      bytesSent: Math.floor(size / 2),
    });
    assert.equal(gets[1]!.status, 206);
    // Resumed from what reached the disk (bytes in flight when the socket died are fetched again).
    const from = Number(/^bytes=(\d+)-$/.exec(gets[1]!.range ?? '')?.[1]);
    assert.ok(from > 0 && from <= gets[0]!.bytesSent, `resumed from ${from}`);
    assert.equal(gets[1]!.bytesSent, size - from, 'only the missing tail was fetched');
  });

  it('a mini manifest: the full manifest comes from its detached file (hash-checked) and runs', async () => {
    await rig.deploy({ importManifest: update.parent, workflowId: 'wf-mini', mini: true });
    const done = await rig.waitForReport((a) => a.state === 0 && a.workflow?.id === 'wf-mini');
    assert.equal(done.installedUpdateId, JSON.stringify({ provider: 'sp-test', name: 'hub-parent', version: '1.0' }));
    const served = new Set(rig.files.requests.map((r) => r.name));
    assert.ok(
      [...served].some((n) => n.endsWith('.importmanifest.updatemanifest.json')),
      'the detached full manifest was downloaded',
    );
  });
});
