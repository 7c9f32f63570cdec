/**
 * USB as an unprivileged uid (setpriv, group plugdev only) against the DFU gadget (dummy_hcd +
 * gadgetfs, qemu guest): without a udev rule the device node is root's, the `usb` driver's open
 * fails with "no permission on /dev/bus/usb/BBB/DDD: install the udev rule (sensor-proxy udev-rules)"
 * and `doctor` fails `usb.<vid>:<pid>.access` naming /etc/udev/rules.d/61-sensor-proxy.rules; with
 * the rule applied by the running udevd (written to /run/udev/rules.d: the guest's /etc is read-only)
 * the node is plugdev 0660 and both succeed.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { delay } from '../../drivers/shared/deadline.js';
import { waitForDevice } from '../../drivers/usb/find-device.js';
import { WebUsbBackend } from '../../drivers/usb/webusb-backend.js';
import { ensureUdevd, gadgetRigMissing, GadgetProcess } from '../../hw-fixtures/usb/gadget-rig.js';
import { repoPath } from '../../hw-fixtures/repo-root.js';
import { asUnprivileged, GROUP, TEST_GID, TEST_UID, unprivilegedSkip } from '../../hw-fixtures/unprivileged.js';
import { writeImportManifest } from '../../hw-fixtures/updates/import-manifest-builder.js';
import { testImage } from '../../hw-fixtures/usb/memory-rig.js';
import { resultLine, runCli, runCliVia } from '../helpers/cli.js';
import { scaled } from './vm-env.js';

const missing = gadgetRigMissing();
if (missing && process.env.CI === 'true') throw new Error(`USB gadget rig missing in CI: ${missing}`);
const skip = missing ?? unprivilegedSkip();
const RUN_RULES = '/run/udev/rules.d/61-sensor-proxy.rules';
type Check = { id: string; status: string; detail: string; remedy?: string };

describe(
  'USB DFU gadget as an unprivileged user, with and without the udev rule',
  { skip, timeout: scaled(20_000) },
  () => {
    let gadget: GadgetProcess | undefined;
    const dir = mkdtempSync(join(tmpdir(), 'usb-nonroot-'));
    chmodSync(dir, 0o755);
    const config = join(dir, 'gateway.json');
    let sysName = '';
    let pid = '';

    // The guest runs the tests chrooted into the host root: udevadm then ignores trigger/settle/control
    // ("Running in chroot, ignoring request") unless told that this chroot is the real system.
    const udev = (...args: string[]) =>
      execFileSync('udevadm', args, { stdio: 'ignore', env: { ...process.env, SYSTEMD_IGNORE_CHROOT: '1' } });
    const retrigger = () => {
      udev('control', '--reload');
      udev('trigger', '--settle', '--action=change', '--subsystem-match=usb', '--attr-match=idVendor=1209');
      udev('settle', `--timeout=${Math.round(scaled(2000) / 1000)}`);
    };
    const doctor = async () => {
      const r = await runCliVia(asUnprivileged([GROUP.plugdev]), ['doctor', '--config', config, '--json']);
      return (r.events as Check[]).find((c) => c.id === `usb.1209:${pid}.access`);
    };
    const openAsUser = () =>
      spawnSync(
        asUnprivileged([GROUP.plugdev])[0]!,
        [
          ...asUnprivileged([GROUP.plugdev]).slice(1),
          process.execPath,
          '--input-type=module',
          '-e',
          `const { WebUsbBackend } = await import(${JSON.stringify(repoPath('dist', 'drivers', 'usb', 'webusb-backend.js'))});
         const d = (await new WebUsbBackend().list()).find((x) => x.info.vendorId === 0x1209);
         try { await d.open(); console.log('opened'); await d.close(); } catch (e) { console.log(e.message); }`,
        ],
        { encoding: 'utf8', env: { ...process.env, HOME: '/tmp' } },
      );

    before(async () => {
      ensureUdevd();
      rmSync(RUN_RULES, { force: true });
      gadget = await GadgetProcess.start({ serialNumber: 'SN-VM-UDEV' }, { timeoutMs: scaled(3000) });
      await waitForDevice(new WebUsbBackend(), async (d) => d.info.serialNumber === 'SN-VM-UDEV', 'gadget enumerated', {
        timeoutMs: scaled(1000),
        intervalMs: 200,
        sleep: delay,
      });
      const root = '/sys/bus/usb/devices';
      sysName = readdirSync(root).find(
        (d) =>
          !d.includes(':') &&
          readFileSync(join(root, d, 'idVendor'), 'utf8').trim() === '1209' &&
          (() => {
            try {
              return readFileSync(join(root, d, 'serial'), 'utf8').trim() === 'SN-VM-UDEV';
            } catch {
              return false;
            }
          })(),
      )!;
      assert.ok(sysName, 'the gadget is in sysfs');
      pid = readFileSync(join(root, sysName, 'idProduct'), 'utf8').trim();
      writeFileSync(
        config,
        JSON.stringify({
          stateDir: join(dir, 'state'),
          handlers: { 'sensor-proxy/dfu:1': { reenumerateTimeoutMs: Math.max(15_000, scaled(1500)) } },
          enumerators: [{ type: 'usb', rules: [{ match: { vid: '1209', pid }, component: { group: 'usb-sensors' } }] }],
        }),
      );
      retrigger();
    });
    after(async () => {
      rmSync(RUN_RULES, { force: true });
      await gadget?.stop();
    });

    it('without the rule: the driver error and doctor name the missing udev rule', async () => {
      const opened = openAsUser();
      assert.match(
        opened.stdout,
        /no permission on \/dev\/bus\/usb\/\d{3}\/\d{3}: install the udev rule \(sensor-proxy udev-rules\)/,
        opened.stdout + opened.stderr,
      );
      const c = await doctor();
      assert.equal(c?.status, 'fail', JSON.stringify(c));
      assert.match(c!.detail, /no udev rule for 1209 in \/etc\/udev\/rules.d\/61-sensor-proxy.rules/);
      assert.match(c!.remedy!, /sensor-proxy udev-rules/);
    });

    it('with the rule applied by udevd: the node is plugdev 0660, the user opens it and doctor passes', async () => {
      const rules = await runCli(['udev-rules', '--config', config]);
      assert.equal(rules.code, 0, rules.stderr);
      mkdirSync(dirname(RUN_RULES), { recursive: true });
      writeFileSync(RUN_RULES, rules.stdout);
      retrigger();
      const bus = readFileSync(join('/sys/bus/usb/devices', sysName, 'busnum'), 'utf8')
        .trim()
        .padStart(3, '0');
      const dev = readFileSync(join('/sys/bus/usb/devices', sysName, 'devnum'), 'utf8')
        .trim()
        .padStart(3, '0');
      const node = `/dev/bus/usb/${bus}/${dev}`;
      const st = statSync(node);
      const diag = () =>
        `${node}: gid ${st.gid} mode ${(st.mode & 0o777).toString(8)}\n` +
        spawnSync('udevadm', ['info', '--query=all', node], { encoding: 'utf8' }).stdout;
      assert.equal(st.gid, GROUP.plugdev, diag());
      assert.equal(st.mode & 0o777, 0o660, diag());
      const opened = openAsUser();
      assert.match(opened.stdout, /^opened$/m, opened.stdout + opened.stderr);
      const c = await doctor();
      assert.equal(c?.status, 'pass', JSON.stringify(c));
    });

    it('with the rule: the service user flashes the gadget with `sensor-proxy flash` (detach, DFU mode, download)', async () => {
      const updates = join(dir, 'updates');
      mkdirSync(updates, { recursive: true });
      writeFileSync(join(updates, 'fw-1.10.bin'), testImage(16 * 1024, 0x0110, 7));
      const child = { provider: 'contoso', name: 'usb-fw', version: '1.10' };
      await writeImportManifest(updates, 'child.importmanifest.json', {
        updateId: child,
        isDeployable: false,
        compatibility: [{ group: 'usb-sensors' }],
        steps: [
          { handler: 'sensor-proxy/dfu:1', files: ['fw-1.10.bin'], handlerProperties: { installedCriteria: '1.10' } },
        ],
      });
      const parent = await writeImportManifest(updates, 'parent.importmanifest.json', {
        updateId: { provider: 'contoso', name: 'gw', version: '1.10' },
        compatibility: [{ manufacturer: 'contoso', model: 'gw' }],
        steps: [{ type: 'reference', updateId: child }],
      });
      const state = join(dir, 'state');
      mkdirSync(state, { recursive: true });
      chownSync(state, TEST_UID, TEST_GID);
      const r = await runCliVia(asUnprivileged([GROUP.plugdev]), ['flash', parent, '--config', config, '--json'], {
        HOME: '/tmp',
      });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(resultLine(r).succeeded, true, r.stdout);
    });
  },
);
