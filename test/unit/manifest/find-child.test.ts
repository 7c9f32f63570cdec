/** findChildImportManifest and assertChildUpdate: local resolution of import-manifest reference steps. */
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  FIXTURES,
  fixturePath,
  manifestFixturesDir,
  readNamedFixture,
} from '../../../hw-fixtures/manifests/fixture-dir.js';
import {
  assertChildUpdate,
  findChildImportManifest,
  parseDetachedManifestFile,
  parseImportManifest,
} from '../../../src/manifest/index.js';
import { expectCode, violationsOf } from './assert-manifest-error.js';

const CAMERA = { provider: 'contoso', name: 'virtual-camera', version: '1.2' };

describe('findChildImportManifest', () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'manifest-child-'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('finds the seeds/002 camera child next to its parent (payload .json files are skipped)', async () => {
    const found = await findChildImportManifest(join(manifestFixturesDir(), 'msoe'), CAMERA);
    assert.equal(found.path, fixturePath(...FIXTURES.importChild));
    assert.deepEqual(found.update.updateId, CAMERA);
    assert.doesNotThrow(() => assertChildUpdate(found.update, found.path));
  });

  it('MANIFEST_CHILD_NOT_FOUND lists the update ids it saw and hints at --files', async () => {
    const e = await expectCode(
      () => findChildImportManifest(join(manifestFixturesDir(), 'msoe'), { ...CAMERA, version: '1.3' }),
      'MANIFEST_CHILD_NOT_FOUND',
    );
    assert.deepEqual((e.details.found as string[]).sort(), [
      'DU-Client-Eng/MSOE-Update-Demo/3.1',
      'DU-Client-Eng/apt-update-test/1.0',
      'DU-Client-Eng/apt-update-test/2.2',
      'contoso/virtual-camera/1.2',
    ]);
    assert.match(e.message, /contoso\/virtual-camera\/1\.3/);
    assert.match(e.hint ?? '', /--files DIR/);
    const skipped = (e.details.skipped as { path: string }[]).map((s) => s.path.split('/').at(-1)).sort();
    assert.deepEqual(skipped, ['apt-manifest-1.0.json', 'apt-manifest-tree-1.0.json', 'camera-firmware-1.1.json']);
  });

  it('matches the update id exactly (case-sensitive)', async () => {
    await expectCode(
      () => findChildImportManifest(join(manifestFixturesDir(), 'msoe'), { ...CAMERA, provider: 'Contoso' }),
      'MANIFEST_CHILD_NOT_FOUND',
    );
  });

  it('skips files that are not JSON, and throws the validation error of a broken child', async () => {
    const dir = join(tmp, 'broken');
    await mkdir(dir);
    await writeFile(join(dir, 'junk.json'), '{ not json');
    const child = readNamedFixture('importChild') as { instructions: { steps: { handler: string }[] } };
    child.instructions.steps[0]!.handler = 'script';
    await writeFile(join(dir, 'camera.importmanifest.json'), JSON.stringify(child));
    const violations = await violationsOf(() => findChildImportManifest(dir, CAMERA));
    assert.deepEqual(
      violations.map((v) => [v.path, v.rule]),
      [['$.instructions.steps[0].handler', 'pattern ^\\S+/\\S+:\\d{1,5}$']],
    );
  });

  it('refuses two files declaring the same child', async () => {
    const dir = join(tmp, 'twice');
    await mkdir(dir);
    await copyFile(fixturePath(...FIXTURES.importChild), join(dir, 'a.json'));
    await copyFile(fixturePath(...FIXTURES.importChild), join(dir, 'b.json'));
    const e = await expectCode(() => findChildImportManifest(dir, CAMERA), 'MANIFEST_INVALID');
    assert.equal((e.details.paths as string[]).length, 2);
  });

  it('MANIFEST_CHILD_NOT_FOUND for a folder that does not exist', async () => {
    await expectCode(() => findChildImportManifest(join(tmp, 'nowhere'), CAMERA), 'MANIFEST_CHILD_NOT_FOUND');
  });
});

describe('assertChildUpdate', () => {
  it('refuses reference steps in a child', async () => {
    const parent = parseImportManifest(readNamedFixture('importParent'), 'parent');
    const violations = await violationsOf(() => assertChildUpdate({ ...parent, isDeployable: false }, 'parent'));
    assert.deepEqual(
      violations.map((v) => [v.path, v.rule, v.message]),
      [['$.instructions.steps[0]', 'child: no reference steps', "a child update can't contain reference steps"]],
    );
  });

  it('requires isDeployable false for an imported child, reporting both rules together', async () => {
    const parent = parseImportManifest(readNamedFixture('importParent'), 'parent');
    const violations = await violationsOf(() => assertChildUpdate(parent, 'parent'));
    assert.deepEqual(
      violations.map((v) => v.rule),
      ['child: no reference steps', 'child: const false'],
    );
  });

  it('accepts a detached update-manifest child (no isDeployable there)', () => {
    const child = parseDetachedManifestFile(readNamedFixture('detachedChild'), 'child');
    assert.doesNotThrow(() => assertChildUpdate(child, 'child'));
  });
});
