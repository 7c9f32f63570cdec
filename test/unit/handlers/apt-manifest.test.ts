import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isAptManifest, parseAptManifest } from '../../../src/handlers/apt/apt-manifest.js';
import { resolveAptHandlerConfig } from '../../../src/handlers/apt/apt-handler.js';
import { isCriteriaInstalled, persistInstalledCriteria } from '../../../src/handlers/apt/installed-criteria-file.js';

describe('microsoft/apt:1 manifest, config and installed criteria', () => {
  it('parses the ADU APT manifest: versions pinned as name=version, agent restart implied by the own package', () => {
    const m = parseAptManifest(
      JSON.stringify({
        name: 'gw',
        version: '1.0',
        packages: [{ name: 'tree', version: '2.1.0-1' }, { name: 'sensor-proxy' }],
      }),
      ['sensor-proxy'],
    );
    assert.ok(isAptManifest(m));
    assert.deepEqual(m.packages, ['tree=2.1.0-1', 'sensor-proxy']);
    assert.equal(m.agentRestartRequired, true);
    const n = parseAptManifest(JSON.stringify({ name: 'a', version: '1', packages: [{ name: 'tree' }] }), [
      'sensor-proxy',
    ]);
    assert.ok(isAptManifest(n) && !n.agentRestartRequired);
    const f = parseAptManifest(
      JSON.stringify({ name: 'a', version: '1', packages: [{ name: 'tree' }], agentRestartRequired: true }),
      [],
    );
    assert.ok(isAptManifest(f) && f.agentRestartRequired);
  });

  it('rejects what apt-get must never see, with the ADU ERC', () => {
    const erc = (doc: unknown) => {
      const r = parseAptManifest(typeof doc === 'string' ? doc : JSON.stringify(doc), []);
      return isAptManifest(r) ? 'parsed' : r.extendedResultCode;
    };
    assert.equal(erc('not json'), 0x30000068);
    assert.equal(erc({ version: '1', packages: [{ name: 'a1' }] }), 0x30000068);
    assert.equal(erc({ name: 'a', packages: [{ name: 'a1' }] }), 0x30000068);
    assert.equal(erc({ name: 'a', version: '1', packages: [] }), 0x30200002);
    assert.equal(erc({ name: 'a', version: '1' }), 0x30200002);
    assert.equal(erc({ name: 'a', version: '1', packages: [{ name: '--allow-unauthenticated' }] }), 0x30200002);
    assert.equal(erc({ name: 'a', version: '1', packages: [{ name: 'tree', version: '1 -o x' }] }), 0x30200002);
  });

  it('config: defaults from the state folder; unknown keys and bad values named', () => {
    const c = resolveAptHandlerConfig({}, '/var/lib/sp');
    assert.deepEqual(c.aptGet, ['apt-get']);
    assert.equal(c.installedCriteriaFile, '/var/lib/sp/installedcriteria');
    assert.throws(
      () => resolveAptHandlerConfig({ aptGet: 'sudo apt-get', tiemout: 1 }, '/x'),
      (e: Error & { code?: string }) =>
        e.code === 'CONFIG_INVALID' && /aptGet: must be/.test(e.message) && /tiemout: unknown key/.test(e.message),
    );
  });

  it('installed criteria: ADU file format, exact match, one entry per criteria, unreadable file = not installed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sp-ic-'));
    const file = join(dir, 'installedcriteria');
    assert.equal(await isCriteriaInstalled(file, 'a-1'), false);
    await persistInstalledCriteria(file, 'a-1');
    await persistInstalledCriteria(file, 'a-1');
    await persistInstalledCriteria(file, 'b-2');
    assert.equal(await isCriteriaInstalled(file, 'a-1'), true);
    assert.equal(await isCriteriaInstalled(file, 'a-'), false);
    const doc = JSON.parse(await readFile(file, 'utf8'));
    assert.deepEqual(
      doc.map((e: { installedCriteria: string; state: string }) => `${e.installedCriteria}:${e.state}`),
      ['a-1:installed', 'b-2:installed'],
    );
    await writeFile(file, '[{"installedCriteria":"c-3","state":"failed","timestamp":1}]');
    assert.equal(await isCriteriaInstalled(file, 'c-3'), false);
    await writeFile(file, '{garbage');
    assert.equal(await isCriteriaInstalled(file, 'a-1'), false);
  });
});
