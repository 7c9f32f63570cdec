import assert from 'node:assert/strict';
import nodeModule from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { compileCacheDir, enableCompileCache } from '../../../src/cli/compile-cache.js';

describe('CLI compile cache', () => {
  const home = () => '/home/field';
  it('lives outside the install: override, systemd CacheDirectory, /var/cache for root, ~/.cache otherwise', () => {
    assert.equal(compileCacheDir({ SENSOR_PROXY_CACHE_DIR: '/x' }, 0, home), '/x/compile');
    assert.equal(
      compileCacheDir({ CACHE_DIRECTORY: '/var/cache/sensor-proxy:/other' }, 999, home),
      '/var/cache/sensor-proxy/compile',
    );
    assert.equal(compileCacheDir({}, 0, home), '/var/cache/sensor-proxy/compile');
    assert.equal(compileCacheDir({ XDG_CACHE_HOME: '/c' }, 1000, home), '/c/sensor-proxy/compile');
    assert.equal(compileCacheDir({}, 1000, home), '/home/field/.cache/sensor-proxy/compile');
  });

  it('is on where Node has it (>= 22.1) and a no-op on Node 20', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sp-cc-'));
    try {
      const has = typeof (nodeModule as unknown as { enableCompileCache?: unknown }).enableCompileCache === 'function';
      assert.equal(enableCompileCache(join(dir, 'compile')), has ? 'enabled' : 'unavailable');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
