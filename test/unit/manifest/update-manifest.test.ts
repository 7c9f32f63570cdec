/** Update manifests v4/v5 as the service sends them, detached child files and mini manifests. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { FIXTURES, fixturePath, readNamedFixture } from '../../../hw-fixtures/manifests/fixture-dir.js';
import {
  isMiniManifest,
  parseDetachedManifestFile,
  parseMiniManifest,
  parseUpdateManifest,
} from '../../../src/manifest/index.js';
import { expectCode, violationsOf } from './assert-manifest-error.js';

describe('parseUpdateManifest', () => {
  it('parses a v4 manifest: steps reference file ids, fileName is read', () => {
    const u = parseUpdateManifest(readNamedFixture('updateOne'), 'twin');
    assert.equal(u.kind, 'update');
    assert.equal(u.manifestVersion, '4');
    assert.deepEqual(u.steps[0], {
      type: 'inline',
      handler: 'microsoft/apt:1',
      files: ['f483750ebb885d32c'],
      handlerProperties: { installedCriteria: 'apt-update-test-1.0' },
    });
    assert.equal(u.files.f483750ebb885d32c?.id, 'f483750ebb885d32c');
    assert.equal(u.files.f483750ebb885d32c?.fileName, 'apt-manifest-1.0.json');
  });

  it('parses a v5 manifest given as the JSON string of the twin, reading "filename" too', () => {
    const text = readFileSync(fixturePath(...FIXTURES.update), 'utf8');
    const u = parseUpdateManifest(text, 'twin');
    assert.equal(u.manifestVersion, '5');
    assert.equal(u.files.f2c5d4cb3a5f4c4a1?.fileName, 'apt-manifest-tree-1.0.json');
    assert.equal(u.steps.length, 2);
  });

  for (const version of ['4', '5', '4.0', '5.0']) {
    it(`accepts manifestVersion ${JSON.stringify(version)}`, () => {
      const doc = readNamedFixture('update') as Record<string, unknown>;
      doc.manifestVersion = version;
      assert.equal(parseUpdateManifest(doc, 'x').manifestVersion, version);
    });
  }

  it('names the supported range when the version is outside 4..5', async () => {
    const doc = readNamedFixture('update') as Record<string, unknown>;
    doc.manifestVersion = '3';
    const [v] = await violationsOf(() => parseUpdateManifest(doc, 'x'));
    assert.equal(v?.rule, 'supported range 4..5');
    assert.match(v!.message, /4 to 5/);
  });

  it('parses a reference step: detachedManifestFileId is a key of files', () => {
    const u = parseUpdateManifest(readNamedFixture('updateParent'), 'parent');
    assert.deepEqual(u.steps, [{ type: 'reference', detachedManifestFileId: 'f222b9ffefaaac577' }]);
    assert.equal(u.files.f222b9ffefaaac577?.fileName, 'contoso.virtual-camera.1.2.updatemanifest.json');
  });

  it('reports a JSON syntax error in the twin string with line and column', async () => {
    const e = await expectCode(
      () => parseUpdateManifest('{\n  "manifestVersion": "5",\n  "updateId": {,\n}', 'twin'),
      'MANIFEST_INVALID_JSON',
    );
    assert.equal(e.details.line, 3);
    assert.equal(e.details.column, 16);
    assert.match(e.message, /^twin:3:16: invalid JSON/);
  });

  it('refuses a mini manifest, naming the file that holds the full one', async () => {
    const [v] = await violationsOf(() => parseUpdateManifest(readNamedFixture('mini'), 'twin'));
    assert.equal(v?.path, '$');
    assert.equal(v?.rule, 'full manifest');
    assert.match(v!.message, /f7d1e0c4a9b8f6e52/);
  });
});

describe('parseDetachedManifestFile', () => {
  it('parses a child file whose updateManifest is a string (seeds/002 camera child, file ids)', () => {
    const u = parseDetachedManifestFile(readNamedFixture('detachedChild'), 'child.updatemanifest.json');
    assert.equal(u.kind, 'update');
    assert.deepEqual(u.updateId, { provider: 'contoso', name: 'virtual-camera', version: '1.2' });
    assert.equal(u.steps.length, 3);
    const step = u.steps[1];
    assert.ok(step?.type === 'inline');
    assert.deepEqual(step.files, ['f1a0b2c3d4e5f6071', 'f9e8d7c6b5a493827']);
    assert.equal(u.files.f9e8d7c6b5a493827?.fileName, 'camera-firmware-1.1.json');
  });

  it('parses a file whose updateManifest is an object', () => {
    const u = parseDetachedManifestFile(readNamedFixture('detachedParent'), 'parent.updatemanifest.json');
    assert.deepEqual(u.updateId, { provider: 'DU-Client-Eng', name: 'MSOE-Update-Demo', version: '3.1' });
  });

  it('reports JSON errors inside the updateManifest string against <source>#updateManifest', async () => {
    const e = await expectCode(
      () => parseDetachedManifestFile({ updateManifest: '{"manifestVersion": }' }, 'c.json'),
      'MANIFEST_INVALID_JSON',
    );
    assert.equal(e.details.source, 'c.json#updateManifest');
    assert.equal(e.details.column, 21);
  });
});

describe('mini manifests', () => {
  it('isMiniManifest tells the mini form from full manifests', () => {
    assert.equal(isMiniManifest(readNamedFixture('mini')), true);
    assert.equal(isMiniManifest(readNamedFixture('update')), false);
    assert.equal(isMiniManifest(readNamedFixture('importChild')), false);
    assert.equal(isMiniManifest('{"detachedManifestFileId":"x"}'), false);
  });

  it('parseMiniManifest returns the detached file entry and the update id', () => {
    const m = parseMiniManifest(readNamedFixture('mini'), 'twin');
    assert.equal(m.detachedManifestFileId, 'f7d1e0c4a9b8f6e52');
    assert.equal(m.file.id, 'f7d1e0c4a9b8f6e52');
    assert.equal(m.file.fileName, 'du-client-eng.msoe-update-demo.3.1.updatemanifest.json');
    assert.deepEqual(m.updateId, { provider: 'DU-Client-Eng', name: 'MSOE-Update-Demo', version: '3.1' });
  });
});
