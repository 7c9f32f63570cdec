/**
 * `sensor-proxy udev-rules` as a user runs it (the built CLI): the rules for the config's sensors on
 * stdout, exit 0; a config it cannot read is a usage error naming the file, with nothing on stdout.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GENERIC_DFU_RULE } from '../../src/cli/udev-rules.js';
import { runCli } from '../helpers/cli.js';

describe('sensor-proxy udev-rules (the built CLI)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sp-udev-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the rules of the config: the DFU device by VID:PID, the serial sensor linked by its port', async () => {
    const config = join(dir, 'gateway.json');
    await writeFile(
      config,
      JSON.stringify({
        enumerators: [
          { type: 'usb', rules: [{ match: { vid: '1209', pid: '0001' }, component: { group: 'usb-sensors' } }] },
          {
            type: 'serial',
            rules: [{ match: { path: '/dev/ttyAMA0' }, protocol: 'ymodem', component: { group: 'displays' } }],
          },
        ],
      }),
    );
    const r = await runCli(['udev-rules', '--config', config]);
    assert.equal(r.code, 0, r.stderr);
    const rules = r.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    assert.ok(rules.includes(GENERIC_DFU_RULE), r.stdout);
    assert.ok(
      rules.some((l) => l.includes('ATTR{idVendor}=="1209", ATTR{idProduct}=="0001", GROUP="plugdev", MODE="0660"')),
      r.stdout,
    );
    const serial = rules.find((l) => l.includes('SUBSYSTEM=="tty"'));
    assert.ok(serial, r.stdout);
    assert.equal(
      serial,
      'ACTION=="add|change", SUBSYSTEM=="tty", KERNEL=="ttyAMA0", SYMLINK+="sensor-proxy/displays", ENV{ID_MM_DEVICE_IGNORE}="1"',
    );
  });

  it('a config that does not exist: exit 2, the error names the file, nothing on stdout', async () => {
    const missing = join(dir, 'nope.json');
    const r = await runCli(['udev-rules', '--config', missing]);
    assert.equal(r.code, 2, r.stdout);
    assert.equal(r.stdout, '');
    assert.ok(r.stderr.includes(missing), r.stderr);
  });
});
