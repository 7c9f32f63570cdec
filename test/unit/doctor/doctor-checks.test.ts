import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { canChecks, parseIpLink } from '../../../src/doctor/can-checks.js';
import type { CheckResult } from '../../../src/doctor/check.js';
import { clockChecks } from '../../../src/doctor/clock-checks.js';
import { configChecks } from '../../../src/doctor/config-checks.js';
import { runtimeChecks } from '../../../src/doctor/runtime-checks.js';
import { serialChecks } from '../../../src/doctor/serial-checks.js';
import { stateChecks } from '../../../src/doctor/state-checks.js';
import { usbChecks } from '../../../src/doctor/usb-checks.js';
import { FakeSystem } from './fake-system.js';

const byId = (rs: CheckResult[], id: string): CheckResult => {
  const r = rs.find((x) => x.id === id);
  assert.ok(r, `check ${id} in ${JSON.stringify(rs.map((x) => x.id))}`);
  return r;
};
const expectFail = (rs: CheckResult[], id: string, detail: RegExp, remedy: RegExp) => {
  const r = byId(rs, id);
  assert.equal(r.status, 'fail', JSON.stringify(r));
  assert.match(r.detail, detail);
  assert.match(r.remedy ?? '', remedy);
};

/** `ip -details -statistics -json link show` as iproute2 6.x prints it for an mcp251x controller. */
const ipCan = (state: string, flags = ['NOARP', 'UP', 'LOWER_UP', 'ECHO'], bitrate = 500000, restart = 100) =>
  JSON.stringify([
    {
      ifindex: 3,
      ifname: 'can0',
      flags,
      mtu: 16,
      qdisc: 'pfifo_fast',
      operstate: flags.includes('UP') ? 'UP' : 'DOWN',
      link_type: 'can',
      linkinfo: {
        info_kind: 'can',
        info_data: {
          ctrlmode: [],
          state,
          berr_counter: { tx: state === 'BUS-OFF' ? 248 : 0, rx: 0 },
          restart_ms: restart,
          ...(bitrate && { bittiming: { bitrate, sample_point: '0.875', tq: 125, prop_seg: 6, phase_seg1: 7 } }),
          bittiming_const: { name: 'mcp251x', tseg1_min: 3 },
          clock: 8000000,
        },
        info_xstats: {
          restarts: 0,
          bus_error: 0,
          arbitration_lost: 0,
          error_warning: 1,
          error_passive: 1,
          bus_off: state === 'BUS-OFF' ? 1 : 0,
        },
      },
    },
  ]);
const ipVcan = (up: boolean) =>
  JSON.stringify([
    {
      ifindex: 4,
      ifname: 'vcan0',
      flags: up ? ['NOARP', 'UP', 'LOWER_UP'] : ['NOARP'],
      operstate: up ? 'UNKNOWN' : 'DOWN',
      link_type: 'none',
      linkinfo: { info_kind: 'vcan' },
    },
  ]);

describe('doctor: clock', () => {
  it('passes in 2026 and fails in 1970 naming NTP', async () => {
    assert.equal((await clockChecks(new FakeSystem().ctx()))[0]!.status, 'pass');
    const rs = await clockChecks(new FakeSystem({ now: () => new Date(0) }).ctx());
    expectFail(rs, 'clock', /1970-01-01.*TLS/, /timedatectl set-ntp true/);
  });
});

describe('doctor: config and secrets', () => {
  it('an invalid config fails with the file to fix', async () => {
    const sys = new FakeSystem();
    const rs = await configChecks('gateway.json: invalid gateway config: $.bogus: unknown key')(
      sys.ctx({}, { config: undefined }),
    );
    expectFail(rs, 'config', /\$\.bogus/, /fix .*gateway\.json/);
  });

  it('a readable connection string file passes; an unreadable one fails naming the user and chmod', async () => {
    const sys = new FakeSystem();
    const cs = sys.file('secrets/cs', 'HostName=h.azure-devices.net;DeviceId=d;SharedAccessKey=a2V5\n');
    const cfg = { hub: { connectionStringFile: cs } };
    assert.equal(byId(await configChecks(undefined)(sys.ctx(cfg)), 'secrets').status, 'pass');
    sys.denied.add(cs);
    expectFail(await configChecks(undefined)(sys.ctx(cfg)), 'secrets', /not readable by sensor-proxy/, /chmod 0640/);
  });

  it('a secrets file without a connection string fails', async () => {
    const sys = new FakeSystem();
    const cs = sys.file('secrets/cs', 'just-a-key\n');
    expectFail(
      await configChecks(undefined)(sys.ctx({ hub: { connectionStringFile: cs } })),
      'secrets',
      /not a connection string/,
      /chown/,
    );
  });
});

describe('doctor: state folder', () => {
  it('passes for a writable folder with room', async () => {
    const rs = await stateChecks(new FakeSystem().ctx());
    assert.deepEqual(
      rs.map((r) => r.status),
      ['pass', 'pass'],
    );
  });

  it('fails when the state folder cannot be created, and when space is short', async () => {
    const sys = new FakeSystem({ freeBytes: async () => 10 * 1024 * 1024 });
    const blocker = sys.file('not-a-folder', 'x');
    const rs = await stateChecks(sys.ctx({ stateDir: join(blocker, 'state') }));
    expectFail(rs, 'state.writable', /not writable by sensor-proxy/, /sudo install -d -o sensor-proxy/);
    const rs2 = await stateChecks(sys.ctx());
    expectFail(rs2, 'state.space', /only 10 MiB free.*needs 256 MiB/, /workDir/);
  });
});

describe('doctor: runtime', () => {
  it('passes when every addon loads; fails naming the addon that does not', async () => {
    assert.ok((await runtimeChecks(new FakeSystem().ctx())).every((r) => r.status === 'pass'));
    const sys = new FakeSystem({
      nodeVersion: '18.19.0',
      importModule: async (m) => {
        if (m === 'socketcan') throw new Error('Could not locate the bindings file. Tried: build/Release/can.node');
        return {};
      },
    });
    const rs = await runtimeChecks(sys.ctx());
    expectFail(rs, 'runtime.node', /18\.19\.0 is older than 20/, /Node >= 22/);
    expectFail(
      rs,
      'runtime.addon.socketcan',
      /CAN bus cannot work: Could not locate the bindings/,
      /npm rebuild socketcan/,
    );
    assert.equal(byId(rs, 'runtime.addon.usb').status, 'pass');
  });

  it('warns on an end-of-life Node; on 32-bit ARM (the armhf package) the remedy is 64-bit Pi OS', async () => {
    const x64 = byId(
      await runtimeChecks(new FakeSystem({ nodeVersion: '20.20.2', arch: 'x64' }).ctx()),
      'runtime.node',
    );
    assert.equal(x64.status, 'warn');
    assert.match(x64.remedy ?? '', /bundled in the sensor-proxy \.deb/);
    const armhf = byId(
      await runtimeChecks(new FakeSystem({ nodeVersion: '20.11.0', arch: 'arm' }).ctx()),
      'runtime.node',
    );
    assert.equal(armhf.status, 'warn');
    assert.match(armhf.detail, /20\.11\.0 runs, but Node 20 is past its end of life/);
    assert.match(armhf.remedy ?? '', /64-bit Pi OS .* arm64 package/);
  });
});

describe('doctor: CAN', () => {
  const canConfig = (iface: string) => ({ enumerators: [{ type: 'can', interfaces: [{ interface: iface }] }] });
  const withCan = (iface: string, ip: string | undefined) => {
    const sys = new FakeSystem();
    sys.file('proc/modules', 'can_raw 20480 0 - Live 0x0\ncan 24576 1 can_raw, Live 0x0\n');
    mkdirSync(join(sys.probes.sysRoot, 'class', 'net', iface), { recursive: true });
    if (ip) sys.ipOutput[iface] = ip;
    return sys;
  };

  it('parses the controller state, bitrate and counters of ip -json', () => {
    assert.deepEqual(parseIpLink(ipCan('BUS-OFF')), {
      up: true,
      kind: 'can',
      state: 'BUS-OFF',
      bitrate: 500000,
      restartMs: 100,
      txErrors: 248,
      rxErrors: 0,
      busOffCount: 1,
    });
    assert.deepEqual(parseIpLink(ipVcan(false)), { up: false, kind: 'vcan' });
  });

  it('passes an error-active can0 that is up with a bitrate', async () => {
    const rs = await canChecks(withCan('can0', ipCan('ERROR-ACTIVE')).ctx(canConfig('can0')));
    assert.ok(
      rs.every((r) => r.status === 'pass'),
      JSON.stringify(rs),
    );
    assert.match(byId(rs, 'can.can0.controller').detail, /ERROR-ACTIVE, bitrate 500000, tx errors 0/);
  });

  it('fails a bus-off can0 with its counters and the restart command', async () => {
    const rs = await canChecks(withCan('can0', ipCan('BUS-OFF')).ctx(canConfig('can0')));
    expectFail(rs, 'can.can0.controller', /BUS-OFF.*tx errors 248.*bus-off 1 times/, /termination.*restart-ms 100/);
  });

  it('warns error-passive, and warns restart-ms 0', async () => {
    const rs = await canChecks(withCan('can0', ipCan('ERROR-PASSIVE', undefined, 500000, 0)).ctx(canConfig('can0')));
    assert.equal(byId(rs, 'can.can0.controller').status, 'warn');
    assert.equal(byId(rs, 'can.can0.restart').status, 'warn');
  });

  it('fails a down interface and one without a bitrate', async () => {
    expectFail(
      await canChecks(withCan('vcan0', ipVcan(false)).ctx(canConfig('vcan0'))),
      'can.vcan0.link',
      /vcan0 \(vcan\) is down/,
      /ip link set vcan0 up/,
    );
    expectFail(
      await canChecks(withCan('can0', ipCan('STOPPED', ['NOARP', 'ECHO'], 0)).ctx(canConfig('can0'))),
      'can.can0.controller',
      /no bitrate/,
      /bitrate 500000 restart-ms 100/,
    );
  });

  it('fails a missing interface and missing kernel modules', async () => {
    const sys = new FakeSystem();
    sys.file('proc/modules', 'can 24576 0 - Live 0x0\n');
    const rs = await canChecks(sys.ctx(canConfig('can0')));
    expectFail(rs, 'can.modules', /not loaded: can_raw/, /modprobe -a can_raw/);
    expectFail(rs, 'can.can0.link', /does not exist/, /dtoverlay=mcp2515/);
  });

  it('says which ISO-TP the UDS handler takes on each interface: kernel, user-space fallback (warn), or a failing "kernel"', async () => {
    const noIsoTp = {
      available: false,
      reason: 'the kernel has no ISO-TP sockets: can-isotp is not loaded and could not be loaded (EPROTONOSUPPORT)',
      hint: 'load it with `modprobe can-isotp`',
      moduleLoaded: false,
      addonLoaded: true,
    };
    const withBackend = (backend?: string) => ({
      ...canConfig('can0'),
      ...(backend ? { handlers: { 'sensor-proxy/uds:1': { isotp: { backend } } } } : {}),
    });
    const loaded = withCan('can0', ipCan('ERROR-ACTIVE'));
    assert.equal(byId(await canChecks(loaded.ctx(withBackend())), 'can.can0.isotp').status, 'pass');
    assert.match(byId(await canChecks(loaded.ctx(withBackend())), 'can.can0.isotp').detail, /kernel ISO-TP on can0/);

    const missing = withCan('can0', ipCan('ERROR-ACTIVE'));
    missing.isoTp['can0'] = noIsoTp;
    const auto = byId(await canChecks(missing.ctx(withBackend('auto'))), 'can.can0.isotp');
    assert.equal(auto.status, 'warn');
    assert.match(auto.detail, /falls back to user-space ISO-TP.*EPROTONOSUPPORT/);
    assert.match(auto.remedy ?? '', /modprobe can-isotp/);
    expectFail(
      await canChecks(missing.ctx(withBackend('kernel'))),
      'can.can0.isotp',
      /"kernel" but can0/,
      /modprobe can-isotp/,
    );
    const user = byId(await canChecks(missing.ctx(withBackend('user'))), 'can.can0.isotp');
    assert.equal(user.status, 'pass');
    assert.match(user.detail, /user space/);
  });

  it('a module built into the kernel (/sys/module, no /proc/modules line) counts as loaded', async () => {
    const sys = withCan('vcan0', ipVcan(true));
    sys.file('proc/modules', '');
    mkdirSync(join(sys.probes.sysRoot, 'module', 'can'), { recursive: true });
    mkdirSync(join(sys.probes.sysRoot, 'module', 'can_raw'), { recursive: true });
    assert.equal(byId(await canChecks(sys.ctx(canConfig('vcan0'))), 'can.modules').status, 'pass');
  });
});

describe('doctor: serial', () => {
  const serialConfig = (path: string) => ({
    enumerators: [{ type: 'serial', rules: [{ match: { path }, protocol: 'none', component: { group: 'g' } }] }],
  });

  it('passes a free, accessible, non-console port', async () => {
    const sys = new FakeSystem();
    const dev = sys.file('dev/ttyUSB0');
    const rs = await serialChecks(sys.ctx(serialConfig(dev)));
    assert.deepEqual(
      rs.map((r) => `${r.id}:${r.status}`),
      [
        'serial.ttyUSB0.exists:pass',
        'serial.ttyUSB0.access:pass',
        'serial.ttyUSB0.free:pass',
        'serial.ttyUSB0.console:pass',
      ],
    );
  });

  it('fails a port held by another process, naming its pid and command', async () => {
    const sys = new FakeSystem();
    const dev = sys.file('dev/ttyUSB0');
    sys.link('proc/4242/fd/7', dev);
    sys.file('proc/4242/comm', 'ModemManager\n');
    expectFail(
      await serialChecks(sys.ctx(serialConfig(dev))),
      'serial.ttyUSB0.free',
      /held by pid 4242 \(ModemManager\)/,
      /ModemManager/,
    );
  });

  it('fails a port the user cannot open, naming the group to join', async () => {
    const sys = new FakeSystem();
    const dev = sys.file('dev/ttyUSB0');
    chmodSync(dev, 0o660);
    sys.file('etc/group', 'root:x:0:\ndialout:x:20:\n');
    chownSync(dev, process.getuid!(), 20);
    sys.denied.add(dev);
    expectFail(
      await serialChecks(sys.ctx(serialConfig(dev))),
      'serial.ttyUSB0.access',
      /cannot open .* group dialout, mode 660/,
      /usermod -aG dialout sensor-proxy/,
    );
  });

  it("fails a login console: console=serial0 in the Pi's cmdline.txt and a getty unit", async () => {
    const sys = new FakeSystem();
    const dev = sys.file('dev/ttyAMA0');
    sys.link('dev/serial0', 'ttyAMA0');
    sys.file('boot/firmware/cmdline.txt', 'console=serial0,115200 console=tty1 root=PARTUUID=1 rootwait\n');
    sys.file('etc/systemd/system/getty.target.wants/serial-getty@ttyAMA0.service');
    expectFail(
      await serialChecks(sys.ctx(serialConfig(dev))),
      'serial.ttyAMA0.console',
      /console=serial0 in \/boot\/firmware\/cmdline.txt; getty unit serial-getty@ttyAMA0.service is enabled/,
      /disable --now serial-getty@ttyAMA0.service/,
    );
  });

  it('fails a port that does not exist', async () => {
    const sys = new FakeSystem();
    expectFail(
      await serialChecks(sys.ctx(serialConfig('/dev/ttyACM9'))),
      'serial.ttyACM9.exists',
      /does not exist/,
      /by-id/,
    );
  });
});

describe('doctor: USB', () => {
  const usbConfig = {
    enumerators: [
      { type: 'usb', rules: [{ match: { vid: '1209', pid: '0001', dfuPid: 'df11' }, component: { group: 'u' } }] },
    ],
  };
  const withDevice = (sys: FakeSystem, opts: { driverOnDfu?: boolean } = {}) => {
    const d = 'sys/bus/usb/devices/1-1';
    sys.file(`${d}/idVendor`, '1209\n');
    sys.file(`${d}/idProduct`, 'df11\n');
    sys.file(`${d}/busnum`, '1\n');
    sys.file(`${d}/devnum`, '5\n');
    sys.file('sys/bus/usb/devices/1-1:1.0/bInterfaceClass', 'fe\n');
    sys.file('sys/bus/usb/devices/1-1:1.0/bInterfaceSubClass', '01\n');
    if (opts.driverOnDfu) sys.link('sys/bus/usb/devices/1-1:1.0/driver', join(sys.root, 'sys'));
    return sys.file('dev/bus/usb/001/005');
  };

  it('passes a present, writable device without a kernel driver on its DFU interface', async () => {
    const sys = new FakeSystem();
    withDevice(sys);
    const rs = await usbChecks(sys.ctx(usbConfig));
    assert.deepEqual(
      rs.map((r) => `${r.id}:${r.status}`),
      ['usb.1209:df11.present:pass', 'usb.1209:df11.access:pass', 'usb.1209:df11.driver:pass'],
    );
  });

  it('fails a device node the user cannot write, naming the missing udev rule', async () => {
    const sys = new FakeSystem();
    sys.denied.add(withDevice(sys));
    expectFail(
      await usbChecks(sys.ctx(usbConfig)),
      'usb.1209:df11.access',
      /no permission on .*dev\/bus\/usb\/001\/005.*no udev rule for 1209 in \/etc\/udev\/rules.d\/61-sensor-proxy.rules/,
      /sensor-proxy udev-rules --config .* \| sudo tee \/etc\/udev\/rules.d\/61-sensor-proxy.rules/,
    );
  });

  it('fails a DFU interface bound to a kernel driver, and an absent device', async () => {
    const sys = new FakeSystem();
    withDevice(sys, { driverOnDfu: true });
    expectFail(
      await usbChecks(sys.ctx(usbConfig)),
      'usb.1209:df11.driver',
      /holds the DFU interface 1-1:1.0/,
      /unbind/,
    );
    expectFail(
      await usbChecks(new FakeSystem().ctx(usbConfig)),
      'usb.1209:0001/df11.present',
      /no USB device/,
      /lsusb/,
    );
  });
});
