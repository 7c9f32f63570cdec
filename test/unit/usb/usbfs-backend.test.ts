import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isBusError } from '../../../drivers/shared/errors.js';
import { chooseUsbBackend, openUsbBackend } from '../../../drivers/usb/open-backend.js';
import type { UsbControlSetup, UsbDevice, UsbDeviceInfo } from '../../../drivers/usb/usb-device.js';
import {
  loadUsbfsAddon,
  type AddonSystemError,
  type UsbfsAddon,
  type UsbfsHandle,
} from '../../../drivers/usb/usbfs/usbfs-addon.js';
import type { ListedUsbDevice } from '../../../drivers/usb/usbfs/usbfs-backend.js';
import { UsbfsDevice } from '../../../drivers/usb/usbfs/usbfs-device.js';
import { usbDevNode } from '../../../drivers/usb/webusb-backend.js';

/**
 * The usbfs backend's TypeScript part against a fake addon (error mapping, timeouts, selection and
 * fallback), and the real addon's failure paths on this machine (no USB here: /dev/ptmx stands in
 * for a node, so every usbfs ioctl fails with ENOTTY). Flashing through it: test/vm/usb-usbfs.test.ts.
 */
const info: UsbDeviceInfo = {
  vendorId: 0x1209,
  productId: 0xdf11,
  bcdDevice: 0x0100,
  manufacturer: 'sp',
  product: 'dfu',
  serialNumber: 'SN-FAKE',
  portPath: '001-1',
};
const sysErr = (code: string): AddonSystemError =>
  Object.assign(new Error(`fake: ${code}`), { code, errno: 1, syscall: 'fake' });
const getStatus: UsbControlSetup = { requestType: 'class', recipient: 'interface', request: 3, value: 0, index: 0 };
const dnload: UsbControlSetup = { requestType: 'class', recipient: 'interface', request: 1, value: 7, index: 0 };

type Answer = { err: string | null; result?: Buffer | number };
interface Call {
  bm: number;
  req: number;
  value: number;
  index: number;
  data: Uint8Array | null;
  len: number;
  timeoutMs: number;
}

/** A fake addon: each control transfer is answered by `answer` (or times out like the native timer). */
class FakeAddon implements UsbfsAddon {
  readonly calls: Call[] = [];
  openError: string | undefined;
  claimError: string | undefined;
  answer: (c: Call) => Answer | 'no-answer' = () => ({ err: null, result: Buffer.from([1, 2, 3]) });
  isConnected = true;
  closed = 0;
  readonly UsbfsDevice: new (devNode: string) => UsbfsHandle;
  constructor() {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const fake = this;
    this.UsbfsDevice = class implements UsbfsHandle {
      private open = true;
      constructor(readonly devNode: string) {
        if (fake.openError) throw sysErr(fake.openError);
      }
      claimInterface(): void {
        if (fake.claimError) throw sysErr(fake.claimError);
      }
      releaseInterface(): void {}
      setInterface(_n: number, _alt: number, cb: (err: AddonSystemError | null) => void): void {
        setImmediate(() => cb(null));
      }
      control(
        bm: number,
        req: number,
        value: number,
        index: number,
        data: Uint8Array | null,
        len: number,
        timeoutMs: number,
        cb: (err: AddonSystemError | null, result: Buffer | number | undefined) => void,
      ): void {
        if (!this.open) throw sysErr('EBADF');
        const call = { bm, req, value, index, data, len, timeoutMs };
        fake.calls.push(call);
        const a = fake.answer(call);
        // The native side's timer: no completion within timeoutMs → the URB is discarded, ETIMEDOUT.
        if (a === 'no-answer') setTimeout(() => cb(sysErr('ETIMEDOUT'), undefined), timeoutMs);
        else if (a.err === 'SUBMIT') throw sysErr('ENODEV');
        else setImmediate(() => cb(a.err ? sysErr(a.err) : null, a.result));
      }
      reset(cb: (err: AddonSystemError | null) => void): void {
        setImmediate(() => cb(sysErr('ENODEV')));
      }
      connected(): boolean {
        return fake.isConnected;
      }
      close(): void {
        this.open = false;
        fake.closed++;
      }
    };
  }
}

const opened = async (fake: FakeAddon): Promise<UsbfsDevice> => {
  const d = new UsbfsDevice(info, '/dev/bus/usb/001/007', fake);
  await d.open();
  return d;
};

const rejectsWith = (p: Promise<unknown>, code: string, message?: RegExp) =>
  assert.rejects(p, (e: unknown) => {
    assert.ok(isBusError(e, code), `expected ${code}, got ${String((e as { code?: string }).code)}: ${String(e)}`);
    if (message) assert.match((e as Error).message, message);
    return true;
  });

describe('usbfs device (fake addon)', () => {
  it('builds bmRequestType from the setup, passes the timeout and returns IN data as a plain Uint8Array', async () => {
    const fake = new FakeAddon();
    const d = await opened(fake);
    const r = await d.controlIn(getStatus, 6, 1234);
    assert.equal(r.constructor, Uint8Array);
    assert.deepEqual([...r], [1, 2, 3]);
    await d.controlOut(dnload, new Uint8Array([9, 8]), 500);
    await d.controlOut({ ...dnload, requestType: 'vendor', recipient: 'device' }, new Uint8Array(0), 500);
    assert.deepEqual(
      fake.calls.map((c) => [c.bm, c.req, c.value, c.len, c.timeoutMs]),
      [
        [0xa1, 3, 0, 6, 1234],
        [0x21, 1, 7, 2, 500],
        [0x40, 1, 7, 0, 500],
      ],
    );
    assert.deepEqual([...fake.calls[1]!.data!], [9, 8]);
  });

  it('maps errno names to USB codes: stall, disconnect, EPROTO by connectivity, timeout, I/O', async () => {
    const fake = new FakeAddon();
    const d = await opened(fake);
    for (const [errno, code] of [
      ['EPIPE', 'USB_STALL'],
      ['ENODEV', 'USB_DISCONNECTED'],
      ['ESHUTDOWN', 'USB_DISCONNECTED'],
      ['ETIMEDOUT', 'USB_TIMEOUT'],
      ['EOVERFLOW', 'USB_IO'],
    ] as const) {
      fake.answer = () => ({ err: errno });
      await rejectsWith(d.controlIn(getStatus, 6, 100), code, errno === 'EPIPE' ? /stalled/ : new RegExp(errno));
    }
    fake.answer = () => ({ err: 'EPROTO' });
    await rejectsWith(d.controlOut(dnload, new Uint8Array(4), 100), 'USB_IO', /EPROTO/);
    fake.isConnected = false;
    await rejectsWith(d.controlOut(dnload, new Uint8Array(4), 100), 'USB_DISCONNECTED');
    fake.answer = () => ({ err: 'SUBMIT' }); // USBDEVFS_SUBMITURB itself fails (device gone)
    await rejectsWith(d.controlIn(getStatus, 6, 100), 'USB_DISCONNECTED');
    await rejectsWith(d.reset(), 'USB_DISCONNECTED');
  });

  it('a transfer with no answer rejects USB_TIMEOUT after its timeout, and the device stays usable', async () => {
    const fake = new FakeAddon();
    const d = await opened(fake);
    fake.answer = () => 'no-answer';
    await rejectsWith(d.controlIn(getStatus, 6, 30), 'USB_TIMEOUT');
    fake.answer = () => ({ err: null, result: Buffer.from([0, 1, 0, 0, 5, 0]) });
    assert.equal((await d.controlIn(getStatus, 6, 30)).length, 6);
  });

  it('open and claim failures: permission names the node and the udev rule; busy; after close USB_CLOSED', async () => {
    const fake = new FakeAddon();
    fake.openError = 'EACCES';
    await rejectsWith(
      new UsbfsDevice(info, '/dev/bus/usb/001/007', fake).open(),
      'USB_OPEN_FAILED',
      /no permission on \/dev\/bus\/usb\/001\/007: install the udev rule \(sensor-proxy udev-rules\)/,
    );
    fake.openError = 'ENOENT';
    await rejectsWith(new UsbfsDevice(info, '/dev/bus/usb/001/007', fake).open(), 'USB_DISCONNECTED');
    fake.openError = undefined;
    fake.claimError = 'EBUSY';
    const d = await opened(fake);
    await rejectsWith(d.claimInterface(0), 'USB_OPEN_FAILED', /busy/);
    await d.close();
    assert.equal(fake.closed, 1);
    await rejectsWith(d.controlIn(getStatus, 6, 100), 'USB_CLOSED');
    await d.open(); // reopens the node
    assert.equal((await d.controlIn(getStatus, 6, 100)).length, 3);
  });
});

/** A listed device of the `usb` package, as the fallback target. */
function listed(devNode: string, calls: string[]): ListedUsbDevice {
  const d: Partial<UsbDevice> = {
    info,
    open: async () => void calls.push(`open ${devNode}`),
    controlIn: async () => (calls.push('package controlIn'), new Uint8Array([7])),
    close: async () => void calls.push('close'),
  };
  return Object.assign(d as UsbDevice, { devNode });
}

describe('usb backend selection (auto | usbfs | usb)', () => {
  it('chooses by setting and addon; "usbfs" without the addon names make native', () => {
    const fake = new FakeAddon();
    assert.deepEqual(
      chooseUsbBackend('usb', () => ({ addon: fake })),
      { backend: 'usb', reason: 'backend is "usb"' },
    );
    const auto = chooseUsbBackend('auto', () => ({ addon: fake }));
    assert.equal(auto.backend, 'usbfs');
    assert.equal(auto.addon, fake);
    const none = () => ({ error: 'the native addon is not built' });
    assert.deepEqual(chooseUsbBackend('auto', none), {
      backend: 'usb',
      reason: 'backend is "auto" and usbfs is unavailable: the native addon is not built',
    });
    assert.throws(
      () => chooseUsbBackend('usbfs', none),
      (e: unknown) => isBusError(e, 'USB_NOT_AVAILABLE') && /make native/.test((e as Error).message),
    );
    assert.throws(
      () => openUsbBackend('libusb'),
      (e: unknown) => isBusError(e, 'USB_UNKNOWN_BACKEND'),
    );
  });

  it('auto: a node that does not open falls back to the package for that device, logged once; usbfs reports it', async (t) => {
    if ('error' in loadUsbfsAddon()) return t.skip('the native addon is not built (make native)');
    const calls: string[] = [];
    const lines: { obj: Record<string, unknown>; msg: string }[] = [];
    const log = { info: (obj: Record<string, unknown>, msg: string) => void lines.push({ obj, msg }) };
    const lister = {
      list: async () => [listed('/nonexistent/usb/001/001', calls), listed('/nonexistent/usb/001/002', calls)],
    };
    const auto = openUsbBackend('auto', undefined, log, lister);
    assert.equal(auto.name, 'usbfs');
    for (const d of await auto.list()) {
      await d.open();
      assert.deepEqual([...(await d.controlIn(getStatus, 6, 100))], [7]);
      assert.equal((d as UsbfsDevice).io, 'usb');
      await d.close();
    }
    assert.deepEqual(calls, [
      'open /nonexistent/usb/001/001',
      'package controlIn',
      'close',
      'open /nonexistent/usb/001/002',
      'package controlIn',
      'close',
    ]);
    assert.deepEqual(
      lines.map((l) => l.msg),
      ['USB backend: usbfs', 'USB backend: usb for a device usbfs cannot open'],
    );
    assert.match(String(lines[1]!.obj.reason), /\/nonexistent\/usb\/001\/001 does not open through usbfs \(ENOENT\)/);
    const [strict] = await openUsbBackend('usbfs', undefined, log, lister).list();
    await rejectsWith(strict!.open(), 'USB_DISCONNECTED', /ENOENT/);
  });

  it('the node path of a listed device is /dev/bus/usb/BBB/DDD', () => {
    assert.equal(usbDevNode('001', 7), '/dev/bus/usb/001/007');
    assert.equal(usbDevNode('3', 12), '/dev/bus/usb/003/012');
  });
});

describe('usbfs addon (real, built by make native)', () => {
  it('loads, and reports system errors: ENOENT on open, ENOTTY for a node that is not usbfs, EBADF after close', async (t) => {
    const a = loadUsbfsAddon();
    if ('error' in a) return t.skip(a.error);
    assert.throws(
      () => new a.addon.UsbfsDevice('/dev/bus/usb/999/999'),
      (e: AddonSystemError) => e.code === 'ENOENT' && e.syscall === 'open /dev/bus/usb/999/999',
    );
    const d = new UsbfsDevice(info, '/dev/ptmx', a.addon);
    await d.open();
    await rejectsWith(d.controlIn(getStatus, 6, 100), 'USB_IO', /ENOTTY/);
    await rejectsWith(d.controlOut(dnload, new Uint8Array(3), 100), 'USB_IO', /ENOTTY/);
    await rejectsWith(d.claimInterface(0), 'USB_IO', /ENOTTY/);
    await rejectsWith(d.selectAlternateInterface(0, 1), 'USB_IO', /ENOTTY/);
    await d.close();
    await rejectsWith(d.controlIn(getStatus, 6, 100), 'USB_CLOSED');
    const raw = new a.addon.UsbfsDevice('/dev/ptmx');
    raw.close();
    assert.throws(
      () => raw.claimInterface(0),
      (e: AddonSystemError) => e.code === 'EBADF',
    );
  });
});
