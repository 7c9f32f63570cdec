/** File names, streaming verification of payload files on disk, and describeFile. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FIXTURES, fixturePath } from '../../../hw-fixtures/manifests/fixture-dir.js';
import {
  checkFileName,
  describeFile,
  loadManifestFile,
  parseImportManifest,
  validateFileName,
  verifyFile,
} from '../../../src/manifest/index.js';
import type { UpdateFile } from '../../../src/model/update.js';
import { expectCode } from './assert-manifest-error.js';

const b64 = (algorithm: string, data: Uint8Array): string => createHash(algorithm).update(data).digest('base64');

function entryFor(data: Uint8Array, extra: Record<string, string> = {}): UpdateFile {
  return {
    id: 'fw.bin',
    fileName: 'fw.bin',
    sizeInBytes: data.length,
    hashes: { sha256: b64('sha256', data), ...extra },
  };
}

describe('file names', () => {
  const BAD: [string, string][] = [
    ['', 'minLength 1'],
    ['a/b', 'file name: no path separator'],
    ['a\\b', 'file name: no path separator'],
    ['/etc', 'file name: no path separator'],
    ['..', 'file name: no ..'],
    ['.', 'file name: no ..'],
    ['fw..bin', 'file name: no ..'],
    ['fw\0.bin', 'file name: no NUL'],
    ['x'.repeat(256), 'maxLength 255'],
    ['ü'.repeat(128), 'maxBytes 255'],
  ];
  for (const [name, rule] of BAD) {
    it(`refuses ${JSON.stringify(name.length > 20 ? `${name.slice(0, 8)}…(${name.length})` : name)} (${rule})`, async () => {
      assert.equal(checkFileName(name)?.rule, rule);
      const e = await expectCode(() => validateFileName(name), 'FILE_NAME_INVALID');
      assert.equal(e.details.rule, rule);
    });
  }
  it('accepts plain names, dots inside, spaces and 255 characters', () => {
    for (const name of [
      'fw.bin',
      '.hidden',
      'contoso.virtual-camera.1.2.updatemanifest.json',
      'my firmware (1).hex',
      'y'.repeat(255),
    ]) {
      assert.equal(checkFileName(name), undefined, name);
      assert.doesNotThrow(() => validateFileName(name));
    }
  });
});

describe('verifyFile', () => {
  let tmp: string;
  const data = randomBytes(300_000);
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'manifest-files-'));
    await writeFile(join(tmp, 'fw.bin'), data);
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('passes when size, sha256 and the second digest match', async () => {
    await verifyFile(join(tmp, 'fw.bin'), entryFor(data, { sha512: b64('sha512', data) }));
  });

  it('FILE_SIZE_MISMATCH with expected and actual sizes', async () => {
    const e = await expectCode(
      () => verifyFile(join(tmp, 'fw.bin'), { ...entryFor(data), sizeInBytes: data.length + 1 }),
      'FILE_SIZE_MISMATCH',
    );
    assert.equal(e.details.expected, data.length + 1);
    assert.equal(e.details.actual, data.length);
    assert.ok(e.hint);
  });

  it('FILE_HASH_MISMATCH on a same-size file with one byte changed', async () => {
    const changed = Buffer.from(data);
    changed[150_000] = changed[150_000]! ^ 0xff;
    await writeFile(join(tmp, 'changed.bin'), changed);
    const e = await expectCode(() => verifyFile(join(tmp, 'changed.bin'), entryFor(data)), 'FILE_HASH_MISMATCH');
    assert.equal(e.details.algorithm, 'sha256');
    assert.equal(e.details.expected, b64('sha256', data));
    assert.equal(e.details.actual, b64('sha256', changed));
  });

  it('checks the other supported digest too (sha1 wrong, sha256 right)', async () => {
    const wrongSha1 = b64('sha1', Buffer.from('something else'));
    const e = await expectCode(
      () => verifyFile(join(tmp, 'fw.bin'), entryFor(data, { sha1: wrongSha1 })),
      'FILE_HASH_MISMATCH',
    );
    assert.equal(e.details.algorithm, 'sha1');
    assert.equal(e.details.actual, b64('sha1', data));
  });

  it('FILE_MISSING for an absent file and for a directory', async () => {
    const e = await expectCode(() => verifyFile(join(tmp, 'absent.bin'), entryFor(data)), 'FILE_MISSING');
    assert.equal(e.details.fileName, 'fw.bin');
    await expectCode(() => verifyFile(tmp, entryFor(data)), 'FILE_MISSING');
  });

  it('MANIFEST_INVALID when the entry has no sha256', async () => {
    const entry = entryFor(data);
    await expectCode(
      () => verifyFile(join(tmp, 'fw.bin'), { ...entry, hashes: { sha1: b64('sha1', data) } }),
      'MANIFEST_INVALID',
    );
  });

  it('WORKFLOW_CANCELLED when the signal fires before or while it runs', async () => {
    const ac = new AbortController();
    ac.abort(new Error('user cancel'));
    const e = await expectCode(() => verifyFile(join(tmp, 'fw.bin'), entryFor(data), ac.signal), 'WORKFLOW_CANCELLED');
    assert.equal((e.cause as Error).message, 'user cancel');
    const ac2 = new AbortController();
    const pending = verifyFile(join(tmp, 'fw.bin'), entryFor(data), ac2.signal);
    ac2.abort();
    await expectCode(() => pending, 'WORKFLOW_CANCELLED');
  });

  it('describeFile builds an import entry that validates and verifies', async () => {
    const d = await describeFile(join(tmp, 'fw.bin'));
    assert.deepEqual(d, { filename: 'fw.bin', sizeInBytes: data.length, hashes: { sha256: b64('sha256', data) } });
    const base = {
      updateId: { provider: 'p', name: 'n', version: '1.0' },
      compatibility: [{ group: 'g' }],
      manifestVersion: '5.0',
      createdDateTime: '2024-01-01T00:00:00Z',
    };
    const u = parseImportManifest(
      {
        ...base,
        instructions: { steps: [{ handler: 'a/b:1', files: ['fw.bin'], handlerProperties: {} }] },
        files: [d],
      },
      'x',
    );
    await verifyFile(join(tmp, 'fw.bin'), u.files['fw.bin']!);
    await expectCode(() => describeFile(join(tmp, 'absent.bin')), 'FILE_MISSING');
  });
});

describe('fixture payloads match their manifests', () => {
  const cases: [keyof typeof FIXTURES, string][] = [
    ['importOne', 'msoe'],
    ['importTwo', 'msoe'],
    ['importChild', 'msoe'],
    ['updateOne', 'msoe'],
    ['update', 'msoe'],
    ['detachedChild', 'msoe'],
    ['updateParent', 'service'],
    ['detachedParent', 'service'],
  ];
  for (const [name, dir] of cases) {
    it(`${FIXTURES[name].join('/')}: every file verifies in ${dir}/`, async () => {
      const { update } = await loadManifestFile(fixturePath(...FIXTURES[name]));
      assert.ok(Object.keys(update.files).length > 0);
      for (const file of Object.values(update.files)) await verifyFile(fixturePath(dir, file.fileName), file);
    });
  }
});
