import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGatewayConfig } from '../../../src/config/gateway-config.js';
import { GENERIC_DFU_RULE, serialGlob, udevRulesFor } from '../../../src/cli/udev-rules.js';

const rulesOf = (doc: unknown) =>
  udevRulesFor(parseGatewayConfig(doc, '/etc/sensor-proxy/gateway.json'))
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'));

describe('udev-rules generator', () => {
  it('an empty config gives the generic DFU-interface rule only', () => {
    assert.deepEqual(rulesOf({}), [GENERIC_DFU_RULE]);
  });

  it('USB rules: run-time and DFU-mode IDs to plugdev 0660, each VID:PID once, any PID when none is given', () => {
    const lines = rulesOf({
      enumerators: [
        {
          type: 'usb',
          rules: [
            { match: { vid: '1209', pid: '0001', dfuPid: 'DF11' }, component: { group: 'a' } },
            { match: { vid: '0x1209', pid: '0001' }, component: { group: 'b' } },
            { match: { vid: '0483' }, component: { group: 'c' } },
          ],
        },
      ],
    }).slice(1);
    assert.deepEqual(lines, [
      'ACTION=="add|change", SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="1209", ATTR{idProduct}=="0001", GROUP="plugdev", MODE="0660"',
      'ACTION=="add|change", SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="1209", ATTR{idProduct}=="df11", GROUP="plugdev", MODE="0660"',
      'ACTION=="add|change", SUBSYSTEM=="usb", ENV{DEVTYPE}=="usb_device", ATTR{idVendor}=="0483", GROUP="plugdev", MODE="0660"',
    ]);
  });

  it('serial rules: /dev/sensor-proxy links by serial number or port path, ModemManager ignore', () => {
    const lines = rulesOf({
      enumerators: [
        {
          type: 'serial',
          rules: [
            {
              match: { vid: '2fe3', pid: '0100', serialPattern: '^SN-' },
              protocol: 'smp',
              component: { group: 'env-sensors', name: 'env' },
            },
            { match: { path: '/dev/ttyAMA0' }, protocol: 'ymodem', component: { group: 'displays' } },
            { match: { path: '/dev/serial/by-id/usb-ACME_X_42-if00' }, protocol: 'none', component: { group: 'x y' } },
            { match: { path: '/dev/pts/3' }, protocol: 'none', component: { group: 'pty' } },
          ],
        },
      ],
    }).slice(1);
    assert.deepEqual(lines, [
      'ACTION=="add|change", SUBSYSTEM=="tty", ENV{ID_VENDOR_ID}=="2fe3", ENV{ID_MODEL_ID}=="0100", ENV{ID_SERIAL_SHORT}=="SN-*", ENV{ID_SERIAL_SHORT}!="", SYMLINK+="sensor-proxy/env-$env{ID_SERIAL_SHORT}", ENV{ID_MM_DEVICE_IGNORE}="1"',
      'ACTION=="add|change", SUBSYSTEM=="tty", ENV{ID_VENDOR_ID}=="2fe3", ENV{ID_MODEL_ID}=="0100", ENV{ID_SERIAL_SHORT}=="SN-*", ENV{ID_SERIAL_SHORT}=="", ENV{ID_PATH}!="", SYMLINK+="sensor-proxy/env-$env{ID_PATH}", ENV{ID_MM_DEVICE_IGNORE}="1"',
      'ACTION=="add|change", SUBSYSTEM=="tty", KERNEL=="ttyAMA0", SYMLINK+="sensor-proxy/displays", ENV{ID_MM_DEVICE_IGNORE}="1"',
      'ACTION=="add|change", SUBSYSTEM=="tty", SYMLINK=="serial/by-id/usb-ACME_X_42-if00", SYMLINK+="sensor-proxy/x_y", ENV{ID_MM_DEVICE_IGNORE}="1"',
    ]);
  });

  it('serialPattern: literal prefixes and exact values become globs, other regexes are left out', () => {
    assert.equal(serialGlob(/^SN-/), 'SN-*');
    assert.equal(serialGlob(/^SN-0042$/), 'SN-0042');
    assert.equal(serialGlob(/^A\.B/), 'A.B*');
    assert.equal(serialGlob(/SN-\d+/), undefined);
    assert.equal(serialGlob(/^(a|b)/), undefined);
  });

  it('an invalid enumerator entry is a CONFIG_INVALID error, not a half-written file', () => {
    assert.throws(
      () => udevRulesFor(parseGatewayConfig({ enumerators: [{ type: 'usb', rules: [{ match: {} }] }] }, '/x.json')),
      /CONFIG_INVALID|vid/,
    );
  });
});
