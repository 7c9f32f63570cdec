import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { tarGz } from '../../../src/report/tar-writer.js';

/** GNU tar (an independent implementation) lists and unpacks what the writer made. */
describe('report: tar.gz writer', () => {
  const long = `bundle/${'deployments/'.repeat(6)}${'w'.repeat(90)}.json`; // > 100 bytes: ustar prefix
  const binary = Buffer.from(Array.from({ length: 1500 }, (_, i) => (i * 7) % 256));
  const entries = [
    { name: 'bundle/README.txt', data: 'hello\n' },
    { name: 'bundle/empty.txt', data: '' },
    { name: 'bundle/exactly-512.bin', data: Buffer.alloc(512, 0x41) },
    { name: 'bundle/binary.bin', data: binary },
    { name: 'bundle/ünïcode.txt', data: 'ä€\n' },
    { name: long, data: '{"long":true}\n' },
  ];

  it('GNU tar lists every entry with its size and unpacks identical contents', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tar-writer-'));
    try {
      const gz = tarGz(entries, new Date('2026-12-05T12:00:00Z'));
      const raw = gunzipSync(gz);
      assert.equal(raw.length % 512, 0, 'whole 512-byte blocks');
      assert.ok(
        raw.subarray(-1024).every((b) => b === 0),
        'ends with two zero blocks',
      );
      await writeFile(join(dir, 'a.tar.gz'), gz);
      const listing = execFileSync('tar', ['tzvf', join(dir, 'a.tar.gz')], { encoding: 'utf8' });
      for (const e of entries) assert.ok(listing.includes(e.name), `${e.name} in\n${listing}`);
      assert.match(listing, /2026-12-05 12:00/);
      execFileSync('tar', ['xzf', join(dir, 'a.tar.gz'), '-C', dir]);
      for (const e of entries) {
        const got = await readFile(join(dir, e.name));
        assert.deepEqual(got, Buffer.from(e.data), e.name);
        assert.equal((await stat(join(dir, e.name))).mode & 0o777, 0o644);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a path that ustar cannot hold is an error, not a corrupt archive', () => {
    assert.throws(() => tarGz([{ name: 'x'.repeat(300), data: '' }]), /too long for ustar/);
  });
});
