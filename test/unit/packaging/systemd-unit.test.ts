import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { repoPath } from '../../../hw-fixtures/repo-root.js';
import { DEFAULT_STOP_TIMEOUT_MS } from '../../../src/cli/shutdown.js';

const run = promisify(execFile);
const UNIT = repoPath('packaging', 'systemd', 'sensor-proxy.service');

/** Keys systemd < 254 does not know yet (bookworm has 252); it ignores them with this warning. */
const NEWER_KEYS = /Unknown key '(RestartSteps|RestartMaxDelaySec)' in section \[Service\], ignoring\./;

async function haveSystemdAnalyze(): Promise<boolean> {
  return run('systemd-analyze', ['--version']).then(
    () => true,
    () => false,
  );
}

describe('packaging: sensor-proxy.service', () => {
  it('passes systemd-analyze verify (ExecStart pointed at a stand-in launcher)', async (t) => {
    if (!(await haveSystemdAnalyze())) {
      if (process.env.CI) assert.fail('systemd-analyze missing: scripts/install-system-deps.sh installs systemd');
      t.skip('systemd-analyze not installed');
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), 'sp-unit-'));
    try {
      const launcher = join(dir, 'sensor-proxy');
      await writeFile(launcher, '#!/bin/sh\nexit 0\n');
      await chmod(launcher, 0o755);
      const text = (await readFile(UNIT, 'utf8')).replaceAll('/usr/bin/sensor-proxy', launcher);
      const unit = join(dir, 'sensor-proxy.service');
      await writeFile(unit, text);
      const r = await run('systemd-analyze', ['verify', unit]).then(
        (o) => ({ code: 0, out: o.stdout + o.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
      );
      const problems = r.out.split('\n').filter((l) => l.trim() !== '' && !NEWER_KEYS.test(l));
      assert.deepEqual(problems, [], r.out);
      assert.equal(r.code, 0, r.out);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs the agent unprivileged, hardened, with back-off and a SIGTERM stop', async () => {
    const text = await readFile(UNIT, 'utf8');
    const keys = new Map(
      text
        .split('\n')
        .filter((l) => /^[A-Za-z]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
    );
    assert.match(keys.get('ExecStart')!, /^\/usr\/bin\/sensor-proxy agent /);
    assert.equal(keys.get('User'), 'sensor-proxy');
    assert.equal(keys.get('Restart'), 'on-failure');
    assert.equal(keys.get('KillSignal'), 'SIGTERM');
    assert.equal(keys.get('NoNewPrivileges'), 'yes');
    assert.equal(keys.get('ProtectSystem'), 'strict');
    assert.equal(keys.get('ReadWritePaths'), '/var/lib/sensor-proxy');
    assert.equal(keys.get('CapabilityBoundingSet'), '', 'no capabilities: CAN links come up through systemd-networkd');
    for (const af of ['AF_CAN', 'AF_NETLINK', 'AF_UNIX', 'AF_INET', 'AF_INET6'])
      assert.ok(keys.get('RestrictAddressFamilies')!.split(' ').includes(af), af);
    assert.deepEqual(keys.get('SupplementaryGroups')!.split(' ').sort(), ['dialout', 'plugdev']);
    // The CLI forces its own exit (src/cli/shutdown.ts) before systemd's SIGKILL would.
    const stopSec = /^(\d+)s$/.exec(keys.get('TimeoutStopSec') ?? '');
    assert.ok(stopSec, 'TimeoutStopSec in seconds');
    assert.ok(DEFAULT_STOP_TIMEOUT_MS < Number(stopSec[1]) * 1000, 'the agent exits within TimeoutStopSec');
  });
});
