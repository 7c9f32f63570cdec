import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { UpdateFileServer } from '../../../hw-fixtures/hub/update-file-server.js';
import { isHubError } from '../../../src/hub/hub-error.js';
import { HubFileSource } from '../../../src/hub/hub-file-source.js';
import { downloadWithResume } from '../../../src/hub/http-download.js';
import { isSensorProxyError } from '../../../src/model/errors.js';

const log = pino({ level: 'silent' });

describe('downloads with range resume (HubFileSource)', { timeout: 30_000 }, () => {
  let server: UpdateFileServer;
  let dir: string;
  let data: Buffer;
  let url: string;
  const entry = () => ({
    id: 'f1',
    fileName: 'fw.bin',
    sizeInBytes: data.length,
    hashes: { sha256: createHash('sha256').update(data).digest('base64') },
  });
  before(async () => {
    server = await UpdateFileServer.start();
    dir = await mkdtemp(join(tmpdir(), 'sp-dl-'));
    data = Buffer.alloc(700_000, 0);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    await writeFile(join(dir, 'fw.bin'), data);
    url = server.add(join(dir, 'fw.bin'));
  });
  after(() => server.stop());

  it('resumes a partial file left by an earlier run (Range from the .part size)', async () => {
    const dest = join(await mkdtemp(join(tmpdir(), 'sp-dl-w-')), 'fw.bin');
    await writeFile(`${dest}.part`, data.subarray(0, 250_000));
    const before = server.requests.length;
    const r = await downloadWithResume({ url, dest, sizeInBytes: data.length, log, retryDelayMs: 1 });
    assert.deepEqual(r.resumedFrom, [250_000]);
    assert.deepEqual(
      server.requests.slice(before).map((q) => [q.range, q.status]),
      [['bytes=250000-', 206]],
    );
    assert.deepEqual(await readFile(dest), data);
  });

  it('gives up after the attempts when every response is cut, keeping what it got', async () => {
    const dest = join(await mkdtemp(join(tmpdir(), 'sp-dl-w-')), 'fw.bin');
    server.cutAfter('fw.bin', 1000, 3);
    await assert.rejects(
      downloadWithResume({ url, dest, sizeInBytes: data.length, log, attempts: 3, retryDelayMs: 1 }),
      (e) => isHubError(e, 'HUB_DOWNLOAD_FAILED'),
    );
    assert.ok((await stat(`${dest}.part`)).size > 0);
    server.clearFaults();
  });

  it('HubFileSource reuses a verified file without a request, and deletes one with a bad hash', async () => {
    const work = await mkdtemp(join(tmpdir(), 'sp-dl-w-'));
    const src = new HubFileSource({ fileUrls: { f1: url }, log, retryDelayMs: 1 });
    const p = await src.materialize(entry(), work);
    const n = server.requests.length;
    assert.equal(await src.materialize(entry(), work), p);
    assert.equal(server.requests.length, n, 'no second download');
    const wrong = { ...entry(), hashes: { sha256: createHash('sha256').update('other').digest('base64') } };
    await writeFile(p, data); // valid bytes, but not what `wrong` says
    await assert.rejects(src.materialize(wrong, work), (e) => isSensorProxyError(e, 'FILE_HASH_MISMATCH'));
    await assert.rejects(stat(p), /ENOENT/);
  });

  it('no URL for a file id → HUB_DOWNLOAD_FAILED', async () => {
    const src = new HubFileSource({ fileUrls: {}, log });
    await assert.rejects(
      src.materialize(entry(), await mkdtemp(join(tmpdir(), 'sp-dl-w-'))),
      (e) => isHubError(e, 'HUB_DOWNLOAD_FAILED') && e.erc === 0x40201003,
    );
  });
});
