/** loadManifestFile: every fixture form loads from disk; broken and missing files give coded errors. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FIXTURES, fixturePath, readNamedFixture } from '../../../hw-fixtures/manifests/fixture-dir.js';
import { detectManifestForm, loadManifestFile } from '../../../src/manifest/index.js';
import { expectCode, violationsOf } from './assert-manifest-error.js';

describe('loadManifestFile', () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'manifest-load-'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  const EXPECTED: [keyof typeof FIXTURES, 'import' | 'update', string][] = [
    ['importOne', 'import', 'apt-update-test/1.0'],
    ['importTwo', 'import', 'apt-update-test/2.2'],
    ['importParent', 'import', 'MSOE-Update-Demo/3.1'],
    ['importChild', 'import', 'virtual-camera/1.2'],
    ['updateOne', 'update', 'apt-update-test/1.0'],
    ['update', 'update', 'apt-update-test/2.2'],
    ['updateParent', 'update', 'MSOE-Update-Demo/3.1'],
    ['detachedChild', 'update', 'virtual-camera/1.2'],
    ['detachedParent', 'update', 'MSOE-Update-Demo/3.1'],
  ];
  for (const [name, kind, id] of EXPECTED) {
    it(`detects and parses ${FIXTURES[name].join('/')} as ${kind}`, async () => {
      const path = fixturePath(...FIXTURES[name]);
      const loaded = await loadManifestFile(path);
      assert.equal(loaded.update.kind, kind);
      assert.equal(`${loaded.update.updateId.name}/${loaded.update.updateId.version}`, id);
      assert.equal(loaded.path, path);
      const bytes = await readFile(path);
      assert.equal(loaded.raw, bytes.toString('utf8'));
      assert.equal(loaded.sha256, createHash('sha256').update(bytes).digest('hex'));
    });
  }

  it('detection: files array → import, files map → update, updateManifest → detached, mini', () => {
    assert.equal(detectManifestForm(readNamedFixture('importChild')), 'import');
    assert.equal(detectManifestForm(readNamedFixture('update')), 'update');
    assert.equal(detectManifestForm(readNamedFixture('detachedChild')), 'detached');
    assert.equal(detectManifestForm(readNamedFixture('mini')), 'mini');
    // Without files: the reference step's key decides, then a dot-less manifestVersion.
    assert.equal(
      detectManifestForm({ instructions: { steps: [{ type: 'reference', detachedManifestFileId: 'f' }] } }),
      'update',
    );
    assert.equal(detectManifestForm({ instructions: { steps: [{ type: 'reference', updateId: {} }] } }), 'import');
    assert.equal(detectManifestForm({ manifestVersion: '5' }), 'update');
    assert.equal(detectManifestForm({ manifestVersion: '5.0' }), 'import');
    assert.equal(detectManifestForm(42), 'import');
  });

  it('refuses a mini manifest file, naming the detached file id', async () => {
    const [v] = await violationsOf(() => loadManifestFile(fixturePath(...FIXTURES.mini)));
    assert.equal(v?.rule, 'full manifest');
    assert.match(v!.message, /f7d1e0c4a9b8f6e52/);
  });

  it('reports a trailing comma with file, line and column', async () => {
    const path = fixturePath('bad', 'trailing-comma.importmanifest.json');
    const text = await readFile(path, 'utf8');
    const e = await expectCode(() => loadManifestFile(path), 'MANIFEST_INVALID_JSON');
    assert.equal(e.details.line, text.split('\n').length);
    assert.equal(e.details.column, 1);
    assert.ok(e.message.startsWith(`${path}:${e.details.line}:1: invalid JSON: trailing comma`), e.message);
  });

  it('reports a truncated file at its end', async () => {
    const path = fixturePath('bad', 'truncated.importmanifest.json');
    const text = await readFile(path, 'utf8');
    const e = await expectCode(() => loadManifestFile(path), 'MANIFEST_INVALID_JSON');
    const lines = text.split('\n');
    assert.equal(e.details.line, lines.length);
    assert.equal(e.details.column, lines.at(-1)!.length + 1);
  });

  it('reports an inline step without handlerProperties (ADU issue #241) by path', async () => {
    const violations = await violationsOf(() =>
      loadManifestFile(fixturePath('bad', 'missing-handler-properties.importmanifest.json')),
    );
    assert.deepEqual(
      violations.map((v) => [v.path, v.rule]),
      [['$.instructions.steps[0].handlerProperties', 'required']],
    );
  });

  it('counts the BOM in offsets but not in columns', async () => {
    const path = join(tmp, 'bom.json');
    await writeFile(path, '\ufeff{\n  "a": 1,\n}');
    const e = await expectCode(() => loadManifestFile(path), 'MANIFEST_INVALID_JSON');
    assert.deepEqual([e.details.line, e.details.column, e.details.offset], [3, 1, 13]);
  });

  it('MANIFEST_NOT_FOUND for a missing file and for a directory', async () => {
    const e = await expectCode(() => loadManifestFile(join(tmp, 'nope.importmanifest.json')), 'MANIFEST_NOT_FOUND');
    assert.equal(e.details.path, join(tmp, 'nope.importmanifest.json'));
    await expectCode(() => loadManifestFile(tmp), 'MANIFEST_NOT_FOUND');
  });
});
