/** Import manifests: the seeds/002 examples parse and normalise; violations are collected and formatted. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readNamedFixture } from '../../../hw-fixtures/manifests/fixture-dir.js';
import { parseImportManifest } from '../../../src/manifest/index.js';
import { expectCode, violationsOf } from './assert-manifest-error.js';

describe('parseImportManifest', () => {
  it('normalises seeds/002 example 1 (one inline step): file id = file name, explicit inline type', () => {
    const u = parseImportManifest(readNamedFixture('importOne'), 'one');
    assert.equal(u.kind, 'import');
    assert.equal(u.manifestVersion, '5.0');
    assert.deepEqual(u.updateId, { provider: 'DU-Client-Eng', name: 'apt-update-test', version: '1.0' });
    assert.equal(u.isDeployable, true);
    assert.deepEqual(u.compatibility, [{ manufacturer: 'du-device', model: 'e2e-test' }]);
    assert.deepEqual(u.steps, [
      {
        type: 'inline',
        description: 'Example APT update that installs libcurl4-doc',
        handler: 'microsoft/apt:1',
        files: ['apt-manifest-1.0.json'],
        handlerProperties: { installedCriteria: 'apt-update-test-1.0' },
      },
    ]);
    const file = u.files['apt-manifest-1.0.json'];
    assert.ok(file);
    assert.equal(file.id, 'apt-manifest-1.0.json');
    assert.equal(file.fileName, 'apt-manifest-1.0.json');
    assert.equal(typeof file.hashes.sha256, 'string');
    assert.equal(u.createdDateTime, '2021-11-16T14:50:47.3511877Z');
  });

  it('accepts manifestVersion "4.0" as the ADU tooling writes it (seeds/002 example 2, two steps)', () => {
    const u = parseImportManifest(readNamedFixture('importTwo'), 'two');
    assert.equal(u.manifestVersion, '4.0');
    assert.deepEqual(
      u.steps.map((s) => (s.type === 'inline' ? s.files : [])),
      [['apt-manifest-1.0.json'], ['apt-manifest-tree-1.0.json']],
    );
    assert.deepEqual(Object.keys(u.files).sort(), ['apt-manifest-1.0.json', 'apt-manifest-tree-1.0.json']);
  });

  it('parses the seeds/002 parent: a reference step carrying the child updateId, no files', () => {
    const u = parseImportManifest(readNamedFixture('importParent'), 'parent');
    assert.deepEqual(u.steps, [
      {
        type: 'reference',
        description: 'Cameras Firmware Update',
        updateId: { provider: 'contoso', name: 'virtual-camera', version: '1.2' },
      },
    ]);
    assert.deepEqual(u.files, {});
  });

  it('parses the seeds/002 child (isDeployable false; unknown top-level keys such as etag are allowed)', () => {
    const u = parseImportManifest(readNamedFixture('importChild'), 'child');
    assert.equal(u.isDeployable, false);
    assert.equal(u.steps.length, 3);
    assert.deepEqual(u.compatibility, [{ group: 'cameras' }]);
    const step = u.steps[1];
    assert.ok(step?.type === 'inline');
    assert.deepEqual(step.files, ['contoso-camera-installscript.sh', 'camera-firmware-1.1.json']);
  });

  it('treats a step without "type" as inline', () => {
    const doc = readNamedFixture('importOne') as { instructions: { steps: Record<string, unknown>[] } };
    delete doc.instructions.steps[0]!.type;
    assert.equal(parseImportManifest(doc, 'x').steps[0]?.type, 'inline');
  });

  it('accepts files: null when every step is a reference step', () => {
    const doc = readNamedFixture('importParent') as Record<string, unknown>;
    doc.files = null;
    assert.deepEqual(parseImportManifest(doc, 'x').files, {});
  });

  it('collects every violation before throwing and lists them one per line with source and path', async () => {
    const doc = readNamedFixture('importChild') as {
      updateId: Record<string, unknown>;
      instructions: { steps: Record<string, unknown>[] };
      files: Record<string, unknown>[];
    };
    doc.updateId.version = '1';
    delete doc.instructions.steps[2]!.handlerProperties;
    doc.files[0]!.sizeInBytes = 0;
    const e = await expectCode(() => parseImportManifest(doc, 'cam.importmanifest.json'), 'MANIFEST_INVALID');
    const violations = await violationsOf(() => parseImportManifest(doc, 'cam.importmanifest.json'));
    assert.deepEqual(
      violations.map((v) => v.path),
      ['$.updateId.version', '$.files[0].sizeInBytes', '$.instructions.steps[2].handlerProperties'],
    );
    const lines = e.message.split('\n');
    assert.equal(lines[0], 'invalid import manifest (3 problems):');
    assert.match(lines[1]!, /^cam\.importmanifest\.json: \$\.updateId\.version: /);
    assert.match(
      lines[3]!,
      /^cam\.importmanifest\.json: \$\.instructions\.steps\[2\]\.handlerProperties: is required.*#241/,
    );
    assert.equal(e.details.source, 'cam.importmanifest.json');
    assert.ok(e.hint);
  });

  it('keeps file properties and extra hash algorithms', () => {
    const doc = readNamedFixture('importOne') as { files: Record<string, unknown>[] };
    const sha1 = Buffer.alloc(20, 1).toString('base64');
    doc.files[0] = {
      ...doc.files[0],
      properties: { role: 'config' },
      hashes: { ...(doc.files[0]!.hashes as object), sha1 },
    };
    const file = parseImportManifest(doc, 'x').files['apt-manifest-1.0.json'];
    assert.deepEqual(file?.properties, { role: 'config' });
    assert.equal(file?.hashes.sha1, sha1);
  });
});
