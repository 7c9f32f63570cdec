/**
 * Non-root on the serial path (issue 11 items 4 and 5): the product runs as an unprivileged uid
 * (setpriv, no passwd entry) against a YMODEM bootloader simulator on a socat pty whose device is
 * root:dialout 0660, as udev makes a USB-serial port. In group dialout it lists the sensor with its
 * version; without it the port cannot be opened, and `doctor` names the group to join. `doctor` also
 * names every process holding the port, read from the real /proc.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ptyRigSkip } from '../../hw-fixtures/serial/rig-availability.js';
import { startYmodemRig, type YmodemRig } from '../../hw-fixtures/serial/ymodem-rig.js';
import { asUnprivileged, GROUP, TEST_GID, TEST_UID, unprivilegedSkip } from '../../hw-fixtures/unprivileged.js';
import { runCli, runCliVia } from '../helpers/cli.js';

const skip = ptyRigSkip() || unprivilegedSkip();

describe('serial as an unprivileged user', { skip, timeout: 120_000 }, () => {
  let rig: YmodemRig;
  let dir: string;
  let config: string;
  let device: string;
  before(async () => {
    rig = await startYmodemRig({
      version: '2.4.1',
      versionQuery: { request: 'VERSION?\r', response: (v) => `v${v}\r\n` },
    });
    device = realpathSync(rig.port);
    chownSync(device, 0, GROUP.dialout);
    chmodSync(device, 0o660);
    dir = mkdtempSync(join(tmpdir(), 'nonroot-serial-'));
    chmodSync(dir, 0o755);
    const state = join(dir, 'state');
    config = join(dir, 'gateway.json');
    writeFileSync(
      config,
      JSON.stringify({
        stateDir: state,
        enumerators: [
          {
            type: 'serial',
            identifyTimeoutMs: 5000,
            rules: [{ match: { path: rig.port }, protocol: 'ymodem', component: { group: 'displays', name: 'disp' } }],
          },
        ],
      }),
    );
    mkdirSync(state, { mode: 0o750 });
    chownSync(state, TEST_UID, TEST_GID);
  });
  after(async () => {
    await rig?.close();
  });

  const doctor = async (groups: number[]) => {
    const r = await runCliVia(asUnprivileged(groups), ['doctor', '--config', config, '--json']);
    return { ...r, checks: r.events as Array<{ id: string; status: string; detail: string; remedy?: string }> };
  };
  const doctorAsRoot = async () => {
    const r = await runCli(['doctor', '--config', config, '--json']);
    return { ...r, checks: r.events as Array<{ id: string; status: string; detail: string; remedy?: string }> };
  };
  const check = (rs: Awaited<ReturnType<typeof doctor>>, suffix: string) => {
    const name = device.split('/').pop()!;
    const c = rs.checks.find((x) => x.id === `serial.${name}.${suffix}`);
    assert.ok(c, `serial.${name}.${suffix} in ${rs.stdout}`);
    return c;
  };

  it('in group dialout: list identifies the sensor, and doctor passes access', async () => {
    const r = await runCliVia(asUnprivileged([GROUP.dialout]), ['list', '--config', config, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const [c] = (
      JSON.parse(r.stdout) as { components: Array<{ version?: string; properties: Record<string, unknown> }> }
    ).components;
    assert.equal(c?.properties.status, 'ok', r.stdout);
    assert.equal(c?.version, '2.4.1');
    const d = await doctor([GROUP.dialout]);
    assert.equal(check(d, 'access').status, 'pass', d.stdout);
    assert.match(check(d, 'access').detail, new RegExp(`^${TEST_UID} can open`));
  });

  it('without dialout: list cannot open the port, and doctor says which group to join', async () => {
    const r = await runCliVia(asUnprivileged([]), ['list', '--config', config, '--json']);
    const [c] = (JSON.parse(r.stdout) as { components: Array<{ properties: Record<string, unknown> }> }).components;
    assert.equal(c?.properties.status, 'open-failed', r.stdout);
    const d = await doctor([]);
    assert.equal(d.code, 1);
    const access = check(d, 'access');
    assert.equal(access.status, 'fail');
    assert.match(access.detail, /group dialout, mode 660/);
    assert.match(access.remedy!, new RegExp(`usermod -aG dialout ${TEST_UID}`));
  });

  it('doctor (as root) names every process holding the port: socat (the pty pair) and a second opener', async () => {
    const holder = spawn('sh', ['-c', `exec sleep 60 < ${device}`], { stdio: 'ignore' });
    try {
      await waitUntil(() => readlinkSafe(`/proc/${holder.pid}/fd/0`) === device);
      const d = await doctorAsRoot();
      const free = check(d, 'free');
      assert.equal(free.status, 'fail');
      assert.match(free.detail, new RegExp(`pid ${holder.pid} \\(sleep\\)`));
      assert.match(free.detail, /\(socat\)/);
      assert.match(free.remedy!, /fuser -v/);
      // the unprivileged user cannot look into root's processes: a warning that says so, not a false pass
      const u = await doctor([GROUP.dialout]);
      assert.equal(check(u, 'free').status, 'warn', u.stdout);
      assert.match(check(u, 'free').detail, /processes of other users could not be looked into/);
    } finally {
      holder.kill();
    }
  });
});

function readlinkSafe(p: string): string | undefined {
  try {
    return readlinkSync(p);
  } catch {
    return undefined; // not there yet
  }
}

async function waitUntil(pred: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !pred();) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
