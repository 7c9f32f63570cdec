import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { TestSigner } from '../../../hw-fixtures/hub/adu-signer.js';
import { buildRootKeyPackage, tamperRootKeyPackage } from '../../../hw-fixtures/hub/root-key-package.js';
import { UpdateFileServer } from '../../../hw-fixtures/hub/update-file-server.js';
import { isHubError } from '../../../src/hub/hub-error.js';
import { refreshRootKeys, type RootKeyRefreshOptions } from '../../../src/hub/root-key-refresh.js';
import { rootKeyStorePath } from '../../../src/hub/root-key-store.js';
import type { Logger } from '../../../src/model/logger.js';

const anchor = new TestSigner({ rootKid: 'SP.REFRESH.ROOT.1' });
const second = new TestSigner({ rootKid: 'SP.REFRESH.ROOT.2' });

/** A pino logger whose JSON lines land in `lines`. */
function capture(): { log: Logger; lines: Record<string, any>[] } {
  const lines: Record<string, any>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, any>);
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

describe('root key refresh: download, cache, fallbacks (loopback file server)', () => {
  let files: UpdateFileServer;
  let dir: string;
  let n = 0;
  const signal = new AbortController().signal;
  const opts = (): RootKeyRefreshOptions => ({
    anchors: [anchor.rootKey],
    productionAnchors: false,
    stateDir: join(dir, 'state'),
    workDir: join(dir, 'work'),
    download: { attempts: 2, retryDelayMs: 10, idleTimeoutMs: 2000 },
  });
  const cache = () => readFile(rootKeyStorePath(join(dir, 'state')), 'utf8');
  async function publish(text: string): Promise<string> {
    const name = `rk-${++n}.json`;
    await writeFile(join(dir, name), text);
    return files.add(join(dir, name), name);
  }

  before(async () => {
    files = await UpdateFileServer.start();
    dir = await mkdtemp(join(tmpdir(), 'sp-rk-'));
  });
  after(async () => {
    await files.stop();
  });

  it('no URL and no cache: the anchors alone, said in the log', async () => {
    const { log, lines } = capture();
    const r = await refreshRootKeys(undefined, opts(), 'wf1', log, signal);
    assert.equal(r.source, 'anchors');
    assert.deepEqual(
      r.trust.rootKeys.map((k) => k.kid),
      [anchor.rootKid],
    );
    assert.ok(
      lines.some((l) => l.level === 40 && /no cached root key package, using the trusted root keys alone/.test(l.msg)),
    );
  });

  it('a valid package is stored byte for byte and its keys are trusted; the download folder is left empty', async () => {
    const v1 = buildRootKeyPackage({ version: 1, roots: [anchor, second] });
    const { log, lines } = capture();
    const r = await refreshRootKeys(await publish(v1), opts(), 'wf2', log, signal);
    assert.equal(r.source, 'downloaded');
    assert.equal(r.version, 1);
    assert.deepEqual(
      r.trust.rootKeys.map((k) => k.kid),
      [anchor.rootKid, second.rootKid],
    );
    assert.equal(await cache(), v1);
    assert.deepEqual(await readdir(join(dir, 'work', 'rootkeys')), []);
    assert.ok(lines.some((l) => l.msg === 'root key package verified and stored' && l.version === 1));
  });

  it('unreachable URL: the cached package, said in the log', async () => {
    const { log, lines } = capture();
    const r = await refreshRootKeys('http://127.0.0.1:9/rk.json', opts(), 'wf3', log, signal);
    assert.equal(r.source, 'cache');
    assert.equal(r.version, 1);
    assert.ok(lines.some((l) => /is unreachable; using the cached root key package/.test(l.msg)));
  });

  it('tampered package: throws 80600004, the cache is unchanged', async () => {
    const before = await cache();
    const bad = tamperRootKeyPackage(buildRootKeyPackage({ version: 2, roots: [anchor] }), (p) => {
      p.protected.version = 7;
    });
    const { log } = capture();
    await assert.rejects(refreshRootKeys(await publish(bad), opts(), 'wf4', log, signal), (e: unknown) => {
      assert.ok(isHubError(e, 'HUB_ROOT_KEY_PACKAGE_INVALID'));
      assert.equal(e.erc, 0x80600004);
      return true;
    });
    assert.equal(await cache(), before);
  });

  it('an older package is not adopted (warning), the same one is a no-op', async () => {
    await refreshRootKeys(
      await publish(buildRootKeyPackage({ version: 3, roots: [anchor], disabledSigningKeys: [second] })),
      opts(),
      'wf5',
      capture().log,
      signal,
    );
    const v3 = await cache();
    const { log, lines } = capture();
    const r = await refreshRootKeys(
      await publish(buildRootKeyPackage({ version: 2, roots: [anchor] })),
      opts(),
      'wf6',
      log,
      signal,
    );
    assert.equal(r.version, 3);
    assert.equal(r.trust.disabledSigningKeys?.length, 1);
    assert.equal(await cache(), v3);
    assert.ok(lines.some((l) => l.level === 40 && /older than the cached one; keeping the cached package/.test(l.msg)));
    const same = await refreshRootKeys(await publish(v3), opts(), 'wf7', capture().log, signal);
    assert.equal(same.source, 'cache');
    assert.equal(await cache(), v3);
  });

  it('a cache file changed on disk is not trusted: ignored with a warning', async () => {
    const path = rootKeyStorePath(join(dir, 'state'));
    await writeFile(path, (await cache()).replace('"version": 3', '"version": 30'));
    const { log, lines } = capture();
    const r = await refreshRootKeys(undefined, opts(), 'wf8', log, signal);
    assert.equal(r.source, 'anchors');
    assert.ok(lines.some((l) => /cached root key package does not verify/.test(l.msg)));
  });

  it('a test package is refused with the production anchors (A0000007), accepted with configured ones', async () => {
    const url = await publish(buildRootKeyPackage({ version: 40, isTest: true, roots: [anchor] }));
    await assert.rejects(
      refreshRootKeys(url, { ...opts(), productionAnchors: true }, 'wf9', capture().log, signal),
      (e: unknown) => isHubError(e) && e.erc === 0xa0000007,
    );
    const r = await refreshRootKeys(url, opts(), 'wf10', capture().log, signal);
    assert.equal(r.version, 40);
  });
});
