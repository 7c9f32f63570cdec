import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestSigner } from '../../hw-fixtures/hub/adu-signer.js';
import { startAgent, startHubRig, type HubRig, type InProcessAgent } from '../../hw-fixtures/hub/hub-rig.js';
import { buildRootKeyPackage, tamperRootKeyPackage } from '../../hw-fixtures/hub/root-key-package.js';
import { writeSampleUpdate, type SampleUpdate } from '../../hw-fixtures/hub/sample-update.js';
import { rootKeyStorePath } from '../../src/hub/root-key-store.js';

type Obj = Record<string, any>;

/**
 * The root key package on the real path: the real azure-iot-device SDK agent against the TLS
 * emulator hub, packages served by the emulator's file server and signed by its signer. One
 * agent and one cache across the tests, in order, as a gateway lives through them:
 * no package → rotation → offline (cache) → tampered → revocation → rollback attempt.
 */
describe('hub agent: root key package (rotation, revocation, tampering, offline)', { timeout: 120_000 }, () => {
  let rig: HubRig;
  let agent: InProcessAgent;
  let update: SampleUpdate;
  let rotated: TestSigner;
  let n = 0;
  const deadUrl = 'http://127.0.0.1:9/rootkeypackages/rootkeypackage-9.json';

  before(async () => {
    rig = await startHubRig();
    update = await writeSampleUpdate(rig.dir);
    rotated = new TestSigner({ rootKid: 'SP.TEST.ROOT.ROTATED.R', signingKid: 'SP.TEST.SIGNING.ROTATED.S' });
    agent = await startAgent(rig);
  });
  after(async () => {
    await agent?.stop();
    await rig?.stop();
  });

  /** Publishes `text` on the file server; returns its URL. */
  async function publish(text: string): Promise<string> {
    const name = `rootkeypackage-${++n}.json`;
    const path = join(rig.dir, name);
    await writeFile(path, text);
    return rig.files.add(path, name);
  }

  async function scriptRuns(): Promise<string[]> {
    return (await readFile(rig.scriptLog, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  }

  /** Deploys the sample update (fresh version, so it runs), signed by `signer`; returns the terminal Idle report. */
  async function deploy(id: string, signer: TestSigner, rootKeyPackageUrl?: string): Promise<Obj> {
    const built = await rig.deploy(
      { importManifest: update.parent, workflowId: id, ...(rootKeyPackageUrl && { rootKeyPackageUrl }) },
      (service) => {
        service.updateManifestSignature = signer.sign(service.updateManifest as string);
      },
    );
    assert.equal(built.service.rootKeyPackageUrl, rootKeyPackageUrl);
    return rig.waitForReport((a) => a.state === 0 && a.workflow?.id === id, 30_000, `Idle for ${id}`);
  }

  function states(id: string): number[] {
    return rig
      .agentReports()
      .filter((a) => a.workflow?.id === id)
      .map((a) => a.state as number);
  }

  const cache = () => readFile(rootKeyStorePath(rig.stateDir), 'utf8');

  it('no package and no cache: a manifest under an unknown root is refused (A0200007)', async () => {
    const end = await deploy('wf-rk-none', rotated);
    assert.deepEqual(states('wf-rk-none'), [6, 255, 0]);
    assert.equal(end.lastInstallResult.extendedResultCodes, 'A0200007');
    await assert.rejects(cache(), { code: 'ENOENT' });
  });

  it('offline with no cache: the built-in (configured) root keys verify the manifest and it runs', async () => {
    const end = await deploy('wf-rk-offline-nocache', rig.signer, deadUrl);
    assert.ok(end.installedUpdateId, JSON.stringify(end));
    assert.deepEqual(states('wf-rk-offline-nocache'), [6, 0]);
    await assert.rejects(cache(), { code: 'ENOENT' });
  });

  it('rotation: a package adding a new root is verified, cached, and a manifest under the new root is accepted', async () => {
    const v1 = buildRootKeyPackage({ version: 1, roots: [rig.signer, rotated] });
    const url = await publish(v1);
    const before = (await scriptRuns()).length;
    const end = await deploy('wf-rk-rotation', rotated, url);
    assert.ok(end.installedUpdateId, JSON.stringify(end.lastInstallResult));
    assert.deepEqual(states('wf-rk-rotation'), [6, 0]);
    assert.ok((await scriptRuns()).length > before, 'the update ran');
    assert.equal(await cache(), v1, 'the package is cached byte for byte');
    assert.ok(rig.files.requests.some((r) => r.name === 'rootkeypackage-1.json' && r.status === 200));
  });

  it('offline with a cache: the cached package still trusts the rotated root', async () => {
    const end = await deploy('wf-rk-offline-cached', rotated, deadUrl);
    assert.ok(end.installedUpdateId, JSON.stringify(end.lastInstallResult));
    assert.deepEqual(states('wf-rk-offline-cached'), [6, 0]);
  });

  it('tampered package: rejected with 80600004 before anything runs, cache unchanged', async () => {
    const cachedBefore = await cache();
    const v2 = buildRootKeyPackage({ version: 2, roots: [rig.signer, rotated] });
    const url = await publish(tamperRootKeyPackage(v2, (p) => p.protected.disabledRootKeys.push('ADU.200702.R')));
    const runs = (await scriptRuns()).length;
    const served = rig.files.requests.length;
    const end = await deploy('wf-rk-tampered', rig.signer, url);
    assert.deepEqual(states('wf-rk-tampered'), [6, 255, 0]);
    assert.equal(end.lastInstallResult.extendedResultCodes, '80600004');
    assert.match(
      end.lastInstallResult.resultDetails,
      /HUB_ROOT_KEY_PACKAGE_INVALID: root key package: the RS256 signature of trusted root key SP\.TEST\.ROOT\.R does not verify/,
    );
    assert.deepEqual(end.lastInstallResult.stepResults, {});
    assert.equal((await scriptRuns()).length, runs, 'no step ran');
    assert.deepEqual(
      rig.files.requests.slice(served).map((r) => r.name),
      [`rootkeypackage-${n}.json`],
      'only the package was fetched, no update file',
    );
    assert.equal(await cache(), cachedBefore);
  });

  it('revocation: a manifest signed by a disabled signing key is rejected before any step (A0000005)', async () => {
    const v2 = buildRootKeyPackage({ version: 2, roots: [rig.signer, rotated], disabledSigningKeys: [rig.signer] });
    const url = await publish(v2);
    const runs = (await scriptRuns()).length;
    const served = rig.files.requests.length;
    const end = await deploy('wf-rk-revoked', rig.signer, url);
    assert.deepEqual(states('wf-rk-revoked'), [6, 255, 0]);
    assert.equal(end.lastInstallResult.extendedResultCodes, 'A0000005');
    assert.match(end.lastInstallResult.resultDetails, /signing key SP\.TEST\.SIGNING\.S .* is disabled/);
    assert.equal((await scriptRuns()).length, runs, 'no step ran');
    assert.equal(rig.files.requests.length, served + 1, 'only the package was fetched');
    assert.equal(await cache(), v2, 'the newer package replaced the cache');
    // Keys the package leaves alone still work: the rotated root's signing key.
    const ok = await deploy('wf-rk-revoked-other', rotated, url);
    assert.ok(ok.installedUpdateId, JSON.stringify(ok.lastInstallResult));
  });

  it('rollback: an older package is not adopted; the cached revocation stays in force', async () => {
    const v2 = await cache();
    const url = await publish(buildRootKeyPackage({ version: 1, roots: [rig.signer, rotated] }));
    const end = await deploy('wf-rk-rollback', rig.signer, url);
    assert.deepEqual(states('wf-rk-rollback'), [6, 255, 0]);
    assert.equal(end.lastInstallResult.extendedResultCodes, 'A0000005');
    assert.equal(await cache(), v2);
  });

  it('revoking a root: disabledRootKeys stops manifests under it (A0200005)', async () => {
    const url = await publish(
      buildRootKeyPackage({
        version: 3,
        roots: [rig.signer, rotated],
        disabledRootKeys: [rotated.rootKid],
      }),
    );
    const end = await deploy('wf-rk-root-disabled', rotated, url);
    assert.deepEqual(states('wf-rk-root-disabled'), [6, 255, 0]);
    assert.equal(end.lastInstallResult.extendedResultCodes, 'A0200005');
    // v3 no longer disables the first signing key: it works again.
    const ok = await deploy('wf-rk-root-disabled-anchor', rig.signer, url);
    assert.ok(ok.installedUpdateId, JSON.stringify(ok.lastInstallResult));
  });
});
