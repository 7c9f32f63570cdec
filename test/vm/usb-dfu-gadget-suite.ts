import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { FileImageSource } from '../../drivers/shared/image-source.js';
import { DfuStatus, type DfuStatusName } from '../../drivers/usb/dfu/constants.js';
import { flashDfu } from '../../drivers/usb/dfu/dfu-flasher.js';
import { DfuHost } from '../../drivers/usb/dfu/dfu-host.js';
import { manifest } from '../../drivers/usb/dfu/dfu-download.js';
import { dfuseDownload, dfuseSetAddress, dfuseVerify } from '../../drivers/usb/dfu/dfuse.js';
import { withDfuSuffix } from '../../drivers/usb/dfu/dfu-suffix.js';
import { WebUsbBackend } from '../../drivers/usb/webusb-backend.js';
import { openUsbBackend } from '../../drivers/usb/open-backend.js';
import type { UsbBackend } from '../../drivers/usb/usb-device.js';
import { waitForDevice } from '../../drivers/usb/find-device.js';
import { delay } from '../../drivers/shared/deadline.js';
import { DEFAULT_DFUSE_MEMORY } from '../../hw-fixtures/usb/dfu-sim-options.js';
import {
  ensureUdevd,
  gadgetRigMissing,
  GadgetProcess,
  pinToGadgetCpu,
  readDump,
} from '../../hw-fixtures/usb/gadget-rig.js';
import { testImage } from '../../hw-fixtures/usb/memory-rig.js';
import { pino } from 'pino';
import { createUsbEnumerator } from '../../enumerators/usb/usb-enumerator.js';
import { createDfuHandler } from '../../src/handlers/dfu/dfu-handler.js';
import type { StepContext } from '../../src/model/handler.js';
import { ResultCode } from '../../src/model/result-codes.js';

/**
 * The DFU simulator as a real USB device (dummy_hcd + gadgetfs, qemu guest of `make test-vm`),
 * driven by dfu-util (proves the simulator) and by our host through each device I/O backend: the
 * real `usb` package and usbfs through our native addon (see gadgetSuite).
 * SP_TIMEOUT_SCALE (20 in the guest) scales the waits.
 */
const SCALE = Math.max(1, Number(process.env['SP_TIMEOUT_SCALE'] ?? '1') || 1);
const scaled = (ms: number) => ms * SCALE;
const run = promisify(execFile);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const MIB = 1024 * 1024;
const missing = gadgetRigMissing();
const dir = mkdtempSync(join(tmpdir(), 'usb-vm-'));
const hostOptions = {
  timeouts: { reenumerateMs: Math.max(15_000, scaled(1500)), scanIntervalMs: 200, controlMs: 5000 },
};
const lister = new WebUsbBackend();
let gadget: GadgetProcess | undefined;

function rig(t: TestContext): boolean {
  if (!missing) return true;
  if (process.env['CI'] === 'true') throw new Error(`USB gadget rig missing in CI: ${missing}`);
  t.skip(missing);
  return false;
}

async function startGadget(options: Parameters<typeof GadgetProcess.start>[0], dump?: string): Promise<GadgetProcess> {
  await gadget?.stop();
  gadget = await GadgetProcess.start(options, { dump, timeoutMs: scaled(3000) });
  return gadget;
}

function writeImage(name: string, size: number, version: number): { path: string; bytes: Uint8Array } {
  const bytes = testImage(size, version, size + version);
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return { path, bytes };
}

/**
 * The suite: dfu-util against the simulator (`withDfuUtil`), then our host through each backend.
 * One test file per backend (usb-dfu-gadget.test.ts, usb-dfu-gadget-usbfs.test.ts) keeps each file
 * within the per-file timeout of run-vm-tests.sh.
 */
export function gadgetSuite(backends: ('usb' | 'usbfs')[], withDfuUtil: boolean): void {
  if (withDfuUtil) describeDfuUtil();
  for (const name of backends) describeHost(name);
}

function describeDfuUtil(): void {
  describe('USB DFU on the gadgetfs device', { timeout: scaled(60_000) }, () => {
    before(() => {
      if (missing) return;
      ensureUdevd();
      pinToGadgetCpu();
    });
    after(async () => {
      await gadget?.stop();
    });
    afterEach((t) => {
      if (gadget?.stderr && 'diagnostic' in t) t.diagnostic(`gadget stderr: ${gadget.stderr}`);
    });

    it('dfu-util lists the simulator and flashes 1 MiB into it (the simulator is right before our host is tested)', async (t) => {
      if (!rig(t)) return;
      const dump = join(dir, 'dfu-util.dump');
      const g = await startGadget({ serialNumber: 'SN-VM-DU' }, dump);
      await waitForDevice(lister, async (d) => d.info.serialNumber === 'SN-VM-DU', 'gadget enumerated', {
        timeoutMs: scaled(1000),
        intervalMs: 200,
        sleep: delay,
      });
      const list = await run('dfu-util', ['-l'], { timeout: scaled(2000) });
      assert.match(list.stdout, /Found Runtime: \[1209:0001\] ver=0100.*serial="SN-VM-DU"/);
      const img = writeImage('du.bin', MIB, 0x0201);
      const r = await run(
        'taskset',
        ['-c', '0', 'dfu-util', '-d', '1209:0001,1209:df11', '-S', 'SN-VM-DU', '-D', img.path],
        { timeout: scaled(10_000) },
      ).catch((e: { stdout?: string; code?: number }) => e);
      // dfu-util 0.11 exits 74 after "Done!" when the device re-enumerates on reset (reference §7): judge by output and device.
      assert.match(String(r.stdout), /Done!/);
      const m = await g.waitFor((e) => e.event === 'manifested', scaled(1000), 'manifested');
      assert.equal(m.sha256, sha(img.bytes));
      assert.equal((m.stats as { lostBlocks: number }).lostBlocks, 0);
      assert.equal(sha(readDump(dump)), sha(img.bytes));
      await g.waitFor(
        (e) => e.event === 'attached' && e.mode === 'runtime' && e.version === 0x0201,
        scaled(1000),
        'runtime 2.01',
      );
      assert.equal(g.events.filter((e) => e.event === 'setup-aborted').length, 0);
    });
  });
}

function describeHost(name: 'usb' | 'usbfs'): void {
  describe(`USB DFU on the gadgetfs device, our host through backend "${name}"`, { timeout: scaled(60_000) }, () => {
    let backend: UsbBackend;
    before(() => {
      if (missing) return;
      backend = openUsbBackend(name);
      ensureUdevd();
      pinToGadgetCpu();
    });
    after(async () => {
      await gadget?.stop();
    });
    afterEach((t) => {
      if (gadget?.stderr && 'diagnostic' in t) t.diagnostic(`gadget stderr: ${gadget.stderr}`);
    });

    it('our host flashes 1 MiB: detach, re-enumeration by serial, download, UPLOAD verify, reset', async (t) => {
      if (!rig(t)) return;
      const dump = join(dir, 'host.dump');
      const g = await startGadget({ serialNumber: 'SN-VM-H', manifestationTolerant: true, pollTimeoutMs: 1 }, dump);
      const img = writeImage('host.bin', MIB, 0x0202);
      const src = await FileImageSource.open(img.path);
      const phases: string[] = [];
      try {
        const r = await flashDfu(
          backend,
          { target: { serialNumber: 'SN-VM-H' }, image: src, onPhase: (p) => phases.push(p) },
          hostOptions,
        );
        assert.equal(r.detached, true);
        assert.equal(r.verified, true);
        assert.equal(r.before.productId, 0x0001);
        assert.equal(r.after?.bcdDevice, 0x0202);
      } finally {
        await src.close();
      }
      assert.deepEqual(phases, ['find', 'detach', 'reenumerate', 'download', 'verify', 'reset', 'reenumerate']);
      const m = await g.waitFor((e) => e.event === 'manifested', scaled(1000), 'manifested');
      assert.equal(m.sha256, sha(img.bytes));
      assert.equal((m.stats as { lostBlocks: number; earlyPolls: number }).lostBlocks, 0);
      assert.equal(sha(readDump(dump)), sha(img.bytes));
      // usbfs sends the next SETUP sooner than the package does, and under TCG gadgetfs then sometimes
      // aborts one (the dummy_hcd OUT-data race, reference §7; seen once in two runs). The device
      // recovers it (image, dump and lostBlocks above are exact), so only the package path is strict.
      const aborted = g.events.filter((e) => e.event === 'setup-aborted').length;
      if (name === 'usbfs') t.diagnostic(`gadget setup-aborted events: ${aborted}`);
      else assert.equal(aborted, 0);
    });

    it('DfuSe: sets the address, erases the touched pages and downloads at that address', async (t) => {
      if (!rig(t)) return;
      const dump = join(dir, 'dfuse.dump');
      const g = await startGadget({ serialNumber: 'SN-VM-SE', dfuse: true, startInDfuMode: true }, dump);
      const dev = await waitForDevice(backend, async (d) => d.info.serialNumber === 'SN-VM-SE', 'dfuse gadget', {
        timeoutMs: scaled(1000),
        intervalMs: 200,
        sleep: delay,
      });
      const host = await DfuHost.open(dev, { alt: 0 }, hostOptions);
      const img = writeImage('dfuse.bin', 12_000, 0x0300);
      const address = DEFAULT_DFUSE_MEMORY.base + 0x4000 + 100;
      const src = await FileImageSource.open(img.path);
      try {
        assert.equal(host.dfuse, true);
        assert.match(host.altName ?? '', /^@Internal Flash/);
        const r = await dfuseDownload(host, src, { address, leave: false });
        assert.equal(r.erasedPages, 6); // 0x4064..0x6f84 spans 2 KiB pages 8..13
        await dfuseVerify(host, src, address);
        await dfuseSetAddress(host, address);
        assert.equal(await manifest(host, 2), 'gone', 'DfuSe leave: the device jumps to the application');
      } finally {
        await src.close();
        await host.close().catch(() => undefined);
      }
      const m = await g.waitFor((e) => e.event === 'manifested', scaled(1000), 'manifested');
      assert.equal(m.erases, 6);
      const flash = readDump(dump);
      const at = address - DEFAULT_DFUSE_MEMORY.base;
      assert.equal(sha(flash.subarray(at, at + img.bytes.length)), sha(img.bytes));
      assert.equal(flash[at - 1], 0xff);
      assert.equal(flash[0x4000 - 1], 0x00, 'page before the image untouched');
    });

    it('fails clearly on a wrong .dfu CRC, a foreign VID/PID and every dfuERROR status; recovers from a stall', async (t) => {
      if (!rig(t)) return;
      const statuses = (Object.keys(DfuStatus) as DfuStatusName[]).filter((s) => s !== 'OK');
      const g = await startGadget({
        serialNumber: 'SN-VM-F',
        startInDfuMode: true,
        faults: { errorSequence: statuses.map((status) => ({ block: 1, status })), stallAfterBlock: { block: 2 } },
      });
      const payload = testImage(256 * 4, 0x0400);
      const file = (name: string, bytes: Uint8Array) => {
        writeFileSync(join(dir, name), bytes);
        return FileImageSource.open(join(dir, name));
      };
      const flash = async (name: string, bytes: Uint8Array, restarts: number) => {
        const src = await file(name, bytes);
        try {
          return await flashDfu(
            backend,
            { target: { serialNumber: 'SN-VM-F' }, image: src, reset: false },
            { ...hostOptions, attempts: { restarts } },
          );
        } finally {
          await src.close();
        }
      };
      const badCrc = withDfuSuffix(payload, { vendorId: 0x1209, productId: 0xdf11 });
      badCrc[7] ^= 0x40;
      await assert.rejects(flash('crc.dfu', badCrc, 0), { code: 'DFU_FILE_CRC' });
      await assert.rejects(flash('ids.dfu', withDfuSuffix(payload, { vendorId: 0x0483, productId: 0xdf11 }), 0), {
        code: 'DFU_FILE_MISMATCH',
      });
      for (const status of statuses) {
        await assert.rejects(
          flash('fw.bin', payload, 0),
          (e: Error & { code?: string; details?: Record<string, unknown> }) => {
            assert.equal(e.code, 'DFU_STATUS_ERROR', `${status}: ${e.message}`);
            assert.equal(e.details?.statusName, status);
            return true;
          },
        );
      }
      const r = await flash('fw.bin', payload, 2);
      assert.equal(r.restarts, 1, 'the stalled GETSTATUS after block 2 cost one restart');
      const m = await g.waitFor((e) => e.event === 'manifested', scaled(1000), 'manifested');
      assert.equal(m.sha256, sha(payload));
    });

    it('the usb enumerator finds the gadget and sensor-proxy/dfu:1 flashes it (is-installed, install, version check)', async (t) => {
      if (!rig(t)) return;
      await startGadget({ serialNumber: 'SN-VM-HD', version: 0x0100, manifestationTolerant: true });
      const log = pino({ level: 'silent' });
      const rules = [
        {
          match: { vid: '1209', pid: '0001', dfuPid: 'df11', serialPattern: '^SN-VM-' },
          component: { group: 'dfu-sensors' },
        },
      ];
      const en = createUsbEnumerator({ rules, backend: name }, { log, baseDir: dir });
      await waitForDevice(backend, async (d) => d.info.serialNumber === 'SN-VM-HD', 'gadget enumerated', {
        timeoutMs: scaled(1000),
        intervalMs: 200,
        sleep: delay,
      });
      const [c] = await en.getAllComponents();
      assert.equal(c?.id, 'usb:1209:SN-VM-HD');
      assert.equal(c?.version, '1.00');
      assert.equal(c?.properties.dfuMode, 'runtime');
      const h = createDfuHandler({
        log,
        config: { backend: name, reenumerateTimeoutMs: Math.max(15_000, scaled(1500)) },
      });
      const img = writeImage('handler.bin', 64 * 1024, 0x0110);
      const ctx = (criteria: string): StepContext => ({
        workflowId: 'wf',
        updateId: { provider: 'contoso', name: 'dfu', version: '1.10' },
        step: '0',
        handlerId: 'sensor-proxy/dfu:1',
        handlerProperties: { installedCriteria: criteria },
        installedCriteria: criteria,
        files: [{ id: 'f', fileName: 'handler.bin', path: img.path, sizeInBytes: img.bytes.length, hashes: {} }],
        workFolder: dir,
        component: c!,
        signal: new AbortController().signal,
        log,
        onProgress: () => undefined,
        onPhase: () => undefined,
      });
      assert.equal((await h.isInstalled(ctx('1.10'))).resultCode, ResultCode.IsInstalledNotInstalled);
      const r = await h.install(ctx('1.10'));
      assert.equal(r.resultCode, ResultCode.InstallSuccess, r.resultDetails);
      assert.match(r.resultDetails ?? '', /verified by UPLOAD/);
      assert.equal((await h.isInstalled(ctx('1.10'))).resultCode, ResultCode.IsInstalledInstalled);
      const [after] = await en.getAllComponents();
      assert.equal(after?.version, '1.10');
    });

    it('reports a USB error, not a hang, when the device vanishes mid-download', async (t) => {
      if (!rig(t)) return;
      await startGadget({ serialNumber: 'SN-VM-D', startInDfuMode: true, faults: { disconnectAfterBlock: 20 } });
      const img = writeImage('gone.bin', 256 * 100, 0x0500);
      const src = await FileImageSource.open(img.path);
      try {
        await assert.rejects(
          flashDfu(backend, { target: { serialNumber: 'SN-VM-D' }, image: src }, hostOptions),
          (e: Error & { code?: string }) => {
            assert.match(String(e.code), /^USB_(DISCONNECTED|IO|TIMEOUT|STALL)$/, e.message);
            return true;
          },
        );
      } finally {
        await src.close();
      }
    });
  });
}
