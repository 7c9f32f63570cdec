/**
 * In the qemu guest (or natively on vcan): doctor's CAN checks on real links, and the product CLI on
 * CAN as an unprivileged uid (setpriv, no passwd entry: the guest's root is read-only). A raw CAN
 * socket needs no capability, so `list` finds the ECU simulator without root.
 * No real controller exists here, so bus-off cannot be provoked: the controller-state parsing is
 * unit-tested from iproute2 output (test/unit/doctor); here the real `ip -json` of vcan is parsed.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseIpLink } from '../../src/doctor/can-checks.js';
import { repoPath } from '../../hw-fixtures/repo-root.js';
import { asUnprivileged, unprivilegedSkip } from '../../hw-fixtures/unprivileged.js';
import { runCli, runCliVia } from '../helpers/cli.js';
import { IFACE, scaled } from './vm-env.js';

type Check = { id: string; status: string; detail: string; remedy?: string };
const DOWN = 'vcan7';
const rigSkip = !existsSync(`/sys/class/net/${IFACE}`)
  ? process.env.CI === 'true'
    ? false // the runner creates it; a missing one fails below
    : `${IFACE} does not exist (make test-vm)`
  : unprivilegedSkip();

describe('doctor and the CLI on vcan', { skip: rigSkip, timeout: scaled(20_000) }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'doctor-can-'));
  chmodSync(dir, 0o755); // the unprivileged uid reads the config
  const config = join(dir, 'gateway.json');
  let ecu: ChildProcess | undefined;
  before(async () => {
    execFileSync('ip', ['link', 'add', DOWN, 'type', 'vcan']); // created down
    writeFileSync(
      config,
      JSON.stringify({
        stateDir: join(dir, 'state'),
        enumerators: [
          {
            type: 'can',
            interfaces: [{ interface: IFACE, responseTimeoutMs: scaled(250) }, { interface: DOWN }],
            rules: [],
            includeUnmatched: true,
          },
        ],
      }),
    );
    ecu = spawn(
      process.execPath,
      [
        repoPath('dist', 'hw-fixtures', 'can', 'ecu-sim-main.js'),
        '--iface',
        IFACE,
        '--version',
        '3.1.4',
        '--serial',
        'VMECU001',
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    await new Promise<void>((resolve, reject) => {
      ecu!.stderr!.on('data', (d: Buffer) => d.toString().includes('ECU simulator running') && resolve());
      ecu!.once('exit', (c) => reject(new Error(`ECU simulator exited ${c}`)));
    });
  });
  after(() => {
    ecu?.kill('SIGTERM');
    execFileSync('ip', ['link', 'del', DOWN]);
  });

  it('the real ip -json of vcan parses: up, kind vcan', () => {
    const out = execFileSync('ip', ['-details', '-statistics', '-json', 'link', 'show', IFACE], { encoding: 'utf8' });
    assert.deepEqual(parseIpLink(out), { up: true, kind: 'vcan' });
    const down = execFileSync('ip', ['-details', '-statistics', '-json', 'link', 'show', DOWN], { encoding: 'utf8' });
    assert.equal(parseIpLink(down)?.up, false);
  });

  it('doctor passes the modules and the up vcan, and fails the down one with the command that brings it up', async () => {
    const r = await runCli(['doctor', '--config', config, '--json']);
    const c = Object.fromEntries((r.events as Check[]).map((x) => [x.id, x]));
    assert.equal(c['can.modules']?.status, 'pass', r.stdout);
    assert.equal(c[`can.${IFACE}.link`]?.status, 'pass', r.stdout);
    assert.equal(c[`can.${IFACE}.controller`]?.status, 'pass');
    // The guest kernel has can-isotp (the kernel ISO-TP VM tests use it): the real probe opens a socket.
    assert.equal(c[`can.${IFACE}.isotp`]?.status, 'pass', r.stdout);
    assert.match(c[`can.${IFACE}.isotp`]!.detail, /kernel ISO-TP on vcan/);
    assert.equal(c[`can.${DOWN}.link`]?.status, 'fail');
    assert.match(c[`can.${DOWN}.link`]!.detail, /vcan7 \(vcan\) is down/);
    assert.equal(c[`can.${DOWN}.link`]!.remedy, `sudo ip link set ${DOWN} up`);
    assert.equal(r.code, 1);
  });

  it('an unprivileged uid in no group lists the ECU over the real socketcan package', async () => {
    writeFileSync(
      config,
      JSON.stringify({
        stateDir: join(dir, 'state-u'),
        enumerators: [
          {
            type: 'can',
            interfaces: [{ interface: IFACE, responseTimeoutMs: scaled(250) }],
            rules: [],
            includeUnmatched: true,
          },
        ],
      }),
    );
    const r = await runCliVia(asUnprivileged([]), ['list', '--config', config, '--json'], {
      SENSOR_PROXY_STATE_DIR: join(tmpdir(), 'unused'),
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const { components } = JSON.parse(r.stdout) as {
      components: Array<{ id: string; properties: Record<string, unknown> }>;
    };
    assert.deepEqual(
      components.map((x) => [x.id, x.properties.version]),
      [['VMECU001', '3.1.4']],
    );
  });
});
