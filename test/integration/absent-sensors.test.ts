/**
 * Declared sensors that are not there (issue 13 item 2), through the built CLI as a user runs it:
 * `list` shows them with their status and what to check, `list --json` carries the status, and
 * `flash` of an update for their group fails naming the sensor instead of succeeding with 604
 * "no matching components". Serial: a real socat pty next to a `path` that does not exist. USB: the
 * in-process bus (`backend: "memory"`) with nothing attached, so no device or kernel support is needed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openPtyPair } from '../../hw-fixtures/serial/pty-pair.js';
import { ptyRigSkip } from '../../hw-fixtures/serial/rig-availability.js';
import { writeSeedUpdates } from '../../hw-fixtures/updates/seed-updates.js';
import type { Component } from '../../src/model/component.js';
import { Erc, formatErc } from '../../src/model/result-codes.js';
import { resultLine, runCli } from '../helpers/cli.js';

async function sandbox(enumerators: unknown[]) {
  const root = await mkdtemp(join(tmpdir(), 'sp-absent-'));
  const config = join(root, 'gateway.json');
  await writeFile(config, JSON.stringify({ enumerators }));
  const log = join(root, 'script.log');
  const env = {
    SENSOR_PROXY_STATE_DIR: join(root, 'state'),
    SENSOR_PROXY_HOST_STATE: join(root, 'host'),
    SENSOR_PROXY_SCRIPT_LOG: log,
  };
  return { root, config, env, log };
}

describe('declared sensors that are absent', () => {
  it(
    'serial: a path rule whose pty does not exist is listed absent; flash for its group fails naming it',
    { skip: ptyRigSkip(), timeout: 60_000 },
    async () => {
      const pair = await openPtyPair();
      const missing = '/dev/pts/sensor-proxy-unplugged';
      const s = await sandbox([
        {
          type: 'serial',
          sysfsRoot: '/nonexistent-sys',
          rules: [
            { match: { path: pair.a }, protocol: 'none', component: { group: 'cameras', name: 'front' } },
            { match: { path: missing }, protocol: 'smp', component: { group: 'cameras', name: 'rear' } },
          ],
        },
      ]);
      try {
        const list = await runCli(['list', '--config', s.config], s.env);
        assert.equal(list.code, 0, list.stderr);
        const row = (name: string) => list.stdout.split('\n').find((l) => l.split(/\s+/)[1] === name) ?? '';
        assert.match(row('front'), /\spresent$/);
        assert.match(row('rear'), /\sabsent$/);
        assert.match(
          list.stdout,
          new RegExp(`rear \\(${missing}\\) is absent: ${missing} does not exist\\n  check: .*ls -l ${missing}`),
        );

        const json = await runCli(['list', '--config', s.config, '--json'], s.env);
        const doc = JSON.parse(json.stdout) as { components: Component[] };
        assert.deepEqual(
          doc.components.map((c) => [c.name, c.status]),
          [
            ['front', 'present'],
            ['rear', 'absent'],
          ],
        );

        const seeds = await writeSeedUpdates(join(s.root, 'updates'));
        // Selected like any other component (here by id too); before, an absent sensor was no component at all (604).
        const run = await runCli(
          ['flash', seeds.parentWithReference, '--config', s.config, '--component', missing, '--json'],
          s.env,
        );
        assert.equal(run.code, 1, run.stdout + run.stderr);
        const r = resultLine(run);
        assert.equal(r.succeeded, false);
        assert.equal(r.installedUpdateId, undefined);
        const step = r.lastInstallResult.stepResults.step_0;
        assert.notEqual(step.resultCode, 604);
        assert.equal(step.extendedResultCodes, formatErc(Erc.ComponentAbsent));
        assert.match(
          step.resultDetails,
          new RegExp(`sensor "rear" \\(component ${missing}, group cameras\\) is absent`),
        );
        // The camera child's script never ran for the absent sensor.
        assert.equal(await readFile(s.log, 'utf8').catch(() => ''), '');

        const dry = await runCli(
          ['flash', seeds.parentWithReference, '--config', s.config, '--component', missing, '--dry-run'],
          s.env,
        );
        assert.equal(dry.code, 1, dry.stdout + dry.stderr);
        assert.match(dry.stdout, /FAIL \(sensor not present\)/);
      } finally {
        await pair.close();
        await rm(s.root, { recursive: true, force: true });
      }
    },
  );

  it(
    'usb: a configured VID:PID that is not attached is listed absent with what to check',
    { timeout: 60_000 },
    async () => {
      const s = await sandbox([
        {
          type: 'usb',
          backend: 'memory',
          memoryBus: 'nothing-attached',
          rules: [
            { match: { vid: '1209', pid: '0bad', dfuPid: '0bae' }, component: { group: 'dfu-sensors', name: 'left' } },
            { match: { vid: '1209', pid: '0bee' }, component: { group: 'dfu-sensors' }, optional: true },
          ],
        },
      ]);
      try {
        const json = await runCli(['list', '--config', s.config, '--json'], s.env);
        assert.equal(json.code, 0, json.stderr);
        const doc = JSON.parse(json.stdout) as { components: Component[] };
        assert.deepEqual(
          doc.components.map((c) => [c.id, c.name, c.group, c.status, c.properties.statusDetail]),
          [['usb:1209:0bad', 'left', 'dfu-sensors', 'absent', 'no USB device 1209:0bad (DFU mode 0bae) is attached']],
        );
        assert.match(String(doc.components[0]!.properties.remedy), /lsusb -d 1209:0bad/);
        const table = await runCli(['list', '--config', s.config], s.env);
        assert.match(table.stdout, /^usb:1209:0bad\s+left\s+dfu-sensors\s+.*\sabsent$/m);
        assert.match(
          table.stdout,
          /left \(usb:1209:0bad\) is absent: no USB device 1209:0bad .*\n {2}check: plug in the sensor/,
        );
      } finally {
        await rm(s.root, { recursive: true, force: true });
      }
    },
  );
});
