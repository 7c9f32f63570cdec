import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';

/** `make demo` must keep working on a fresh machine: run it and check what it prints. */
describe('sensor-proxy demo', () => {
  it('flashes every simulated sensor, then skips them all as already installed, and exits 0', async () => {
    const run = await runCli(['demo']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const summaries = run.stdout.split('\n').filter((l) => l.startsWith('contoso/demo-gateway/1.1:'));
    assert.equal(summaries.length, 2);
    assert.ok(summaries.every((l) => l.includes('SUCCEEDED (resultCode 700')));
    const [first, second] = run.stdout.split('second run');
    for (const handler of ['microsoft/script:1', 'sensor-proxy/smp:1', 'sensor-proxy/ymodem:1', 'sensor-proxy/uds:1', 'sensor-proxy/dfu:1']) {
      assert.match(first!, new RegExp(`${handler.replace('/', '\\/')}\\s+700\\s+ApplySuccess`), `${handler} installed in the first run`);
      assert.match(second!, new RegExp(`${handler.replace('/', '\\/')}\\s+603\\s+InstallSkippedUpdateAlreadyInstalled`), `${handler} skipped in the second run`);
    }
  });
});
