/**
 * A CLI command always ends (issue 13 item 7): `list` holding a leaked handle (a preload that
 * never clears an interval, as a forgotten port or timer would) is stopped with SIGTERM while an
 * enumerator waits on an in-process CAN bus; it exits on its own with the cancel exit code and says
 * why it had to force the exit. Before the fix SIGTERM only aborted the command and the process
 * stayed alive until killed.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { repoPath } from '../../hw-fixtures/repo-root.js';
import { collect, startCli } from '../helpers/cli.js';

describe('cli stop', () => {
  it(
    'SIGTERM ends `list` even with a leaked handle: exit 1, with a message naming the leak',
    { timeout: 60_000 },
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'cli-stop-'));
      try {
        const config = join(dir, 'gateway.json');
        // Functional discovery on an empty in-process bus waits responseTimeoutMs for answers that never come.
        await writeFile(
          config,
          JSON.stringify({
            enumerators: [
              { type: 'can', interfaces: [{ interface: 'mem:stop', responseTimeoutMs: 600_000 }], rules: [] },
            ],
          }),
        );
        const preload = pathToFileURL(repoPath('dist', 'hw-fixtures', 'cli', 'leak-handle.js')).href;
        const child = startCli(['list', '--config', config], {
          NODE_OPTIONS: `--import=${preload}`,
          SENSOR_PROXY_LOG_LEVEL: 'debug',
        });
        const done = collect(child, 45_000);
        // SIGTERM once the enumerator waits on the bus (its debug line says so).
        let stderr = '';
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        while (!stderr.includes('collecting responders')) await delay(50);
        child.kill('SIGTERM');
        const r = await done;
        assert.equal(r.signal, null, 'exited by itself, not killed');
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /list cancelled/);
        assert.match(r.stderr, /sensor-proxy list: finished, but a handle it opened is still open; exiting anyway/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
